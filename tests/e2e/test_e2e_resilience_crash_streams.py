"""Event streams are never left silent, and a lab's status comes back to the truth as soon as
Kubernetes lets the controller see it again, without waiting for the periodic repair.

Two ways the controller loses sight of labs: the API server refuses the pod watch (403), which
the shared informer of lab pods survives without disturbing any lab actor; and a lab actor
that crashes until its supervisor gives it up (an unreadable pod, as in
``test_e2e_resilience_crash.py``). Reconciliation runs once an hour here, and the tests check
that no pass ran.
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
    lab_status,
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


def _refuse_pod_watches(nublado: RunningController) -> None:
    """Refuse every pod list and watch from now on and cut the open watches."""
    nublado.site.faults.add_error(verb="watch", resource="pods", status=403)
    nublado.site.faults.add_error(verb="list", resource="pods", status=403)
    assert nublado.site.faults.drop_watches() >= 1


async def _reconcile_passes(admin: httpx.AsyncClient, prefix: str) -> int:
    manager = await actor(admin, prefix, "lab-manager")
    assert manager is not None
    passes: int = manager["details"]["reconcile_passes"]
    return passes


async def test_a_refused_pod_watch_neither_silences_nor_fails_a_spawn() -> None:
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
                _refuse_pod_watches(nublado)
                with trio.fail_after(STREAM_DEADLINE):
                    told = await sse.until("Cannot follow the lab pod")
                assert "403" in told.message
                assert await lab_status(hub, prefix, "alice") == "pending"

                # Kubernetes recovers: the informer lists again, the spawn goes on.
                nublado.site.faults.clear()
                sse_events = await sse.rest()
                ws_messages = await receive_all_json(websocket)
                assert [e.type for e in sse_events[-1:]] == ["complete"]
                assert ws_messages == [
                    {"event": e.type, "message": e.message}
                    | ({"progress": e.progress} if e.progress is not None else {})
                    for e in sse_events
                ]
                assert websocket.closed is not None
                assert websocket.closed.code == 1000
                assert await lab_status(hub, prefix, "alice") == "running"
                snapshot = await actor(admin, prefix, "lab/alice")
                assert snapshot is not None
                assert snapshot["restarts"] == 0
                informer = await actor(admin, prefix, "informer/lab-pods")
                assert informer is not None
                assert informer["details"]["refusals"] >= 1
                assert await _reconcile_passes(admin, prefix) == 1


async def test_a_given_up_lab_actor_still_answers_and_revives_when_kubernetes_does() -> None:
    async with running_controller(config_overrides=_hourly_reconcile()) as nublado:
        prefix = nublado.prefix
        with trio.fail_after(90):
            async with (
                nublado.client("alice") as alice,
                nublado.client("hub") as hub,
                nublado.client("admin") as admin,
            ):
                created = await alice.post(
                    f"{prefix}/spawner/v1/labs/alice/create", json=spawn_body(nublado, "alice")
                )
                assert created.status_code == 201, created.text
                spawn = await finished_events(alice, prefix, "alice")
                assert spawn[-1].type == "complete"
                # Every pod read returns garbage: the create's read of the pod crashes the
                # actor, and so does every restart, until the supervisor gives up.
                nublado.site.faults.add_corruption(verb="get", resource="pods")
                crashed = await alice.post(
                    f"{prefix}/spawner/v1/labs/alice/create", json=spawn_body(nublado, "alice")
                )
                assert crashed.status_code == 500
                await wait_for_status(hub, prefix, "alice", "failed")
                assert await actor(admin, prefix, "lab/alice") is None
                # No actor, and yet a subscriber's stream ends: the replay of the last
                # operation, never a wait for an actor that is not there.
                with trio.fail_after(STREAM_DEADLINE):
                    replay = await finished_events(alice, prefix, "alice")
                assert [e.message for e in replay] == [e.message for e in spawn]

                nublado.site.faults.clear()
                await wait_for_status(hub, prefix, "alice", "running")
                assert await _reconcile_passes(admin, prefix) == 1
                state = (await hub.get(f"{prefix}/spawner/v1/labs/alice")).json()
                assert state["internal_url"] == "http://lab.nublado-alice:8888/nb/user/alice/"
                assert state["options"]["size"] == "small"
