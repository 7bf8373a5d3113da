"""The simulated Job controller, ingress addresses and the GafaelfawrIngress operator."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import trio
import trio.testing

from kubesim import ingress, jobs, kubelet, nodes
from kubesim.ingress import IngressConfig
from kubesim.jobs import JobsConfig
from kubesim.kubelet import KubeletConfig
from kubesim.store import Store


class Faults:
    kubelet_frozen = False


class SimSite:
    """The parts of kubesim.site.Site the controllers use."""

    def __init__(self) -> None:
        self.store = Store()
        self.faults = Faults()
        self.controllers: list[Callable[[Any], Any]] = []

    def add_controller(self, run: Callable[[Any], Any], name: str | None = None) -> None:
        self.controllers.append(run)


@asynccontextmanager
async def running_site(
    *, ingress_config: IngressConfig | None = None, seed: int = 0
) -> AsyncIterator[SimSite]:
    site = SimSite()
    nodes.install(site, nodes.parse_nodes("nodes: [{name: node1}]"))
    kubelet.install(site, KubeletConfig())
    jobs.install(site, JobsConfig(retry_delay=0.0), seed=seed)
    ingress.install(site, ingress_config)
    store = site.store
    store.create(store.resource("namespaces"), None, {"metadata": {"name": "files"}})
    async with trio.open_nursery() as nursery:
        nursery.start_soon(store.run_timers)
        for run in site.controllers:
            nursery.start_soon(run, site)
        # Let the service-account controller give the namespace its ``default`` account,
        # without which the API server refuses pods.
        await trio.testing.wait_all_tasks_blocked()
        yield site
        nursery.cancel_scope.cancel()


def job_body(name: str, annotations: dict[str, str], backoff_limit: int | None = None) -> dict:
    spec: dict[str, Any] = {
        "template": {
            "metadata": {
                "labels": {"nublado.lsst.io/user": "alice"},
                "annotations": annotations,
            },
            "spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "fileserver", "image": "ghcr.io/x/worblehat:1"}],
            },
        }
    }
    if backoff_limit is not None:
        spec["backoffLimit"] = backoff_limit
    return {"metadata": {"name": name}, "spec": spec}


def res(site: SimSite, plural: str, group: str = "") -> Any:
    return site.store.resource(plural, group)


def job_pods(site: SimSite, job: str) -> list[dict[str, Any]]:
    items, _ = site.store.list(res(site, "pods"), "files", label_selector=f"job-name={job}")
    return items


async def wait_for_condition(site: SimSite, job: str, ctype: str) -> dict[str, Any]:
    while True:
        obj = site.store.get(res(site, "jobs", "batch"), "files", job)
        if any(c["type"] == ctype for c in (obj.get("status") or {}).get("conditions") or []):
            return obj
        await trio.sleep(0.01)


async def test_job_creates_its_pod_from_the_template() -> None:
    with trio.fail_after(10):
        async with running_site() as site:
            job = site.store.create(
                res(site, "jobs", "batch"), "files", job_body("alice-fs", {"a": "b"})
            )
            while not job_pods(site, "alice-fs"):
                await trio.sleep(0.01)
            (pod,) = job_pods(site, "alice-fs")
            status = site.store.get(res(site, "jobs", "batch"), "files", "alice-fs")["status"]
    assert re.fullmatch(r"alice-fs-[bcdfghjklmnpqrstvwxz2456789]{5}", pod["metadata"]["name"])
    labels = pod["metadata"]["labels"]
    assert labels["nublado.lsst.io/user"] == "alice"
    assert labels["job-name"] == labels["batch.kubernetes.io/job-name"] == "alice-fs"
    assert labels["controller-uid"] == job["metadata"]["uid"]
    assert pod["metadata"]["annotations"] == {"a": "b"}
    (owner,) = pod["metadata"]["ownerReferences"]
    assert owner == {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": "alice-fs",
        "uid": job["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    assert status["active"] == 1
    assert status["startTime"]


async def test_pod_names_repeat_for_the_same_seed() -> None:
    names = []
    for _ in range(2):
        with trio.fail_after(10):
            async with running_site(seed=42) as site:
                site.store.create(res(site, "jobs", "batch"), "files", job_body("j", {}))
                while not job_pods(site, "j"):
                    await trio.sleep(0.01)
                names.append(job_pods(site, "j")[0]["metadata"]["name"])
    assert names[0] == names[1]


async def test_job_completes_when_its_pod_succeeds() -> None:
    exits = {"kubesim.nublado.io/exit-after": "0s"}
    with trio.fail_after(10):
        async with running_site() as site:
            site.store.create(res(site, "jobs", "batch"), "files", job_body("done", exits))
            job = await wait_for_condition(site, "done", "Complete")
    status = job["status"]
    assert (status["active"], status["succeeded"]) == (0, 1)
    assert status["completionTime"]
    assert "failed" not in status


async def test_job_fails_when_its_pod_fails_past_the_backoff_limit() -> None:
    exits = {"kubesim.nublado.io/exit-after": "0s", "kubesim.nublado.io/exit-code": "2"}
    with trio.fail_after(10):
        async with running_site() as site:
            site.store.create(res(site, "jobs", "batch"), "files", job_body("bad", exits, 0))
            job = await wait_for_condition(site, "bad", "Failed")
    failed = next(c for c in job["status"]["conditions"] if c["type"] == "Failed")
    assert failed["reason"] == "BackoffLimitExceeded"
    assert job["status"]["failed"] == 1
    assert job["status"]["active"] == 0


async def test_failed_pod_is_retried_within_the_backoff_limit() -> None:
    exits = {"kubesim.nublado.io/exit-after": "0s", "kubesim.nublado.io/exit-code": "1"}
    with trio.fail_after(10):
        async with running_site() as site:
            site.store.create(res(site, "jobs", "batch"), "files", job_body("flaky", exits, 2))
            job = await wait_for_condition(site, "flaky", "Failed")
            pods = job_pods(site, "flaky")
    assert job["status"]["failed"] == 3
    assert len({p["metadata"]["name"] for p in pods}) == 3


async def test_ingress_gets_an_address_after_the_delay(autojump_clock: Any) -> None:
    body = {
        "metadata": {"name": "web"},
        "spec": {"rules": [{"host": "example.org"}]},
    }
    config = IngressConfig(address="192.0.2.7", address_delay=3.0)
    with trio.fail_after(600):
        async with running_site(ingress_config=config) as site:
            site.store.create(res(site, "ingresses", "networking.k8s.io"), "files", body)
            await trio.sleep(2.5)
            early = site.store.get(res(site, "ingresses", "networking.k8s.io"), "files", "web")
            await trio.sleep(1)
            late = site.store.get(res(site, "ingresses", "networking.k8s.io"), "files", "web")
    assert not (early.get("status") or {}).get("loadBalancer", {}).get("ingress")
    assert late["status"]["loadBalancer"]["ingress"] == [{"ip": "192.0.2.7"}]


def gafaelfawr_ingress(user: str) -> dict[str, Any]:
    return {
        "apiVersion": "gafaelfawr.lsst.io/v1alpha1",
        "kind": "GafaelfawrIngress",
        "metadata": {"name": f"{user}-fs", "labels": {"nublado.lsst.io/user": user}},
        "config": {
            "authType": "basic",
            "baseUrl": "https://data.example.org",
            "scopes": {"all": ["write:files"]},
            "service": "nublado-files",
            "username": user,
        },
        "template": {
            "metadata": {
                "name": f"{user}-fs",
                "labels": {"nublado.lsst.io/category": "fileserver", "nublado.lsst.io/user": user},
            },
            "spec": {
                "rules": [
                    {
                        "host": "data.example.org",
                        "http": {
                            "paths": [
                                {
                                    "path": f"/files/{user}",
                                    "pathType": "Prefix",
                                    "backend": {
                                        "service": {"name": f"{user}-fs", "port": {"number": 8000}}
                                    },
                                }
                            ]
                        },
                    }
                ]
            },
        },
    }


async def test_gafaelfawr_ingress_becomes_an_owned_ingress_with_an_address() -> None:
    ingresses = ("ingresses", "networking.k8s.io")
    with trio.fail_after(10):
        async with running_site() as site:
            gi = site.store.create(
                res(site, "gafaelfawringresses", "gafaelfawr.lsst.io"),
                "files",
                gafaelfawr_ingress("alice"),
            )
            while True:
                items, _ = site.store.list(res(site, *ingresses), "files")
                if items and items[0].get("status", {}).get("loadBalancer", {}).get("ingress"):
                    break
                await trio.sleep(0.01)
    (ing,) = items
    assert ing["metadata"]["name"] == "alice-fs"
    assert ing["metadata"]["labels"]["nublado.lsst.io/category"] == "fileserver"
    assert ing["spec"]["rules"] == gafaelfawr_ingress("alice")["template"]["spec"]["rules"]
    (owner,) = ing["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == (
        "GafaelfawrIngress",
        "alice-fs",
        gi["metadata"]["uid"],
    )
    assert owner["controller"] is True
    assert (
        "username=alice" in ing["metadata"]["annotations"]["nginx.ingress.kubernetes.io/auth-url"]
    )


async def test_deleting_the_gafaelfawr_ingress_removes_its_ingress() -> None:
    ingresses = ("ingresses", "networking.k8s.io")
    gafaelfawr = ("gafaelfawringresses", "gafaelfawr.lsst.io")
    with trio.fail_after(10):
        async with running_site() as site:
            site.store.create(res(site, *gafaelfawr), "files", gafaelfawr_ingress("bob"))
            while not site.store.list(res(site, *ingresses), "files")[0]:
                await trio.sleep(0.01)
            site.store.delete(res(site, *gafaelfawr), "files", "bob-fs")
            while site.store.list(res(site, *ingresses), "files")[0]:
                await trio.sleep(0.01)
            remaining, _ = site.store.list(res(site, *ingresses), "files")
    assert remaining == []
