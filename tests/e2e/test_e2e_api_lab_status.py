"""Status routes around a lab's life (``api.md`` §5.2, §5.4, §5.6): the running list, the
hub's view, the user's own view, and deleting what does not exist.
"""

from __future__ import annotations

import trio

from tests.e2e.harness import RunningController
from tests.e2e.spawner_client import jupyterhub_env, open_spawner


async def test_status_routes_follow_a_lab_from_creation_to_deletion(
    nublado: RunningController,
) -> None:
    base = f"{nublado.prefix}/spawner/v1"
    with trio.fail_after(30):
        async with (
            nublado.client("hub") as hub,
            nublado.client("alice") as alice,
            open_spawner(nublado, "alice") as spawner,
        ):
            no_lab = await alice.get(f"{base}/user-status")
            no_delete = await hub.delete(f"{base}/labs/alice")

            nublado.site.faults.kubelet_frozen = True
            slow_namespace = nublado.site.faults.add_latency(
                0.5, verb="create", resource="namespaces"
            )
            options = {"image_dropdown": [nublado.image()], "size": ["small"]}
            assert (await spawner.create(options, jupyterhub_env("alice"))).status_code == 201
            pending_list = (await hub.get(f"{base}/labs")).json()
            pending = (await hub.get(f"{base}/labs/alice")).json()
            nublado.site.faults.latencies.remove(slow_namespace)

            nublado.site.faults.kubelet_frozen = False
            await spawner.read_events()
            running_list = (await hub.get(f"{base}/labs")).json()
            own = await alice.get(f"{base}/user-status")
            hubs = await hub.get(f"{base}/labs/alice")
            deleted = await hub.delete(f"{base}/labs/alice")
            after = await alice.get(f"{base}/user-status")

    assert no_lab.status_code == 404
    assert no_lab.json() == {"detail": [{"msg": "Unknown user alice", "type": "unknown_user"}]}
    assert no_delete.status_code == 404
    assert no_delete.json() == {
        "detail": [
            {"loc": ["path", "username"], "msg": "Unknown user alice", "type": "unknown_user"}
        ]
    }
    assert pending_list == [], "pending labs are not listed"
    assert pending["status"] == "pending"
    assert pending["internal_url"] is None, "no Kubernetes objects yet"
    assert pending["user"] == {
        "username": "alice",
        "name": "Alice Example",
        "uid": 1001,
        "gid": 1001,
        "groups": [
            {"name": "alice", "id": 1001},
            {"name": "g_users", "id": 2000},
            {"name": "g_science", "id": 2001},
        ],
    }
    assert pending["resources"] == {
        "limits": {"cpu": 1.0, "memory": 2 * 1024**3},
        "requests": {"cpu": 0.25, "memory": 512 * 1024**2},
    }
    assert running_list == ["alice"]
    assert own.status_code == 200
    assert own.json() == hubs.json()
    assert own.json()["status"] == "running"
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert after.status_code == 404
