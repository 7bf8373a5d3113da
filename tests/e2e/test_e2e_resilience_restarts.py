"""The controller restarts: a new one rebuilds everything from Kubernetes, finishes what the
old one started and removes what nobody can use."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import trio

from kubesim.kubelet import ANNOTATION_EXIT_AFTER
from tests.e2e.harness import (
    RunningController,
    fast_site_config,
    running_controller,
    serving_controller,
)
from tests.e2e.resilience_support import (
    SLOW_TAG,
    finished_events,
    lab_namespaces,
    lab_status,
    open_events,
    slow_lab_site,
    spawn_body,
    wait_for_status,
    wait_until_gone,
)
from web.simulate import demo_config_data, simulated_cluster


async def _create(nublado: RunningController, user: str, **options: Any) -> None:
    body = spawn_body(nublado, user)
    body["options"].update(options)
    async with nublado.client(user) as client:
        url = f"{nublado.prefix}/spawner/v1/labs/{user}/create"
        created = await client.post(url, json=body)
        assert created.status_code == 201, created.text


async def _state(nublado: RunningController, user: str) -> dict[str, Any]:
    async with nublado.client("hub") as hub:
        response = await hub.get(f"{nublado.prefix}/spawner/v1/labs/{user}")
        assert response.status_code == 200, response.text
        state: dict[str, Any] = response.json()
        return state


async def test_a_new_controller_monitors_a_spawn_the_old_one_started() -> None:
    async with simulated_cluster(slow_lab_site(3.0)) as site:
        with trio.fail_after(40):
            async with serving_controller(site) as first:
                await _create(first, "alice", image_dropdown=[first.image(SLOW_TAG)])
                async with (
                    first.client("alice") as alice,
                    open_events(alice, first.prefix, "alice") as stream,
                ):
                    await stream.until("Created Kubernetes objects")
            async with serving_controller(site) as second, second.client("alice") as alice:
                events = await finished_events(alice, second.prefix, "alice")
                assert events[0].message == "Monitoring in-progress lab creation for alice"
                assert events[0].progress == 1
                assert events[-1].type == "complete"
                assert (await _state(second, "alice"))["status"] == "running"


async def test_a_new_controller_reports_running_labs_as_the_old_one_did() -> None:
    async with simulated_cluster(fast_site_config()) as site:
        with trio.fail_after(40):
            async with serving_controller(site) as first:
                await _create(first, "alice", size=["medium"], enable_debug=["true"])
                await _create(first, "bob")
                async with first.client("alice") as alice, first.client("bob") as bob:
                    assert (await finished_events(alice, first.prefix, "alice"))[-1].type == (
                        "complete"
                    )
                    assert (await finished_events(bob, first.prefix, "bob"))[-1].type == (
                        "complete"
                    )
                before = {user: await _state(first, user) for user in ("alice", "bob")}
            async with serving_controller(site) as second:
                after = {user: await _state(second, user) for user in ("alice", "bob")}
                async with second.client("hub") as hub:
                    listed = await hub.get(f"{second.prefix}/spawner/v1/labs")
                assert sorted(listed.json()) == ["alice", "bob"]
    assert after == before
    assert after["alice"]["status"] == "running"
    assert after["alice"]["options"]["size"] == "medium"
    assert after["alice"]["options"]["enable_debug"] is True


async def test_reconciliation_deletes_an_incomplete_lab_namespace(
    nublado: RunningController,
) -> None:
    store = nublado.site.store
    namespaces = store.resource("namespaces")
    debris = {"metadata": {"name": "nublado-ghost", "labels": {"nublado.lsst.io/category": "lab"}}}
    unrelated = {"metadata": {"name": "nublado-something-else"}}
    with trio.fail_after(20):
        store.create(namespaces, None, debris)
        store.create(namespaces, None, unrelated)
        await nublado.controller.labs.reconcile()
        await wait_until_gone(nublado.site, "nublado-ghost")
        assert lab_namespaces(nublado.site) == {"nublado-something-else"}
        async with nublado.client("hub") as hub:
            assert await lab_status(hub, nublado.prefix, "ghost") is None


def _exiting_lab_config() -> dict[str, Any]:
    lab = copy.deepcopy(demo_config_data("http://127.0.0.1:1", Path("unused"))["lab"])
    lab["extraAnnotations"] = {ANNOTATION_EXIT_AFTER: "500ms"}
    return lab


async def test_reconciliation_deletes_a_dead_lab() -> None:
    async with running_controller(config_overrides={"lab": _exiting_lab_config()}) as nublado:
        with trio.fail_after(20):
            await _create(nublado, "alice")
            async with nublado.client("hub") as hub:
                await wait_for_status(hub, nublado.prefix, "alice", "terminated")
                assert "nublado-alice" in lab_namespaces(nublado.site)
                await nublado.controller.labs.reconcile()
                await wait_for_status(hub, nublado.prefix, "alice", None)
            await wait_until_gone(nublado.site, "nublado-alice")


async def test_a_new_controller_deletes_the_dead_labs_it_finds() -> None:
    async with simulated_cluster(fast_site_config()) as site:
        with trio.fail_after(30):
            overrides = {"lab": _exiting_lab_config()}
            async with serving_controller(site, config_overrides=overrides) as first:
                await _create(first, "alice")
                async with first.client("hub") as hub:
                    await wait_for_status(hub, first.prefix, "alice", "terminated")
            async with serving_controller(site) as second, second.client("hub") as hub:
                await wait_for_status(hub, second.prefix, "alice", None)
                await wait_until_gone(site, "nublado-alice")


async def test_leftovers_of_a_half_deleted_lab_go_without_waiting_for_the_pods_grace() -> None:
    """A lab whose config maps are gone but whose pod still runs (a controller stopped in the
    middle of its removal) is debris: the next controller removes it, pod first with the
    lab's 1 s grace; left to the namespace's cascade the pod would keep its own 30 s."""
    async with simulated_cluster(fast_site_config()) as site:
        with trio.fail_after(25):
            async with serving_controller(site) as first:
                await _create(first, "alice")
                async with first.client("alice") as alice:
                    events = await finished_events(alice, first.prefix, "alice")
                    assert events[-1].type == "complete"
            config_maps = site.store.resource("configmaps")
            for name in ("alice-nb-env", "alice-nb-nss", "alice-nb-files"):
                site.store.delete(config_maps, "nublado-alice", name)
            pods = site.store.resource("pods")
            assert site.store.get(pods, "nublado-alice", "alice-nb") is not None
            async with serving_controller(site):
                with trio.fail_after(10):
                    await wait_until_gone(site, "nublado-alice")
