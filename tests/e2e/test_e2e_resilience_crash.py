"""A lab actor crashes: its supervisor restarts it with state rebuilt from Kubernetes, and
gives up on it (the lab is then reported ``failed``) if it keeps crashing, without touching
other users' labs.

The crash is real, not injected into the code: the API server refuses the lab's pod watch
with 403 Forbidden, which the watch raises (only transient errors are retried) and which the
lab actor does not tolerate.
"""

from __future__ import annotations

from typing import Any

import httpx
import trio

from tests.e2e.harness import RunningController
from tests.e2e.resilience_support import (
    actor,
    finished_events,
    lab_status,
    spawn_body,
    wait_for_status,
)

POLL = 0.05


async def _spawn(nublado: RunningController, user: str) -> dict[str, Any]:
    """Spawn ``user``'s lab to running; return its state as the hub sees it."""
    async with nublado.client(user) as client, nublado.client("hub") as hub:
        url = f"{nublado.prefix}/spawner/v1/labs/{user}/create"
        created = await client.post(url, json=spawn_body(nublado, user))
        assert created.status_code == 201, created.text
        assert (await finished_events(client, nublado.prefix, user))[-1].type == "complete"
        state: dict[str, Any] = (await hub.get(f"{nublado.prefix}/spawner/v1/labs/{user}")).json()
        return state


async def _wait_for_restarts(
    admin: httpx.AsyncClient, prefix: str, user: str, count: int, *, running: bool = True
) -> Any:
    """Poll the admin view of ``lab/<user>`` until it has restarted ``count`` times (and, with
    ``running``, runs again: an actor that crashes at once may never be seen running)."""
    while True:
        snapshot = await actor(admin, prefix, f"lab/{user}")
        assert snapshot is not None, f"lab/{user} left the actor tree"
        if snapshot["restarts"] >= count and (snapshot["status"] == "running" or not running):
            return snapshot
        await trio.sleep(POLL)


def _refuse_pod_watches(nublado: RunningController, count: int | None = None) -> None:
    nublado.site.faults.add_error(verb="watch", resource="pods", status=403, count=count)


async def test_a_crashed_lab_actor_is_restarted_with_its_state_rebuilt(
    nublado: RunningController,
) -> None:
    prefix = nublado.prefix
    with trio.fail_after(30):
        before = await _spawn(nublado, "alice")
        _refuse_pod_watches(nublado, count=1)
        assert nublado.site.faults.drop_watches("nublado-alice") == 1
        async with nublado.client("admin") as admin, nublado.client("hub") as hub:
            snapshot = await _wait_for_restarts(admin, prefix, "alice", 1)
            assert "403" in snapshot["last_error"]
            after = (await hub.get(f"{prefix}/spawner/v1/labs/alice")).json()
            assert after == before
            # The restarted actor watches the pod again: a deletion behind its back shows.
            pods = nublado.site.store.resource("pods")
            nublado.site.store.delete(pods, "nublado-alice", "alice-nb", grace_period_seconds=0)
            await wait_for_status(hub, prefix, "alice", "failed")


async def test_a_lab_actor_that_keeps_crashing_is_given_up_and_its_lab_reported_failed(
    nublado: RunningController,
) -> None:
    prefix = nublado.prefix
    with trio.fail_after(45):
        await _spawn(nublado, "alice")
        bob = await _spawn(nublado, "bob")
        _refuse_pod_watches(nublado)
        assert nublado.site.faults.drop_watches("nublado-alice") == 1
        async with nublado.client("admin") as admin, nublado.client("hub") as hub:
            crashing = await _wait_for_restarts(admin, prefix, "alice", 2, running=False)
            assert "403" in crashing["last_error"]
            while await actor(admin, prefix, "lab/alice") is not None:
                await trio.sleep(POLL)
            assert await lab_status(hub, prefix, "alice") == "failed"
            listed = (await hub.get(f"{prefix}/spawner/v1/labs")).json()
            assert listed == ["bob"]
            assert (await hub.get(f"{prefix}/spawner/v1/labs/bob")).json() == bob
            bob_actor = await actor(admin, prefix, "lab/bob")
            assert bob_actor is not None
            assert bob_actor["restarts"] == 0
            assert bob_actor["status"] == "running"
