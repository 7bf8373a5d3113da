"""The cluster misbehaves: API errors during a spawn, cut watches, expired resource versions,
pods that vanish or exit. The controller must report the truth and leave nothing behind."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import trio

from kubesim.kubelet import ANNOTATION_EXIT_AFTER, ANNOTATION_EXIT_CODE
from kubesim.site import Site
from tests.e2e.harness import RunningController, running_controller
from tests.e2e.resilience_support import (
    SLOW_TAG,
    Event,
    finished_events,
    lab_namespaces,
    lab_status,
    objects_in,
    slow_lab_site,
    spawn_body,
    wait_for_status,
    wait_until_gone,
)
from web.simulate import DEMO_TOKENS, demo_config_data

NAMESPACE = "nublado-alice"
POD = "alice-nb"


async def _spawn(nublado: RunningController) -> list[Event]:
    """Create alice's lab and return the spawn's whole event stream."""
    async with nublado.client("alice") as alice:
        url = f"{nublado.prefix}/spawner/v1/labs/alice/create"
        created = await alice.post(url, json=spawn_body(nublado, "alice"))
        assert created.status_code == 201, created.text
        return await finished_events(alice, nublado.prefix, "alice")


def _delete_pod_behind_the_controllers_back(site: Site) -> None:
    site.store.delete(site.store.resource("pods"), NAMESPACE, POD, grace_period_seconds=0)


def _namespace_uid(site: Site) -> str:
    namespace = site.store.get(site.store.resource("namespaces"), None, NAMESPACE)
    uid: str = namespace["metadata"]["uid"]
    return uid


async def test_server_errors_beyond_retries_fail_the_spawn_and_reconcile_cleans_up(
    nublado: RunningController,
) -> None:
    with trio.fail_after(30):
        nublado.site.faults.add_error(verb="create", resource="configmaps", status=500)
        events = await _spawn(nublado)
        assert [e.type for e in events[-2:]] == ["error", "failed"]
        assert events[-1].message == "Lab spawn failed"
        assert "500 InternalError" in events[-2].message
        assert DEMO_TOKENS["alice"] not in str(events)
        async with nublado.client("hub") as hub:
            assert await lab_status(hub, nublado.prefix, "alice") == "failed"
            assert NAMESPACE in lab_namespaces(nublado.site)  # left for reconciliation
            nublado.site.faults.clear()
            await nublado.controller.labs.reconcile()
            await wait_for_status(hub, nublado.prefix, "alice", None)
        await wait_until_gone(nublado.site, NAMESPACE)


async def test_a_refused_spawn_is_replaced_by_the_next_one_without_leftovers(
    nublado: RunningController,
) -> None:
    with trio.fail_after(30):
        nublado.site.faults.add_error(verb="create", resource="resourcequotas", status=403)
        failed = await _spawn(nublado)
        assert [e.type for e in failed[-2:]] == ["error", "failed"]
        assert "403 Forbidden" in failed[-2].message
        broken_namespace = _namespace_uid(nublado.site)
        nublado.site.faults.clear()

        replaced = await _spawn(nublado)
        messages = [e.message for e in replaced]
        assert messages[:2] == [
            "Starting lab creation for alice",
            "Deleting existing failed lab for alice",
        ]
        assert replaced[-1].type == "complete"
        assert _namespace_uid(nublado.site) != broken_namespace
        assert objects_in(nublado.site, NAMESPACE, "pods") == [POD]
        assert objects_in(nublado.site, NAMESPACE, "resourcequotas") == [POD]
        async with nublado.client("hub") as hub:
            assert await lab_status(hub, nublado.prefix, "alice") == "running"


async def test_transient_unavailability_is_retried_and_the_spawn_succeeds(
    nublado: RunningController,
) -> None:
    with trio.fail_after(30):
        namespaces = nublado.site.faults.add_error(
            verb="create", resource="namespaces", status=503, count=2
        )
        pods = nublado.site.faults.add_error(verb="create", resource="pods", status=503, count=2)
        events = await _spawn(nublado)
        assert [e.type for e in events if e.type != "info"] == ["complete"]
        assert namespaces.count == 0
        assert pods.count == 0
        async with nublado.client("hub") as hub:
            assert await lab_status(hub, nublado.prefix, "alice") == "running"


async def test_the_state_follows_the_pod_after_its_watch_was_cut(
    nublado: RunningController,
) -> None:
    with trio.fail_after(30):
        assert (await _spawn(nublado))[-1].type == "complete"
        assert nublado.site.faults.drop_watches() > 0
        _delete_pod_behind_the_controllers_back(nublado.site)
        async with nublado.client("hub") as hub:
            await wait_for_status(hub, nublado.prefix, "alice", "failed")


async def test_the_state_follows_the_pod_when_its_history_expired_during_a_reconnect(
    nublado: RunningController,
) -> None:
    with trio.fail_after(30):
        assert (await _spawn(nublado))[-1].type == "complete"
        # All at once: the watch is cut, the pod goes, and the history that would have told
        # the reconnecting watch about it is compacted away. Only a relist can see it.
        assert nublado.site.faults.drop_watches() > 0
        _delete_pod_behind_the_controllers_back(nublado.site)
        nublado.site.faults.expire_resource_versions()
        async with nublado.client("hub") as hub:
            await wait_for_status(hub, nublado.prefix, "alice", "failed")


def _lab_config_with_pod_annotations(annotations: dict[str, str]) -> dict[str, Any]:
    lab = copy.deepcopy(demo_config_data("http://127.0.0.1:1", Path("unused"))["lab"])
    lab["extraAnnotations"] = annotations
    return lab


async def test_a_pod_that_exits_makes_the_lab_terminated() -> None:
    lab = _lab_config_with_pod_annotations(
        {ANNOTATION_EXIT_AFTER: "1500ms", ANNOTATION_EXIT_CODE: "3"}
    )
    async with running_controller(config_overrides={"lab": lab}) as nublado:
        with trio.fail_after(30):
            assert (await _spawn(nublado))[-1].type == "complete"
            async with nublado.client("hub") as hub:
                assert await lab_status(hub, nublado.prefix, "alice") == "running"
                await wait_for_status(hub, nublado.prefix, "alice", "terminated")


async def test_a_spawn_that_outlives_its_deadline_fails_with_a_timeout() -> None:
    lab = copy.deepcopy(demo_config_data("http://127.0.0.1:1", Path("unused"))["lab"])
    lab["spawnTimeout"] = "1s"
    async with running_controller(
        site_config=slow_lab_site(30.0), config_overrides={"lab": lab}
    ) as nublado:
        with trio.fail_after(30):
            async with nublado.client("alice") as alice, nublado.client("hub") as hub:
                url = f"{nublado.prefix}/spawner/v1/labs/alice/create"
                body = spawn_body(nublado, "alice", tag=SLOW_TAG)
                assert (await alice.post(url, json=body)).status_code == 201
                events = await finished_events(alice, nublado.prefix, "alice")
                assert [e.type for e in events[-2:]] == ["error", "failed"]
                assert events[-2].message.startswith("Lab spawn timed out after 1.0")
                assert await lab_status(hub, nublado.prefix, "alice") == "failed"


async def test_a_delete_that_keeps_failing_answers_500_and_reconcile_finishes_it(
    nublado: RunningController,
) -> None:
    prefix = nublado.prefix
    with trio.fail_after(30):
        assert (await _spawn(nublado))[-1].type == "complete"
        nublado.site.faults.add_error(verb="delete", resource="namespaces", status=500)
        async with nublado.client("hub") as hub, nublado.client("alice") as alice:
            deleted = await hub.delete(f"{prefix}/spawner/v1/labs/alice")
            assert deleted.status_code == 500
            assert deleted.json()["detail"][0]["type"] == "delete_failed"
            events = await finished_events(alice, prefix, "alice")
            assert [e.type for e in events[-2:]] == ["error", "failed"]
            assert events[-1].message == "Lab delete failed"
            assert await lab_status(hub, prefix, "alice") == "failed"
            nublado.site.faults.clear()
            await nublado.controller.labs.reconcile()
            await wait_for_status(hub, prefix, "alice", None)
        await wait_until_gone(nublado.site, NAMESPACE)
