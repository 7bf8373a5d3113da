"""The image service and the prepuller against kubesim: registry tags in, images onto nodes.

The site has three nodes: ``node1`` already holds two images, ``node2`` holds none and
``node3`` is tainted ``dedicated=gpu:NoSchedule``, which the labs do not tolerate.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import trio

from kubesim.nodes import NodeSpec, node_object
from kubesim.registry import FakeRegistry
from tests.e2e.harness import (
    RunningController,
    anonymous_registry_images,
    fast_site_config,
    serving_controller,
)
from web.simulate import simulated_cluster

REPOSITORY = "lsstsqre/sciplat-lab"
NODES = {
    "nodes": [
        {
            "name": "node1",
            "images": [
                {"image": f"docker.io/{REPOSITORY}:w_2026_46", "size": 7000000000},
                {"image": f"docker.io/{REPOSITORY}:r28_0_0", "size": 6600000000},
            ],
        },
        {"name": "node2"},
        {
            "name": "node3",
            "taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}],
        },
    ]
}


@pytest.fixture
async def nublado() -> AsyncIterator[RunningController]:
    site_config = fast_site_config()
    site_config.controllers["nodes"] = NODES
    async with simulated_cluster(site_config) as site, serving_controller(site) as running:
        yield running


def _registry(nublado: RunningController) -> FakeRegistry:
    registry = nublado.site.mounted("/v2")
    assert isinstance(registry, FakeRegistry)
    return registry


async def _prepulls_settled(admin: httpx.AsyncClient, prefix: str) -> dict[str, Any]:
    """Poll the prepuller status until no image is pending on an eligible node."""
    while True:
        status: dict[str, Any] = (await admin.get(f"{prefix}/spawner/v1/prepulls")).json()
        if status["images"]["prepulled"] and not status["images"]["pending"]:
            return status
        await trio.sleep(0.1)


def _node_digests(nublado: RunningController, name: str) -> set[str]:
    store = nublado.site.store
    node = store.get(store.resource("nodes"), None, name)
    return {
        entry_name.partition("@")[2]
        for entry in node.get("status", {}).get("images", [])
        for entry_name in entry["names"]
        if "@" in entry_name
    }


async def test_images_route_lists_every_registry_tag(nublado: RunningController) -> None:
    tags = set(_registry(nublado).data.repositories[REPOSITORY].tags)
    with trio.fail_after(20):
        async with nublado.client("admin") as admin:
            reply = await admin.get(f"{nublado.prefix}/spawner/v1/images")
    assert reply.status_code == 200
    images = reply.json()
    listed = {image["tag"] for image in images["all"]}
    assert listed == {tag for tag in tags if not tag.endswith("-arm64")}
    assert images["recommended"]["name"] == "Recommended (Weekly 2026_46)"
    assert images["recommended"]["aliases"] == ["w_2026_46"]
    assert images["latest_weekly"]["tag"] == "w_2026_47"
    unresolved = next(image for image in images["all"] if image["tag"] == "r27_0_0")
    assert "digest" not in unresolved
    assert unresolved["prepulled"] is False


async def test_image_routes_are_for_admins(nublado: RunningController) -> None:
    with trio.fail_after(20):
        async with nublado.client("alice") as alice:
            for route in ("images", "prepulls"):
                reply = await alice.get(f"{nublado.prefix}/spawner/v1/{route}")
                assert reply.status_code == 403, route


async def test_eligible_nodes_gain_the_prepull_set_and_the_tainted_node_is_skipped(
    nublado: RunningController,
) -> None:
    with trio.fail_after(60):
        async with nublado.client("admin") as admin:
            status = await _prepulls_settled(admin, nublado.prefix)
    wanted = {image["digest"] for image in status["images"]["prepulled"]}
    assert len(wanted) == 4  # 1 release, 2 weeklies, 1 daily (recommended is a weekly)
    assert wanted <= _node_digests(nublado, "node1")
    assert wanted <= _node_digests(nublado, "node2")
    assert _node_digests(nublado, "node3") == set()
    nodes = {node["name"]: node for node in status["nodes"]}
    assert nodes["node3"]["eligible"] is False
    assert nodes["node3"]["comment"] == "Node is tainted (NoSchedule, dedicated = gpu)"
    assert nodes["node3"]["cached"] == []
    assert len(nodes["node2"]["cached"]) == 4
    for image in status["images"]["prepulled"]:
        assert image["nodes"] == ["node1", "node2"]
        assert image["missing"] == []


async def test_prepull_pods_ran_on_eligible_nodes_only_and_were_deleted(
    nublado: RunningController,
) -> None:
    with trio.fail_after(60):
        async with nublado.client("admin") as admin:
            await _prepulls_settled(admin, nublado.prefix)
        store = nublado.site.store
        events, _ = store.list(store.resource("events"), "nublado")
        pods_seen = {
            event["involvedObject"]["name"]
            for event in events
            if event["involvedObject"]["name"].startswith("prepull-")
        }
        assert pods_seen
        assert {name.rsplit("-", 1)[1] for name in pods_seen} == {"node2", "node1"}
        assert "prepull-r28-0-0-node1" not in pods_seen  # already cached there
        while store.list(store.resource("pods"), "nublado")[0]:
            await trio.sleep(0.05)


async def _wait_for_digests(nublado: RunningController, node: str, wanted: set[str]) -> None:
    while not wanted <= _node_digests(nublado, node):
        await trio.sleep(0.1)


async def test_a_node_that_joins_gets_the_prepull_set_before_the_next_periodic_refresh() -> None:
    site_config = fast_site_config()
    site_config.controllers["nodes"] = NODES
    async with simulated_cluster(site_config) as site:
        # A one-hour refresh: only the node watch can explain a prompt prepull.
        images = anonymous_registry_images(site, REPOSITORY, refresh_interval="1h")
        async with serving_controller(site, config_overrides={"images": images}) as nublado:
            await _fill_new_and_untainted_nodes(nublado)


async def _fill_new_and_untainted_nodes(nublado: RunningController) -> None:
    store = nublado.site.store
    with trio.fail_after(30):
        async with nublado.client("admin") as admin:
            status = await _prepulls_settled(admin, nublado.prefix)
        wanted = {image["digest"] for image in status["images"]["prepulled"]}
        store.create(store.resource("nodes"), None, node_object(NodeSpec("node4"), 4))
        await _wait_for_digests(nublado, "node4", wanted)
        # node3 loses the taint that made it ineligible: it is filled too.
        store.mutate(
            store.resource("nodes"), None, "node3", lambda node: node["spec"].pop("taints")
        )
        await _wait_for_digests(nublado, "node3", wanted)
