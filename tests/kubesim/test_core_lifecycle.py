"""Deletion lifecycles: namespace termination, pod grace periods, owner-reference cascade."""

from __future__ import annotations

from typing import Any

import httpx
import trio

from kubesim.site import Site

NS = "/api/v1/namespaces"
PODS = f"{NS}/ns/pods"
JOBS = "/apis/batch/v1/namespaces/ns/jobs"


def pod(
    name: str, *, node: str | None = "node1", grace: int | None = None, **meta: Any
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "main", "image": "example/lab:1"}]}
    if node:
        spec["nodeName"] = node
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return {"metadata": {"name": name, **meta}, "spec": spec}


async def setup_ns(kube: httpx.AsyncClient, name: str = "ns") -> None:
    assert (await kube.post(NS, json={"metadata": {"name": name}})).status_code == 201


async def wait_gone(kube: httpx.AsyncClient, url: str) -> None:
    while (await kube.get(url)).status_code != 404:
        await trio.sleep(0.02)


async def test_namespace_deletion_terminates_then_disappears(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        await kube.post(f"{NS}/ns/configmaps", json={"metadata": {"name": "cm"}})
        await kube.post(PODS, json=pod("lab", node=None))
        deleted = await kube.delete(f"{NS}/ns")
        assert deleted.status_code == 200
        body = deleted.json()
        assert body["status"]["phase"] == "Terminating"
        assert body["metadata"]["deletionTimestamp"]
        await wait_gone(kube, f"{NS}/ns")
        assert (await kube.get(f"{NS}/ns/configmaps/cm")).status_code == 404


async def test_terminating_namespace_refuses_new_content(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        await kube.post(PODS, json=pod("slow", grace=30))
        await kube.delete(f"{NS}/ns")
        refused = await kube.post(f"{NS}/ns/configmaps", json={"metadata": {"name": "late"}})
        assert refused.status_code == 403
        status = refused.json()
        assert status["reason"] == "Forbidden"
        assert status["message"] == (
            'configmaps "late" is forbidden: unable to create new content in namespace ns'
            " because it is being terminated"
        )
        assert (await kube.get(f"{NS}/ns")).json()["status"]["phase"] == "Terminating"


async def test_namespace_waits_for_pod_grace(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        await kube.post(PODS, json=pod("lab", grace=1))
        start = trio.current_time()
        await kube.delete(f"{NS}/ns")
        await wait_gone(kube, f"{NS}/ns")
        assert trio.current_time() - start >= 1.0


async def test_pod_deletion_honours_the_grace_period(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        created = (await kube.post(PODS, json=pod("lab"))).json()
        response = await kube.delete(f"{PODS}/lab", params={"gracePeriodSeconds": "1"})
        lingering = response.json()
        assert lingering["kind"] == "Pod"
        assert lingering["metadata"]["deletionGracePeriodSeconds"] == 1
        assert lingering["metadata"]["deletionTimestamp"]
        assert int(lingering["metadata"]["resourceVersion"]) > int(
            created["metadata"]["resourceVersion"]
        )
        assert (await kube.get(f"{PODS}/lab")).status_code == 200
        start = trio.current_time()
        await wait_gone(kube, f"{PODS}/lab")
        assert trio.current_time() - start >= 0.8


async def test_grace_zero_removes_a_pod_at_once(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        await kube.post(PODS, json=pod("lab", grace=30))
        await kube.delete(f"{PODS}/lab", params={"gracePeriodSeconds": "0"})
        assert (await kube.get(f"{PODS}/lab")).status_code == 404


async def test_second_delete_with_grace_zero_cuts_the_grace_short(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        await kube.post(PODS, json=pod("lab", grace=30))
        await kube.delete(f"{PODS}/lab")
        await kube.request("DELETE", f"{PODS}/lab", json={"gracePeriodSeconds": 0})
        assert (await kube.get(f"{PODS}/lab")).status_code == 404


async def test_second_delete_with_a_shorter_grace_brings_the_end_forward(
    kube: httpx.AsyncClient,
) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        await kube.post(PODS, json=pod("lab", grace=30))
        await kube.delete(f"{PODS}/lab")
        shortened = await kube.delete(f"{PODS}/lab", params={"gracePeriodSeconds": "1"})
        assert shortened.json()["metadata"]["deletionGracePeriodSeconds"] == 1
        longer = await kube.delete(f"{PODS}/lab", params={"gracePeriodSeconds": "20"})
        assert longer.json()["metadata"]["deletionGracePeriodSeconds"] == 1, "never put back"
        await wait_gone(kube, f"{PODS}/lab")  # within the test's ceiling, not 30 s


async def test_unscheduled_pods_are_deleted_immediately(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        await kube.post(PODS, json=pod("pending", node=None, grace=30))
        await kube.delete(f"{PODS}/pending")
        assert (await kube.get(f"{PODS}/pending")).status_code == 404


async def test_finalizers_hold_an_object_until_removed(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        url = f"{NS}/ns/configmaps"
        await kube.post(url, json={"metadata": {"name": "cm", "finalizers": ["example.com/x"]}})
        held = (await kube.delete(f"{url}/cm")).json()
        assert held["metadata"]["deletionTimestamp"]
        await kube.patch(
            f"{url}/cm",
            json={"metadata": {"finalizers": None}},
            headers={"content-type": "application/merge-patch+json"},
        )
        assert (await kube.get(f"{url}/cm")).status_code == 404


async def make_job_with_pod(kube: httpx.AsyncClient) -> dict[str, Any]:
    job = (
        await kube.post(JOBS, json={"metadata": {"name": "j"}, "spec": {"template": {"spec": {}}}})
    ).json()
    owner = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": "j",
        "uid": job["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    await kube.post(PODS, json=pod("j-pod", node=None, ownerReferences=[owner]))
    return job


async def test_job_deletion_orphans_pods_by_default(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        await make_job_with_pod(kube)
        await kube.delete(f"{JOBS}/j")
        assert (await kube.get(f"{JOBS}/j")).status_code == 404
        orphan = await kube.get(f"{PODS}/j-pod")
        assert orphan.status_code == 200
        assert "ownerReferences" not in orphan.json()["metadata"]


async def test_background_propagation_deletes_dependents(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        await make_job_with_pod(kube)
        await kube.delete(f"{JOBS}/j", params={"propagationPolicy": "Background"})
        assert (await kube.get(f"{JOBS}/j")).status_code == 404
        await wait_gone(kube, f"{PODS}/j-pod")


async def test_foreground_propagation_removes_owner_after_dependents(
    kube: httpx.AsyncClient, kubesim: Site
) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        job = await make_job_with_pod(kube)
        pod_url = f"{PODS}/j-pod"
        await kube.patch(
            pod_url,
            json={"metadata": {"finalizers": ["example.com/hold"]}},
            headers={"content-type": "application/merge-patch+json"},
        )
        response = await kube.request(
            "DELETE", f"{JOBS}/j", json={"propagationPolicy": "Foreground"}
        )
        assert response.json()["metadata"]["finalizers"] == ["foregroundDeletion"]
        assert (await kube.get(f"{JOBS}/j")).status_code == 200
        await kube.patch(
            pod_url,
            json={"metadata": {"finalizers": None}},
            headers={"content-type": "application/merge-patch+json"},
        )
        await wait_gone(kube, pod_url)
        await wait_gone(kube, f"{JOBS}/j")
        assert kubesim.store.find_by_uid(job["metadata"]["uid"]) is None


async def test_orphan_propagation_keeps_dependents(kube: httpx.AsyncClient, kubesim: Site) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        owner = (await kube.post(f"{NS}/ns/configmaps", json={"metadata": {"name": "o"}})).json()
        ref = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": "o",
            "uid": owner["metadata"]["uid"],
        }
        await kube.post(
            f"{NS}/ns/secrets", json={"metadata": {"name": "s", "ownerReferences": [ref]}}
        )
        await kube.delete(f"{NS}/ns/configmaps/o", params={"propagationPolicy": "Orphan"})
        assert (await kube.get(f"{NS}/ns/secrets/s")).status_code == 200
        assert (
            kubesim.store.get(kubesim.store.resource("secrets"), "ns", "s")["metadata"].get(
                "ownerReferences"
            )
            is None
        )
