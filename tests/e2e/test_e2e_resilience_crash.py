"""A lab actor crashes: its supervisor restarts it with state rebuilt from Kubernetes, and
gives up on it (the lab is then reported ``failed``) if it keeps crashing, without touching
other users' labs.

The crash is real, not injected into the code: the API server answers the lab's read of its
pod with an object no client can decode (kubesim's corruption fault: a broken proxy or an
incompatible server), which the lab actor does not tolerate. A create on a running lab reads
the pod, and so does every restart of the actor while it rebuilds its state.

(Lab actors follow their pods through the shared informer, so a refused pod watch no longer
crashes them: ``test_e2e_resilience_crash_streams.py`` shows what it does instead.)
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


async def _crash_with_an_unreadable_pod(
    nublado: RunningController, user: str, reads: int | None = None
) -> None:
    """The next ``reads`` pod reads (all, with ``None``) return garbage; a create makes the
    running lab read its pod, and the actor crashes on it."""
    nublado.site.faults.add_corruption(verb="get", resource="pods", count=reads)
    async with nublado.client(user) as client:
        url = f"{nublado.prefix}/spawner/v1/labs/{user}/create"
        created = await client.post(url, json=spawn_body(nublado, user))
    assert created.status_code == 500, created.text


async def test_a_crashed_lab_actor_is_restarted_with_its_state_rebuilt(
    nublado: RunningController,
) -> None:
    prefix = nublado.prefix
    with trio.fail_after(30):
        before = await _spawn(nublado, "alice")
        await _crash_with_an_unreadable_pod(nublado, "alice", reads=1)
        async with nublado.client("admin") as admin, nublado.client("hub") as hub:
            snapshot = await _wait_for_restarts(admin, prefix, "alice", 1)
            assert "ValidationError" in snapshot["last_error"]
            after = (await hub.get(f"{prefix}/spawner/v1/labs/alice")).json()
            assert after == before
            # The restarted actor follows the pod again: a deletion behind its back shows.
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
        # Slow pod reads keep each restart in its start for a while, where polls reach it.
        nublado.site.faults.add_latency(0.3, verb="get", resource="pods")
        await _crash_with_an_unreadable_pod(nublado, "alice")
        async with nublado.client("admin") as admin, nublado.client("hub") as hub:
            crashing = await _wait_for_restarts(admin, prefix, "alice", 2, running=False)
            assert "UnreadableObjectError" in crashing["last_error"]
            while await actor(admin, prefix, "lab/alice") is not None:
                # Polls while the actor crashes again and again are answered, never a 500.
                polled = await hub.get(f"{prefix}/spawner/v1/labs/alice")
                assert polled.status_code == 200, polled.text
                await trio.sleep(POLL / 5)
            assert await lab_status(hub, prefix, "alice") == "failed"
            listed = (await hub.get(f"{prefix}/spawner/v1/labs")).json()
            assert listed == ["bob"]
            assert (await hub.get(f"{prefix}/spawner/v1/labs/bob")).json() == bob
            bob_actor = await actor(admin, prefix, "lab/bob")
            assert bob_actor is not None
            assert bob_actor["restarts"] == 0
            assert bob_actor["status"] == "running"
