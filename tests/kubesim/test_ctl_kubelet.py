"""The simulated scheduler and kubelet: pod progress, events, image pulls and failures.

These tests drive the controllers directly on a :class:`~kubesim.store.Store` (through a
minimal stand-in for the Site) so that Trio's autojump clock can make minutes of simulated
delays pass instantly; what clients see over HTTP is the same store content.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import trio
import trio.testing

from kubesim import jobs, kubelet, nodes
from kubesim.kubelet import KubeletConfig
from kubesim.registry import demo_registry
from kubesim.store import Store

LAB_IMAGE = "docker.io/lsstsqre/sciplat-lab:w_2026_45"  # in the demo registry, on no node
CACHED_IMAGE = "docker.io/lsstsqre/sciplat-lab:w_2026_46"  # pre-cached on node1 only


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
async def running_site(**config: Any) -> AsyncIterator[SimSite]:
    site = SimSite()
    registry = demo_registry()
    nodes.install(site, resolve_digest=registry.digest_of)
    kubelet.install(site, KubeletConfig(**config), registry=registry)
    jobs.install(site)
    store = site.store
    store.create(store.resource("namespaces"), None, {"metadata": {"name": "ns"}})
    async with trio.open_nursery() as nursery:
        nursery.start_soon(store.run_timers)
        for run in site.controllers:
            nursery.start_soon(run, site)
        # Let the service-account controller give the namespace its ``default`` account,
        # without which the API server refuses pods.
        await trio.testing.wait_all_tasks_blocked()
        yield site
        nursery.cancel_scope.cancel()


def make_pod(name: str, image: str = LAB_IMAGE, **extra: Any) -> dict[str, Any]:
    annotations = extra.pop("annotations", None)
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "nodeSelector": {"nublado.lsst.io/lab": "true"},
        "containers": [{"name": "notebook", "image": image}],
        **extra,
    }
    metadata: dict[str, Any] = {"name": name}
    if annotations:
        metadata["annotations"] = annotations
    return {"metadata": metadata, "spec": spec}


def create(site: SimSite, pod: dict[str, Any]) -> None:
    site.store.create(site.store.resource("pods"), "ns", pod)


def pod(site: SimSite, name: str) -> dict[str, Any]:
    return site.store.get(site.store.resource("pods"), "ns", name)


def node(site: SimSite, name: str) -> dict[str, Any]:
    return site.store.get(site.store.resource("nodes"), None, name)


def events(site: SimSite, name: str) -> list[tuple[str, str]]:
    """(reason, message) of the pod's events, oldest first."""
    items, _ = site.store.list(site.store.resource("events"), "ns")
    mine = [e for e in items if e["involvedObject"]["name"] == name]
    mine.sort(key=lambda e: int(e["metadata"]["resourceVersion"]))
    return [(e["reason"], e["message"]) for e in mine]


def phase(site: SimSite, name: str) -> str | None:
    return (pod(site, name).get("status") or {}).get("phase")


async def wait_for_phase(site: SimSite, name: str, wanted: str) -> dict[str, Any]:
    while phase(site, name) != wanted:
        await trio.sleep(0.01)
    return pod(site, name)


def condition(obj: dict[str, Any], ctype: str) -> str:
    return next(c["status"] for c in obj["status"]["conditions"] if c["type"] == ctype)


async def test_pod_is_scheduled_and_runs_with_status_and_events() -> None:
    with trio.fail_after(10):
        async with running_site() as site:
            create(site, make_pod("lab"))
            running = await wait_for_phase(site, "lab", "Running")
    status = running["status"]
    assert running["spec"]["nodeName"] in ("node1", "node2")
    assert status["podIP"].startswith("10.244.")
    assert status["hostIP"].startswith("10.0.0.")
    assert status["startTime"]
    for ctype in ("PodScheduled", "Initialized", "ContainersReady", "Ready"):
        assert condition(running, ctype) == "True"
    (container,) = status["containerStatuses"]
    assert container["ready"] is True
    assert "running" in container["state"]
    assert container["imageID"].startswith("docker.io/lsstsqre/sciplat-lab@sha256:")
    assert [reason for reason, _ in events(site, "lab")] == [
        "Scheduled",
        "Pulling",
        "Pulled",
        "Created",
        "Started",
    ]
    assert (
        events(site, "lab")[0][1]
        == f"Successfully assigned ns/lab to {running['spec']['nodeName']}"
    )
    assert events(site, "lab")[1][1] == f'Pulling image "{LAB_IMAGE}"'


async def test_tainted_node_only_takes_pods_that_tolerate_it() -> None:
    gpu = {"nodeSelector": {"nublado.lsst.io/gpu": "true"}}
    toleration = [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]
    with trio.fail_after(10):
        async with running_site() as site:
            create(site, make_pod("tolerant", **gpu, tolerations=toleration))
            create(site, make_pod("intolerant", **gpu))
            tolerant = await wait_for_phase(site, "tolerant", "Running")
            await trio.sleep(0.1)
            intolerant = pod(site, "intolerant")
    assert tolerant["spec"]["nodeName"] == "node3"
    assert "nodeName" not in intolerant["spec"]
    assert intolerant["status"]["phase"] == "Pending"
    assert condition(intolerant, "PodScheduled") == "False"
    assert events(site, "intolerant")[0][0] == "FailedScheduling"


async def test_pull_takes_the_configured_delay_and_caches_the_image(autojump_clock: Any) -> None:
    with trio.fail_after(600):
        async with running_site(pull_delays={"*w_2026_45": 30.0}) as site:
            create(site, make_pod("first", nodeName="node2"))
            await trio.sleep(29)
            pending = phase(site, "first")
            await wait_for_phase(site, "first", "Running")
            elapsed = trio.current_time()
            create(site, make_pod("second", nodeName="node2"))
            await wait_for_phase(site, "second", "Running")
            second_took = trio.current_time() - elapsed
            cached = node(site, "node2")["status"]["images"]
    assert pending == "Pending"
    assert second_took < 1
    assert any("docker.io/lsstsqre/sciplat-lab:w_2026_45" in i["names"] for i in cached)
    entry = next(i for i in cached if LAB_IMAGE in i["names"])
    assert entry["names"][0].startswith("docker.io/lsstsqre/sciplat-lab@sha256:")
    assert entry["sizeBytes"] == 6_900_000_000
    assert ("Pulled", f'Container image "{LAB_IMAGE}" already present on machine') in events(
        site, "second"
    )


async def test_image_already_on_the_node_is_not_pulled(autojump_clock: Any) -> None:
    with trio.fail_after(600):
        async with running_site(pull_delay=100.0) as site:
            create(site, make_pod("lab", image=CACHED_IMAGE, nodeName="node1"))
            await wait_for_phase(site, "lab", "Running")
    assert trio.current_time() < 100
    assert "Pulling" not in [reason for reason, _ in events(site, "lab")]


async def test_image_given_by_digest_is_found_on_the_node_by_digest() -> None:
    digest = demo_registry().digest_of(CACHED_IMAGE)
    image = f"registry.example.org/other/name:anything@{digest}"
    with trio.fail_after(10):
        async with running_site() as site:
            create(site, make_pod("prepull", image=image, nodeName="node1"))
            await wait_for_phase(site, "prepull", "Running")
    assert "Pulling" not in [reason for reason, _ in events(site, "prepull")]


async def test_init_containers_complete_before_the_containers_start() -> None:
    init = [{"name": "setup", "image": CACHED_IMAGE}]
    with trio.fail_after(10):
        async with running_site() as site:
            create(site, make_pod("lab", initContainers=init))
            running = await wait_for_phase(site, "lab", "Running")
    (setup,) = running["status"]["initContainerStatuses"]
    assert setup["state"]["terminated"]["reason"] == "Completed"
    assert setup["state"]["terminated"]["exitCode"] == 0
    started = [m for r, m in events(site, "lab") if r == "Started"]
    assert started == ["Started container setup", "Started container notebook"]


async def test_bad_image_goes_from_err_image_pull_to_back_off(autojump_clock: Any) -> None:
    image = "docker.io/library/does-not-exist:1"
    with trio.fail_after(600):
        async with running_site(pull_backoff=10.0) as site:
            create(site, make_pod("lab", image=image))
            await trio.sleep(5)
            first = pod(site, "lab")["status"]["containerStatuses"][0]["state"]
            await trio.sleep(10)
            later = pod(site, "lab")
    assert first["waiting"]["reason"] == "ErrImagePull"
    assert (
        later["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ImagePullBackOff"
    )
    assert later["status"]["phase"] == "Pending"
    reasons = [r for r, _ in events(site, "lab")]
    assert reasons[-5:] == ["Pulling", "Failed", "Failed", "BackOff", "Failed"]


async def test_unknown_tag_of_a_known_repository_fails_to_pull() -> None:
    with trio.fail_after(10):
        async with running_site(pull_backoff=0.0) as site:
            create(site, make_pod("lab", image="docker.io/lsstsqre/sciplat-lab:w_1999_01"))
            while not any(r == "BackOff" for r, _ in events(site, "lab")):
                await trio.sleep(0.01)
    assert phase(site, "lab") == "Pending"


async def test_fail_annotation_makes_the_pod_fail() -> None:
    annotations = {"kubesim.nublado.io/fail": "OutOfmemory"}
    with trio.fail_after(10):
        async with running_site() as site:
            create(site, make_pod("lab", annotations=annotations))
            failed = await wait_for_phase(site, "lab", "Failed")
    assert failed["status"]["reason"] == "OutOfmemory"
    terminated = failed["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["reason"] == "StartError"
    assert ("Failed", "Error: OutOfmemory") in events(site, "lab")


async def test_exit_after_annotation_ends_the_pod_with_its_code(autojump_clock: Any) -> None:
    ok = {"kubesim.nublado.io/exit-after": "5s"}
    bad = {"kubesim.nublado.io/exit-after": "5s", "kubesim.nublado.io/exit-code": "3"}
    with trio.fail_after(600):
        async with running_site() as site:
            create(site, make_pod("ok", annotations=ok))
            create(site, make_pod("bad", annotations=bad))
            await trio.sleep(4.5)
            before = (phase(site, "ok"), phase(site, "bad"))
            succeeded = await wait_for_phase(site, "ok", "Succeeded")
            failed = await wait_for_phase(site, "bad", "Failed")
    assert before == ("Running", "Running")
    assert trio.current_time() < 6
    assert succeeded["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
    terminated = failed["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (3, "Error")


async def test_bin_true_pod_on_a_given_node_succeeds_without_the_scheduler() -> None:
    container = {"name": "prepull", "image": LAB_IMAGE, "command": ["/bin/true"]}
    prepull = make_pod("prepull", nodeName="node2", containers=[container])
    with trio.fail_after(10):
        async with running_site() as site:
            create(site, prepull)
            done = await wait_for_phase(site, "prepull", "Succeeded")
            images = node(site, "node2")["status"]["images"]
    assert done["spec"]["nodeName"] == "node2"
    assert "Scheduled" not in [r for r, _ in events(site, "prepull")]
    assert any(LAB_IMAGE in i["names"] for i in images)


async def test_frozen_kubelet_makes_no_progress_until_thawed(autojump_clock: Any) -> None:
    with trio.fail_after(600):
        async with running_site() as site:
            site.faults.kubelet_frozen = True
            create(site, make_pod("lab"))
            await trio.sleep(100)
            frozen = pod(site, "lab")
            site.faults.kubelet_frozen = False
            await wait_for_phase(site, "lab", "Running")
    assert "nodeName" not in frozen["spec"]
    assert "status" not in frozen or "startTime" not in frozen["status"]


async def test_deleting_a_running_pod_stops_its_container() -> None:
    with trio.fail_after(10):
        async with running_site() as site:
            create(site, make_pod("lab"))
            await wait_for_phase(site, "lab", "Running")
            site.store.delete(site.store.resource("pods"), "ns", "lab")
            await trio.sleep(0.05)
    assert ("Killing", "Stopping container notebook") in events(site, "lab")


async def test_deleted_pod_goes_once_its_containers_exit_not_at_the_end_of_grace(
    autojump_clock: Any,
) -> None:
    store_events: list[tuple[str, dict[str, Any]]] = []
    async with running_site(termination_delay=2.0) as site:
        pods = site.store.resource("pods")
        create(site, make_pod("lab", terminationGracePeriodSeconds=600))
        await wait_for_phase(site, "lab", "Running")
        _, rv = site.store.list(pods, "ns")
        deleted_at = trio.current_time()
        site.store.delete(pods, "ns", "lab")
        async with site.store.watch(pods, "ns", resource_version=rv) as watch:
            async for event in watch:
                store_events.append((event.type, event.object))
                if event.type == "DELETED":
                    break
        gone_after = trio.current_time() - deleted_at
    # The containers took the configured 2 s to exit, far less than the 600 s grace.
    assert 1.99 <= gone_after < 3.0
    last_status = store_events[-2][1]["status"]
    (container,) = last_status["containerStatuses"]
    assert container["state"]["terminated"]["exitCode"] == 0
    assert container["state"]["terminated"]["reason"] == "Completed"
    assert container["ready"] is False
    assert condition(store_events[-2][1], "Ready") == "False"


async def test_grace_shorter_than_the_exit_ends_the_pod_first(autojump_clock: Any) -> None:
    async with running_site(termination_delay=60.0) as site:
        pods = site.store.resource("pods")
        create(site, make_pod("lab", terminationGracePeriodSeconds=5))
        await wait_for_phase(site, "lab", "Running")
        deleted_at = trio.current_time()
        site.store.delete(pods, "ns", "lab")
        while site.store.find(pods, "ns", "lab") is not None:
            await trio.sleep(0.1)
        gone_after = trio.current_time() - deleted_at
    # Killed at the end of the grace, still running (its containers never got to exit).
    assert 4.99 <= gone_after < 6.0
