"""The official ``kubernetes`` client against kubesim: proof that the wire format is real.

The client is synchronous, so each call runs in a worker thread (``trio.to_thread``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import pytest
import trio
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from kubesim.site import Site

T = TypeVar("T")


@pytest.fixture
def api_client(kubesim: Site) -> Any:
    configuration = client.Configuration(host=kubesim.url)
    api = client.ApiClient(configuration)
    yield api
    api.close()


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await trio.to_thread.run_sync(lambda: fn(*args, **kwargs))


def pod(name: str) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels={"app": "lab"}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="main", image="lab:1")]),
    )


async def test_crud_of_several_kinds(api_client: Any) -> None:
    core = client.CoreV1Api(api_client)
    batch = client.BatchV1Api(api_client)
    with trio.fail_after(20):
        ns = await call(
            core.create_namespace, client.V1Namespace(metadata=client.V1ObjectMeta(name="ns"))
        )
        assert ns.status.phase == "Active"
        created = await call(core.create_namespaced_pod, "ns", pod("lab"))
        assert created.metadata.uid
        assert created.status.phase == "Pending"
        read = await call(core.read_namespaced_pod, "lab", "ns")
        assert read.metadata.resource_version == created.metadata.resource_version
        await call(
            core.create_namespaced_config_map,
            "ns",
            client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cm"), data={"k": "v"}),
        )
        await call(
            core.create_namespaced_secret,
            "ns",
            client.V1Secret(metadata=client.V1ObjectMeta(name="s"), string_data={"t": "x"}),
        )
        job = client.V1Job(
            metadata=client.V1ObjectMeta(name="j"),
            spec=client.V1JobSpec(
                template=client.V1PodTemplateSpec(
                    spec=client.V1PodSpec(
                        containers=[client.V1Container(name="c", image="x")],
                        restart_policy="Never",
                    )
                )
            ),
        )
        await call(batch.create_namespaced_job, "ns", job)
        pods = await call(core.list_namespaced_pod, "ns", label_selector="app=lab")
        assert [p.metadata.name for p in pods.items] == ["lab"]
        jobs = await call(batch.list_namespaced_job, "ns")
        assert [j.metadata.name for j in jobs.items] == ["j"]
        secret = await call(core.read_namespaced_secret, "s", "ns")
        assert secret.data == {"t": "eA=="}
        await call(core.delete_namespaced_config_map, "cm", "ns")
        await call(core.delete_namespaced_pod, "lab", "ns", grace_period_seconds=0)
        await call(batch.delete_namespaced_job, "j", "ns", propagation_policy="Background")
        remaining = await call(core.list_namespaced_config_map, "ns")
        assert remaining.items == []
        await call(core.delete_namespace, "ns")


async def test_error_statuses(api_client: Any) -> None:
    core = client.CoreV1Api(api_client)
    with trio.fail_after(20):
        with pytest.raises(ApiException) as missing:
            await call(core.read_namespace, "absent")
        assert missing.value.status == 404
        assert missing.value.reason == "Not Found"
        await call(
            core.create_namespace, client.V1Namespace(metadata=client.V1ObjectMeta(name="ns"))
        )
        with pytest.raises(ApiException) as duplicate:
            await call(
                core.create_namespace,
                client.V1Namespace(metadata=client.V1ObjectMeta(name="ns")),
            )
        assert duplicate.value.status == 409
        assert '"reason":"AlreadyExists"' in duplicate.value.body
        with pytest.raises(ApiException) as invalid:
            await call(core.create_namespaced_pod, "ns", pod("Bad_Name"))
        assert invalid.value.status == 422


async def test_watch_stream_receives_added_modified_deleted(api_client: Any) -> None:
    core = client.CoreV1Api(api_client)
    with trio.fail_after(20):
        await call(
            core.create_namespace, client.V1Namespace(metadata=client.V1ObjectMeta(name="ns"))
        )
        start_rv = (await call(core.list_namespaced_pod, "ns")).metadata.resource_version

        def collect() -> list[tuple[str, str]]:
            seen = []
            stream = watch.Watch().stream(
                core.list_namespaced_pod, "ns", resource_version=start_rv, timeout_seconds=5
            )
            for event in stream:
                seen.append((event["type"], event["object"].metadata.name))
                if event["type"] == "DELETED":
                    break
            return seen

        async def mutate() -> None:
            await call(core.create_namespaced_pod, "ns", pod("lab"))
            await call(core.patch_namespaced_pod, "lab", "ns", {"metadata": {"labels": {"x": "y"}}})
            await call(core.delete_namespaced_pod, "lab", "ns", grace_period_seconds=0)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(mutate)
            seen = await trio.to_thread.run_sync(collect)
        assert seen == [("ADDED", "lab"), ("MODIFIED", "lab"), ("DELETED", "lab")]


async def test_nodes_parse_as_official_models(kubesim_demo: Site) -> None:
    """Demo nodes carry every field the official V1Node model requires."""
    from kubernetes.client import V1Node

    async with httpx.AsyncClient(base_url=kubesim_demo.url or "") as client:
        with trio.fail_after(5):
            nodes = (await client.get("/api/v1/nodes")).json()["items"]
    assert nodes
    for node in nodes:
        parsed = V1Node.model_validate(node, extra="ignore")
        assert parsed.status is not None
        assert parsed.status.node_info is not None
        assert parsed.status.node_info.kubelet_version


async def test_event_names_sort_in_time_order(kubesim: Site) -> None:
    store = kubesim.store
    store.create(store.resource("namespaces"), None, {"metadata": {"name": "events"}})
    pod = {"kind": "Pod", "metadata": {"name": "p", "namespace": "events", "uid": "u"}}
    for reason in ("Scheduled", "Pulling", "Pulled", "Created", "Started"):
        store.record_event("events", pod, reason, f"{reason} happened")
    items, _ = store.list(store.resource("events"), "events")
    assert [item["reason"] for item in items] == [
        "Scheduled",
        "Pulling",
        "Pulled",
        "Created",
        "Started",
    ]
