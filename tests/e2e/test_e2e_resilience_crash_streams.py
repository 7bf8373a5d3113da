"""A crashed lab actor never leaves its event streams silent, and its lab's status comes back
to the truth as soon as a new actor has rebuilt it from Kubernetes.

The crash is real: the API server refuses pod watches with 403 Forbidden, which the lab
actor does not tolerate (as in ``test_e2e_resilience_crash.py``). Reconciliation runs once an
hour here, and the tests check that no pass ran: what brings the status back is the restarted
(or revived) actor, not the periodic repair.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import httpx
import trio

from tests.e2e.harness import RunningController, running_controller
from tests.e2e.resilience_support import (
    actor,
    finished_events,
    open_events,
    spawn_body,
    wait_for_status,
)
from tests.e2e.spawner_client import demo_token, open_events_websocket, receive_all_json
from web.simulate import demo_config_data

STREAM_DEADLINE = 10.0
"""Ceiling for a subscriber to hear the end after the crash (it comes at once; this only
turns a hang into a failure)."""


def _hourly_reconcile() -> dict[str, Any]:
    lab = copy.deepcopy(demo_config_data("http://127.0.0.1:1", Path("unused"))["lab"])
    lab["reconcileInterval"] = "1h"
    return {"lab": lab}


async def _start_pending_spawn(nublado: RunningController, user: str) -> None:
    """Create ``user``'s lab with the kubelet frozen: the pod exists and stays Pending."""
    nublado.site.faults.kubelet_frozen = True
    async with nublado.client(user) as client:
        url = f"{nublado.prefix}/spawner/v1/labs/{user}/create"
        created = await client.post(url, json=spawn_body(nublado, user))
        assert created.status_code == 201, created.text


def _crash_lab_actor(nublado: RunningController, user: str) -> None:
    """Refuse every pod watch from now on and cut the lab's open ones: it crashes at once."""
    nublado.site.faults.add_error(verb="watch", resource="pods", status=403)
    assert nublado.site.faults.drop_watches(f"nublado-{user}") >= 1


async def _reconcile_passes(admin: httpx.AsyncClient, prefix: str) -> int:
    manager = await actor(admin, prefix, "lab-manager")
    assert manager is not None
    passes: int = manager["details"]["reconcile_passes"]
    return passes


async def test_a_crashed_lab_actors_subscribers_get_failed_and_its_restart_reads_the_pod() -> None:
    async with running_controller(config_overrides=_hourly_reconcile()) as nublado:
        prefix = nublado.prefix
        events_url = f"{nublado.url}{prefix}/spawner/v1/labs/alice/events"
        user_headers = {"Authorization": f"Bearer {demo_token('alice')}"}
        with trio.fail_after(60):
            await _start_pending_spawn(nublado, "alice")
            async with (
                nublado.client("alice") as alice,
                nublado.client("hub") as hub,
                nublado.client("admin") as admin,
                open_events(alice, prefix, "alice") as sse,
                open_events_websocket(events_url, user_headers) as websocket,
            ):
                await sse.until("Created Kubernetes objects")
                _crash_lab_actor(nublado, "alice")
                with trio.fail_after(STREAM_DEADLINE):
                    sse_events = await sse.rest()
                    ws_messages = await receive_all_json(websocket)
                assert [e.type for e in sse_events[-2:]] == ["error", "failed"]
                assert "403" in sse_events[-2].message
                assert sse_events[-1].message == "Lab spawn failed"
                assert ws_messages == [
                    {"event": e.type, "message": e.message}
                    | ({"progress": e.progress} if e.progress is not None else {})
                    for e in sse_events
                ]
                assert websocket.closed is not None
                assert websocket.closed.code == 1000

                # Kubernetes recovers: the restarted actor reads the pod and follows it.
                nublado.site.faults.clear()
                await wait_for_status(hub, prefix, "alice", "running")
                snapshot = await actor(admin, prefix, "lab/alice")
                assert snapshot is not None
                assert snapshot["restarts"] >= 1
                assert await _reconcile_passes(admin, prefix) == 1


async def test_a_given_up_lab_actor_replays_its_failure_and_revives_when_kubernetes_does() -> None:
    async with running_controller(config_overrides=_hourly_reconcile()) as nublado:
        prefix = nublado.prefix
        with trio.fail_after(90):
            await _start_pending_spawn(nublado, "alice")
            async with (
                nublado.client("alice") as alice,
                nublado.client("hub") as hub,
                nublado.client("admin") as admin,
            ):
                async with open_events(alice, prefix, "alice") as sse:
                    await sse.until("Created Kubernetes objects")
                    _crash_lab_actor(nublado, "alice")
                    with trio.fail_after(STREAM_DEADLINE):
                        assert (await sse.rest())[-1].type == "failed"
                # Every restart finds the pod Pending, monitors it and crashes on the watch,
                # until the supervisor gives up and the lab reads failed.
                await wait_for_status(hub, prefix, "alice", "failed")
                assert await actor(admin, prefix, "lab/alice") is None
                # No actor, but the stream still ends: the replay of the last monitor, which
                # its crash ended with failed.
                with trio.fail_after(STREAM_DEADLINE):
                    replay = await finished_events(alice, prefix, "alice")
                assert replay[0].message == "Monitoring in-progress lab creation for alice"
                assert [e.type for e in replay[-2:]] == ["error", "failed"]

                nublado.site.faults.clear()
                await wait_for_status(hub, prefix, "alice", "running")
                assert await _reconcile_passes(admin, prefix) == 1
                state = (await hub.get(f"{prefix}/spawner/v1/labs/alice")).json()
                assert state["internal_url"] == "http://lab.nublado-alice:8888/nb/user/alice/"
                assert state["options"]["size"] == "small"
