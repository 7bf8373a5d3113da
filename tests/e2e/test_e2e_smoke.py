"""The shortest path through the product: spawn a lab, watch it start, stop it."""

from __future__ import annotations

import trio

from tests.e2e.harness import RunningController


async def test_a_lab_spawns_runs_and_is_deleted(nublado: RunningController) -> None:
    prefix = nublado.prefix
    body = {
        "options": {"image_dropdown": [nublado.image()], "size": ["small"]},
        "env": {"JUPYTERHUB_SERVICE_PREFIX": "/nb/user/alice/"},
    }
    with trio.fail_after(30):
        async with nublado.client("alice") as alice, nublado.client("hub") as hub:
            created = await alice.post(f"{prefix}/spawner/v1/labs/alice/create", json=body)
            assert created.status_code == 201, created.text
            events = await alice.get(f"{prefix}/spawner/v1/labs/alice/events")
            assert events.status_code == 200
            assert "event: complete" in events.text
            state = (await hub.get(f"{prefix}/spawner/v1/labs/alice")).json()
            assert state["status"] == "running"
            assert state["internal_url"] == "http://lab.nublado-alice:8888/nb/user/alice/"
            pods = nublado.site.store.list(nublado.site.store.resource("pods"), "nublado-alice")
            assert [p["metadata"]["name"] for p in pods[0]] == ["alice-nb"]
            deleted = await hub.delete(f"{prefix}/spawner/v1/labs/alice")
            assert deleted.status_code == 204
            assert (await hub.get(f"{prefix}/spawner/v1/labs/alice")).status_code == 404
            namespaces = nublado.site.store.list(nublado.site.store.resource("namespaces"))
            assert "nublado-alice" not in [n["metadata"]["name"] for n in namespaces[0]]
