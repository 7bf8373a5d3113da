"""Pod phase waits and pod event messages, driven by kubesim's simulated kubelet."""

from __future__ import annotations

import trio
from kubernetes.client import CoreV1Event, V1ObjectReference

from actors.kube import PREPULL_PHASES, KubeClient
from kubesim.site import Site

from .objects import meta, pod


async def test_pod_phase_wait_returns_the_first_phase_after_pending(
    kube: KubeClient, ns: str
) -> None:
    with trio.fail_after(20):
        await kube.pods.create(ns, pod("lab"))
        assert await kube.wait_for_pod_phase(ns, "lab") == "Running"


async def test_pod_phase_wait_reports_a_missing_pod_as_gone(kube: KubeClient, ns: str) -> None:
    with trio.fail_after(5):
        assert await kube.wait_for_pod_phase(ns, "never-created") is None


async def test_pod_phase_wait_reports_deletion_as_gone(
    kube: KubeClient, ns: str, site: Site
) -> None:
    with trio.fail_after(20):
        await kube.pods.create(ns, pod("lab"))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_delete_soon, kube, ns, "lab")
            assert await kube.wait_for_pod_phase(ns, "lab", wait_through=PREPULL_PHASES) is None


async def _delete_soon(kube: KubeClient, ns: str, name: str) -> None:
    await trio.sleep(0.2)
    await kube.pods.delete(ns, name, grace_period=0)


def _event(name: str, pod_name: str, message: str) -> CoreV1Event:
    return CoreV1Event(
        metadata=meta(name),
        involved_object=V1ObjectReference(kind="Pod", name=pod_name),
        message=message,
        reason="Progress",
    )
