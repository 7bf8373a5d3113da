"""Request counters, open-watch counts and CPU under /_kubesim/stats.

The counts are what benchmarks compare controller designs by, so these tests pin the naming
down exactly: the official ``kubernetes`` client (synchronous, run in a worker thread) makes
one request per call, and each must land under the verb and resource a real API server
would name it by, with nothing else counted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import pytest
import trio
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from kubesim.site import Site, SiteConfig, run_site

T = TypeVar("T")

STATS = "/_kubesim/stats"


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await trio.to_thread.run_sync(lambda: fn(*args, **kwargs))


async def call_failing(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> int:
    """Run a client call that kubesim answers with an error; return the HTTP status."""
    with pytest.raises(ApiException) as caught:
        await call(fn, *args, **kwargs)
    return int(caught.value.status)


def prepare_namespace(site: Site, name: str) -> None:
    """A namespace with its ``default`` service account, made without any API request."""
    store = site.store
    store.create(store.resource("namespaces"), None, {"metadata": {"name": name}})
    store.create(store.resource("serviceaccounts"), name, {"metadata": {"name": "default"}})


def by_verb_and_resource(stats: dict[str, Any]) -> dict[tuple[str, str], int]:
    totals: dict[tuple[str, str], int] = {}
    for entry in stats["requests"]:
        key = (entry["verb"], entry["resource"])
        totals[key] = totals.get(key, 0) + entry["count"]
    return totals


async def stats_of(http: httpx.AsyncClient) -> dict[str, Any]:
    response = await http.get(STATS)
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


async def wait_for_open(http: httpx.AsyncClient, total: int) -> dict[str, Any]:
    """Poll the stats until ``total`` watches are open (the server notices a disconnect on
    its own schedule); the caller's ``fail_after`` bounds the wait."""
    while True:
        stats = await stats_of(http)
        if stats["watches"]["open_total"] == total:
            return stats
        await trio.sleep(0.01)


def pod(name: str) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PodSpec(containers=[client.V1Container(name="main", image="lab:1")]),
    )


async def test_official_client_calls_are_counted_by_verb_and_resource(
    kubesim: Site, kube: httpx.AsyncClient
) -> None:
    prepare_namespace(kubesim, "ns")
    api = client.ApiClient(client.Configuration(host=kubesim.url))
    core = client.CoreV1Api(api)
    batch = client.BatchV1Api(api)
    cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cm"), data={"k": "v"})
    agent = api.user_agent
    try:
        with trio.fail_after(30):
            await call(core.create_namespaced_pod, "ns", pod("lab"))
            await call(core.read_namespaced_pod, "lab", "ns")
            await call(core.list_namespaced_pod, "ns")
            await call(core.list_pod_for_all_namespaces)
            await call(core.read_namespaced_pod_status, "lab", "ns")
            await call(
                core.patch_namespaced_pod_status,
                "lab",
                "ns",
                {"status": {"phase": "Running"}},
            )
            await call(core.create_namespaced_config_map, "ns", cm)
            cm.data = {"k": "w"}
            await call(core.replace_namespaced_config_map, "cm", "ns", cm)
            await call(core.patch_namespaced_config_map, "cm", "ns", {"data": {"k": "x"}})
            await call(core.delete_collection_namespaced_config_map, "ns")
            await call(core.read_namespace, "ns")
            await call(core.read_namespace_status, "ns")
            await call(batch.list_namespaced_job, "ns")
            # A log request is counted even when refused (no kubelet started the container).
            assert await call_failing(core.read_namespaced_pod_log, "lab", "ns") == 400
            # Subresources kubesim does not serve are still counted under their real names.
            eviction = client.V1Eviction(metadata=client.V1ObjectMeta(name="lab", namespace="ns"))
            assert (
                await call_failing(core.create_namespaced_pod_eviction, "lab", "ns", eviction)
                == 404
            )
            assert await call_failing(core.read_namespaced_pod, "absent", "ns") == 404
            watcher = watch.Watch()
            events = await call(
                lambda: list(watcher.stream(core.list_namespaced_pod, "ns", timeout_seconds=1))
            )
            assert [event["type"] for event in events] == ["ADDED"]
            await call(core.delete_namespaced_pod, "lab", "ns", grace_period_seconds=0)
    finally:
        api.close()
    stats = await stats_of(kube)
    assert by_verb_and_resource(stats) == {
        ("create", "pods"): 1,
        ("get", "pods"): 2,
        ("list", "pods"): 2,
        ("get", "pods/status"): 1,
        ("patch", "pods/status"): 1,
        ("create", "configmaps"): 1,
        ("update", "configmaps"): 1,
        ("patch", "configmaps"): 1,
        ("deletecollection", "configmaps"): 1,
        ("get", "namespaces"): 1,
        ("get", "namespaces/status"): 1,
        ("list", "jobs"): 1,
        ("get", "pods/log"): 1,
        ("create", "pods/eviction"): 1,
        ("watch", "pods"): 1,
        ("delete", "pods"): 1,
    }
    assert stats["requests_total"] == 18
    assert agent.startswith("OpenAPI-Generator/")
    assert {entry["client"] for entry in stats["requests"]} == {agent}
    assert {entry["user"] for entry in stats["requests"]} == {""}


async def test_raw_requests_non_resource_paths_and_faults_are_counted(
    kubesim: Site, kube: httpx.AsyncClient
) -> None:
    prepare_namespace(kubesim, "ns")
    with trio.fail_after(10):
        assert (await kube.get("/version")).status_code == 200
        assert (await kube.get("/apis/batch/v1")).status_code == 200
        assert (await kube.get("/api/v1/namespaces/ns/widgets")).status_code == 404
        # The deprecated watch prefix names a watch even though kubesim does not serve it.
        assert (await kube.get("/api/v1/watch/namespaces/ns/pods")).status_code == 404
        assert (await kube.put("/api/v1/namespaces/ns/finalize", json={})).status_code == 200
        kubesim.faults.add_error(verb="list", resource="secrets", status=503, count=1)
        assert (await kube.get("/api/v1/namespaces/ns/secrets")).status_code == 503
        assert (await kube.get("/api/v1/secrets")).status_code == 200
        assert (await kube.delete("/api/v1/namespaces/ns/secrets")).status_code == 200
        # Neither the admin API nor its own reads are load on the API server.
        assert (await kube.get("/_kubesim/faults")).status_code == 200
        await stats_of(kube)
        stats = await stats_of(kube)
    assert by_verb_and_resource(stats) == {
        ("get", "/version"): 1,
        ("get", "/apis/batch/v1"): 1,
        ("list", "widgets"): 1,
        ("watch", "pods"): 1,
        ("update", "namespaces/finalize"): 1,
        ("list", "secrets"): 2,
        ("deletecollection", "secrets"): 1,
    }
    assert stats["requests_total"] == 8
    assert kubesim.stats.count("list", "secrets") == 2


async def test_user_agent_and_bearer_token_name_identify_clients() -> None:
    config = SiteConfig(tokens={"secret-a": "controller-a"})
    with trio.fail_after(15):
        async with run_site(config) as site:
            prepare_namespace(site, "ns")
            base = site.url or ""
            agents = [
                ("controller", "secret-a"),
                ("controller", "secret-b"),
                ("kubectl/v1.31", None),
            ]
            for index, (agent, token) in enumerate(agents):
                headers = {"user-agent": agent}
                if token is not None:
                    headers["authorization"] = f"Bearer {token}"
                async with httpx.AsyncClient(base_url=base, headers=headers) as http:
                    for n in range(index + 1):
                        body = {"metadata": {"name": f"cm-{index}-{n}"}}
                        created = await http.post("/api/v1/namespaces/ns/configmaps", json=body)
                        assert created.status_code == 201
                    assert (await http.get("/api/v1/namespaces/ns/configmaps")).is_success
            async with httpx.AsyncClient(base_url=base) as http:
                stats = await stats_of(http)
            # Tokens named after being seen apply to later requests, not earlier ones.
            site.stats.name_token("secret-b", "controller-b")
            async with httpx.AsyncClient(
                base_url=base, headers={"authorization": "Bearer secret-b"}
            ) as http:
                assert (await http.get("/api/v1/namespaces/ns")).is_success
    fingerprint = "token-sha256:" + hashlib.sha256(b"secret-b").hexdigest()[:12]
    creates = {
        (entry["client"], entry["user"]): entry["count"]
        for entry in stats["requests"]
        if entry["verb"] == "create"
    }
    assert creates == {
        ("controller", "controller-a"): 1,
        ("controller", fingerprint): 2,
        ("kubectl/v1.31", ""): 3,
    }
    assert not any("secret" in entry["user"] for entry in stats["requests"])
    assert site.stats.count("create", "configmaps", user="controller-a") == 1
    assert site.stats.count("create", client="controller") == 3
    assert site.stats.count("get", "namespaces", user="controller-b") == 1
    assert site.stats.count(user=fingerprint) == 3


async def test_open_watches_follow_connections_up_and_down(
    kubesim: Site, kube: httpx.AsyncClient
) -> None:
    prepare_namespace(kubesim, "ns")
    pods = "/api/v1/namespaces/ns/pods"
    with trio.fail_after(20):
        async with httpx.AsyncClient(base_url=kubesim.url or "", timeout=None) as watching:
            first = await watching.send(
                watching.build_request("GET", pods, params={"watch": "true"}), stream=True
            )
            second = await watching.send(
                watching.build_request("GET", pods, params={"watch": "1"}), stream=True
            )
            third = await watching.send(
                watching.build_request("GET", "/api/v1/configmaps", params={"watch": "true"}),
                stream=True,
            )
            stats = await wait_for_open(kube, 3)
            assert stats["watches"] == {
                "open": {"configmaps": 1, "pods": 2},
                "open_total": 3,
                "peak_total": 3,
            }
            # The client goes away: the server notices and the count goes down.
            await first.aclose()
            stats = await wait_for_open(kube, 2)
            assert stats["watches"]["open"] == {"configmaps": 1, "pods": 1}
            assert stats["watches"]["peak_total"] == 3
            # Cut by the server (fault injection).
            assert (await kube.post("/_kubesim/faults/drop-watches")).json() == {"dropped": 2}
            stats = await wait_for_open(kube, 0)
            assert stats["watches"]["open"] == {}
            await second.aclose()
            await third.aclose()
            # A watch that ends by its timeout and one that ends with an expired
            # resourceVersion are closed too.
            async with kube.stream(
                "GET", pods, params={"watch": "true", "timeoutSeconds": "1"}
            ) as ended:
                assert ended.status_code == 200
                await ended.aread()
            kubesim.faults.expire_resource_versions()
            async with kube.stream(
                "GET", pods, params={"watch": "true", "resourceVersion": "1"}
            ) as expired:
                assert b'"code":410' in await expired.aread()
            stats = await wait_for_open(kube, 0)
    assert stats["watches"]["peak_total"] == 3
    assert by_verb_and_resource(stats)[("watch", "pods")] == 4
    assert kubesim.stats.open_watches() == 0


async def test_reset_zeroes_counters_and_answers_with_what_it_cleared(
    kubesim: Site, kube: httpx.AsyncClient
) -> None:
    with trio.fail_after(15):
        await kube.get("/api/v1/namespaces")
        await kube.get("/api/v1/namespaces")
        async with kube.stream("GET", "/api/v1/pods", params={"watch": "true"}) as held:
            assert held.status_code == 200
            async with kube.stream("GET", "/api/v1/nodes", params={"watch": "true"}) as brief:
                assert brief.status_code == 200
                await wait_for_open(kube, 2)
            await wait_for_open(kube, 1)
            reset = await kube.post(f"{STATS}/reset")
            assert reset.status_code == 200
            cleared = reset.json()
            after = await stats_of(kube)
        await wait_for_open(kube, 0)
    assert by_verb_and_resource(cleared) == {
        ("list", "namespaces"): 2,
        ("watch", "pods"): 1,
        ("watch", "nodes"): 1,
    }
    assert cleared["watches"]["peak_total"] == 2
    # The requests are gone; the watch still open stays counted and is the new peak.
    assert after["requests"] == []
    assert after["requests_total"] == 0
    assert after["watches"] == {"open": {"pods": 1}, "open_total": 1, "peak_total": 1}
    assert after["cpu_seconds"] >= cleared["cpu_seconds"] > 0
    assert 0 <= after["cpu_seconds_since_reset"] < after["cpu_seconds"]
    assert kubesim.stats.count() == 0


async def test_stats_api_refuses_other_methods_and_paths(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        assert (await kube.delete(STATS)).status_code == 405
        assert (await kube.get(f"{STATS}/reset")).status_code == 405
        missing = await kube.get(f"{STATS}/other")
        assert missing.status_code == 404
        assert missing.json()["reason"] == "NotFound"
        assert (await stats_of(kube))["requests_total"] == 0


def test_token_names_in_the_config_file_must_be_strings() -> None:
    assert SiteConfig.from_mapping({"tokens": {"t": "ci"}}).tokens == {"t": "ci"}
    with pytest.raises(ValueError, match="tokens"):
        SiteConfig.from_mapping({"tokens": ["t"]})
    with pytest.raises(ValueError, match="tokens"):
        SiteConfig.from_mapping({"tokens": {"t": 1}})
