"""Fault injection, from Python and over the /_kubesim/faults admin API."""

from __future__ import annotations

import httpx
import pytest
import trio

from kubesim.site import Site, SiteConfig, run_site

FAULTS = "/_kubesim/faults"
PODS = "/api/v1/namespaces/ns/pods"


async def setup_ns(kube: httpx.AsyncClient) -> None:
    assert (await kube.post("/api/v1/namespaces", json={"metadata": {"name": "ns"}})).is_success


async def test_error_rule_fails_matching_requests_with_retry_after(
    kube: httpx.AsyncClient,
) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        added = await kube.post(
            f"{FAULTS}/errors",
            json={"verb": "list", "resource": "pods", "status": 429, "retryAfter": 2, "count": 1},
        )
        assert added.status_code == 201
        failed = await kube.get(PODS)
        assert failed.status_code == 429
        assert failed.headers["retry-after"] == "2"
        assert failed.json()["reason"] == "TooManyRequests"
        assert failed.json()["details"]["retryAfterSeconds"] == 2
        assert (await kube.get(PODS)).status_code == 200
        assert (await kube.get("/api/v1/namespaces/ns/configmaps")).status_code == 200


async def test_error_rate_is_deterministic_for_a_seed() -> None:
    async def outcomes(seed: int) -> list[int]:
        async with (
            run_site(SiteConfig(), seed=seed) as site,
            httpx.AsyncClient(base_url=site.url or "") as client,
        ):
            site.faults.add_error(verb="get", resource="namespaces", rate=0.5, status=503)
            return [(await client.get("/api/v1/namespaces/x")).status_code for _ in range(30)]

    with trio.fail_after(20):
        first = await outcomes(7)
        assert first == await outcomes(7)
        assert set(first) == {404, 503}


async def test_latency_rule_delays_requests(kube: httpx.AsyncClient, kubesim: Site) -> None:
    with trio.fail_after(10):
        kubesim.faults.add_latency(0.3, verb="list")
        start = trio.current_time()
        await kube.get("/api/v1/namespaces")
        assert trio.current_time() - start >= 0.3
        await kube.delete(FAULTS)
        start = trio.current_time()
        await kube.get("/api/v1/namespaces")
        assert trio.current_time() - start < 0.3


async def test_drop_watches_cuts_open_streams(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        async with kube.stream("GET", PODS, params={"watch": "1"}) as response:
            assert response.status_code == 200
            dropped = await kube.post(f"{FAULTS}/drop-watches")
            assert dropped.json() == {"dropped": 1}
            with pytest.raises(httpx.RemoteProtocolError):
                await response.aread()


async def test_expire_makes_old_resource_versions_gone(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        rv = (await kube.get(PODS)).json()["metadata"]["resourceVersion"]
        await kube.post(PODS, json={"metadata": {"name": "p"}, "spec": {"containers": []}})
        expired = await kube.post(f"{FAULTS}/expire")
        assert int(expired.json()["oldestResourceVersion"]) > int(rv)
        response = await kube.get(PODS, params={"watch": "1", "resourceVersion": rv})
        assert response.status_code == 200
        assert '"code":410' in response.text


async def test_kubelet_freeze_flag_and_state(kube: httpx.AsyncClient, kubesim: Site) -> None:
    with trio.fail_after(10):
        frozen = await kube.put(f"{FAULTS}/kubelet", json={"frozen": True})
        assert frozen.json()["kubeletFrozen"] is True
        assert kubesim.faults.kubelet_frozen is True
        state = (await kube.delete(FAULTS)).json()
        assert state["kubeletFrozen"] is False
        assert state["errors"] == []


async def test_admin_api_rejects_bad_input(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        bad_rate = await kube.post(f"{FAULTS}/errors", json={"rate": 2})
        assert bad_rate.status_code == 400
        unknown = await kube.post(f"{FAULTS}/errors", json={"colour": "red"})
        assert unknown.status_code == 400
        assert (await kube.get(f"{FAULTS}/errors")).status_code == 405


async def test_corruption_rule_answers_an_object_of_the_wrong_shape(
    kube: httpx.AsyncClient,
) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        added = await kube.post(
            f"{FAULTS}/corruptions", json={"verb": "get", "resource": "namespaces", "count": 1}
        )
        assert added.status_code == 201
        corrupted = await kube.get("/api/v1/namespaces/ns")
        assert corrupted.status_code == 200
        assert corrupted.json()["metadata"] == "corrupted by kubesim"
        healthy = await kube.get("/api/v1/namespaces/ns")
        assert healthy.json()["metadata"]["name"] == "ns"
        listed = await kube.get(f"{FAULTS}")
        assert listed.json()["corruptions"] == [
            {"verb": "get", "resource": "namespaces", "count": 0}
        ]
        assert (await kube.post(f"{FAULTS}/corruptions", json={"rate": 1})).status_code == 400
