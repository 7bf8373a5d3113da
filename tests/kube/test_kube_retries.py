"""Retries, deadlines and error reporting against injected kubesim faults."""

from __future__ import annotations

import socket

import pytest
import trio

from actors.kube import KubeClient, KubernetesError
from kubesim.site import Site

from .objects import pod


async def test_transient_server_errors_are_retried(kube: KubeClient, ns: str, site: Site) -> None:
    site.faults.add_error(verb="get", resource="pods", status=503, count=2)
    site.faults.add_error(verb="create", resource="pods", status=500, count=1)
    with trio.fail_after(10):
        created = await kube.pods.create(ns, pod("p"))
        assert await kube.pods.read(ns, "p") is not None
    assert created.metadata is not None
    assert created.metadata.name == "p"


async def test_throttling_waits_for_retry_after(kube: KubeClient, ns: str, site: Site) -> None:
    site.faults.add_error(verb="list", resource="pods", status=429, retry_after=1, count=1)
    start = trio.current_time()
    with trio.fail_after(10):
        assert await kube.pods.list(ns) == []
    assert trio.current_time() - start >= 0.9


async def test_client_errors_are_not_retried(kube: KubeClient, ns: str, site: Site) -> None:
    site.faults.add_error(verb="get", resource="pods", status=403, count=1)
    with trio.fail_after(5):
        with pytest.raises(KubernetesError) as caught:
            await kube.pods.read(ns, "p")
        # Had the client retried, the single injected failure would have been absorbed.
        assert await kube.pods.read(ns, "p") is None
    assert caught.value.status == 403
    assert caught.value.reason == "Forbidden"
    assert "injected" in caught.value.message
    assert not caught.value.transient


async def test_retries_give_up_with_the_last_error(kube: KubeClient, ns: str, site: Site) -> None:
    site.faults.add_error(verb="get", resource="pods", status=500)
    with trio.fail_after(10), pytest.raises(KubernetesError) as caught:
        await kube.pods.read(ns, "p")
    assert caught.value.status == 500
    assert caught.value.transient


async def test_retries_stop_before_the_callers_deadline(
    kube: KubeClient, ns: str, site: Site
) -> None:
    site.faults.add_error(verb="get", resource="pods", status=503)
    start = trio.current_time()
    with trio.fail_after(0.5), pytest.raises(KubernetesError) as caught:
        await kube.pods.read(ns, "p")
    assert caught.value.status == 503
    assert trio.current_time() - start < 0.5


async def test_a_slow_server_is_abandoned_at_the_deadline(
    kube: KubeClient, ns: str, site: Site
) -> None:
    site.faults.add_latency(5, verb="get", resource="pods")
    start = trio.current_time()
    with trio.move_on_after(0.3) as scope:
        await kube.pods.read(ns, "p")
    assert scope.cancelled_caught
    assert trio.current_time() - start < 1.0


async def test_unreachable_server_raises_without_status() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with KubeClient.for_url(f"http://127.0.0.1:{port}", max_attempts=3) as kube:
        with trio.fail_after(10), pytest.raises(KubernetesError) as caught:
            await kube.namespaces.read("x")
    assert caught.value.status is None
    assert caught.value.transient
