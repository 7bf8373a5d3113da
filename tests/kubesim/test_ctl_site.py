"""Everything installed by kubesim.demo.install_all, seen over HTTP through a real Site."""

from __future__ import annotations

import httpx
import trio

from kubesim.demo import install_all
from kubesim.site import SiteConfig, run_site

LAB = "docker.io/lsstsqre/sciplat-lab:w_2026_45"


async def wait_for_phase(client: httpx.AsyncClient, url: str, phase: str) -> dict:
    while True:
        pod = (await client.get(url)).json()
        if (pod.get("status") or {}).get("phase") == phase:
            return pod
        await trio.sleep(0.02)


async def test_pod_created_over_http_runs_and_reports_events() -> None:
    config = SiteConfig(controllers={"kubelet": {"pull_delay": 0.05}})
    with trio.fail_after(20):
        async with (
            run_site(config, setup=install_all) as site,
            httpx.AsyncClient(base_url=site.url) as client,
        ):
            r = await client.post("/api/v1/namespaces", json={"metadata": {"name": "ns"}})
            assert r.status_code == 201
            body = {
                "metadata": {"name": "lab"},
                "spec": {"containers": [{"name": "notebook", "image": LAB}]},
            }
            r = await client.post("/api/v1/namespaces/ns/pods", json=body)
            assert r.status_code == 201
            pod = await wait_for_phase(client, "/api/v1/namespaces/ns/pods/lab", "Running")
            events = (
                await client.get(
                    "/api/v1/namespaces/ns/events",
                    params={"fieldSelector": "involvedObject.name=lab"},
                )
            ).json()["items"]
            node = (await client.get(f"/api/v1/nodes/{pod['spec']['nodeName']}")).json()
    reasons = {e["reason"] for e in events}
    assert {"Scheduled", "Pulling", "Pulled", "Created", "Started"} <= reasons
    assert any(LAB in image["names"] for image in node["status"]["images"])


async def test_demo_site_serves_nodes_gafaelfawr_and_registry() -> None:
    with trio.fail_after(20):
        async with (
            run_site(setup=install_all) as site,
            httpx.AsyncClient(base_url=site.url) as client,
        ):
            nodes = (await client.get("/api/v1/nodes")).json()["items"]
            user = await client.get(
                "/auth/api/v1/user-info", headers={"Authorization": "Bearer bob-demo-token"}
            )
            challenge = await client.get("/v2/")
    assert [n["metadata"]["name"] for n in nodes] == ["node1", "node2", "node3"]
    assert user.json()["username"] == "bob"
    assert challenge.status_code == 401
    assert challenge.headers["www-authenticate"].startswith(f'Bearer realm="{site.url}/')


async def test_frozen_fault_over_http_holds_pods_pending() -> None:
    with trio.fail_after(20):
        async with (
            run_site(setup=install_all) as site,
            httpx.AsyncClient(base_url=site.url) as client,
        ):
            site.faults.kubelet_frozen = True
            await client.post("/api/v1/namespaces", json={"metadata": {"name": "ns"}})
            body = {
                "metadata": {"name": "lab"},
                "spec": {"containers": [{"name": "notebook", "image": LAB}]},
            }
            await client.post("/api/v1/namespaces/ns/pods", json=body)
            await trio.sleep(0.3)
            frozen = (await client.get("/api/v1/namespaces/ns/pods/lab")).json()
            site.faults.kubelet_frozen = False
            await wait_for_phase(client, "/api/v1/namespaces/ns/pods/lab", "Running")
    assert "nodeName" not in frozen["spec"]
