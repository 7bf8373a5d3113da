"""Shared informers: one cluster-wide watch, changes routed to the view of each object.

Against kubesim over real HTTP: views see the objects of every namespace the selector
matches, nothing else; a relist after expired resource versions and a restart of the
informer turn into changes for exactly the objects that changed; a refused watch reaches
every view; and the informer holds one watch connection whatever the number of views.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import httpx
import trio

from actors.kube import KubeClient
from actors.kube.informer import Informer, InformerFeed, InformerSpec, KeyView
from actors.runtime import (
    ActorRef,
    ActorStopped,
    ActorSystem,
    MailboxFull,
    RestartPolicy,
    Supervisor,
)
from kubesim.site import Site

from .objects import LABELS, namespace, pod

CEILING = 20


def _phase(obj: dict[str, Any]) -> str:
    return str((obj.get("status") or {}).get("phase") or "Pending")


class Owner:
    """A subscriber that records every notification and reads its view when told."""

    def __init__(self) -> None:
        self.notified = 0
        self.changed = trio.Event()

    def notify(self) -> None:
        self.notified += 1
        self.changed.set()

    async def next_read(self, view: KeyView[str]) -> str | None:
        await self.changed.wait()
        self.changed = trio.Event()
        return view.read()


@asynccontextmanager
async def running_informer(
    kube: KubeClient, feed: InformerFeed[str], site: Site
) -> AsyncIterator[ActorRef]:
    """The informer of lab pods, on a site whose kubelet is frozen (pods stay as tests set
    them)."""
    site.faults.kubelet_frozen = True
    spec = InformerSpec(
        open_watch=lambda selector, reconnect: kube.pods.watch_raw(
            None, label_selector=selector, reconnect_timeout=reconnect
        ),
        label_selector={"nublado.lsst.io/category": "lab"},
        digest=_phase,
    )
    ref = ActorRef("informer/pods", partial(Informer, feed, spec))
    system = ActorSystem(Supervisor("root", [(ref, RestartPolicy.PERMANENT)]))
    async with trio.open_nursery() as nursery:
        await nursery.start(system.run)
        yield ref
        nursery.cancel_scope.cancel()


async def _namespaces(kube: KubeClient, *names: str) -> None:
    for name in names:
        await kube.namespaces.create(namespace(name))


async def test_views_follow_their_object_across_namespaces_and_ignore_others(
    kube: KubeClient, site: Site
) -> None:
    feed: InformerFeed[str] = InformerFeed("pods")
    with trio.fail_after(CEILING):
        await _namespaces(kube, "inf-a", "inf-b")
        await kube.pods.create("inf-a", pod("lab", LABELS))
        async with running_informer(kube, feed, site):
            await feed.ready.wait()
            a, b = Owner(), Owner()
            view_a = feed.watch(("inf-a", "lab"), a.notify)
            view_b = feed.watch(("inf-b", "lab"), b.notify)
            assert view_a.known
            assert view_a.read() == "Pending"
            assert view_b.known
            assert view_b.read() is None
            await kube.pods.create("inf-b", pod("lab", LABELS))
            await kube.pods.create("inf-b", pod("other", {"nublado.lsst.io/category": "x"}))
            assert await b.next_read(view_b) == "Pending"
            _set_phase(site, "inf-b", "Running")
            assert await b.next_read(view_b) == "Running"
            await kube.pods.delete("inf-b", "lab", grace_period=0)
            assert await b.next_read(view_b) is None
            assert ("inf-b", "other") not in dict(feed.items()), "selector not applied"
            assert a.notified == 0, "a change to another object reached this view"


async def test_changes_between_reads_are_coalesced_into_the_latest(
    kube: KubeClient, site: Site
) -> None:
    feed: InformerFeed[str] = InformerFeed("pods")
    with trio.fail_after(CEILING):
        await _namespaces(kube, "inf-c")
        async with running_informer(kube, feed, site):
            await feed.ready.wait()
            owner = Owner()
            view = feed.watch(("inf-c", "lab"), owner.notify)
            await kube.pods.create("inf-c", pod("lab", LABELS))
            for phase in ("Running", "Succeeded"):
                _set_phase(site, "inf-c", phase)
            while feed.get(("inf-c", "lab")) != "Succeeded":
                await trio.sleep(0.01)
            assert owner.notified == 1, "unread changes must not notify again"
            assert view.read() == "Succeeded"


async def test_a_relist_after_expired_versions_delivers_only_the_difference(
    kube: KubeClient, site: Site
) -> None:
    feed: InformerFeed[str] = InformerFeed("pods")
    with trio.fail_after(CEILING):
        await _namespaces(kube, "inf-d", "inf-e")
        await kube.pods.create("inf-d", pod("lab", LABELS))
        await kube.pods.create("inf-e", pod("lab", LABELS))
        async with running_informer(kube, feed, site) as informer:
            await feed.ready.wait()
            kept, gone = Owner(), Owner()
            view_kept = feed.watch(("inf-d", "lab"), kept.notify)
            view_gone = feed.watch(("inf-e", "lab"), gone.notify)
            # Delete behind a cut watch whose version then expires: only a relist can tell.
            site.faults.add_error(verb="watch", resource="pods", status=503, count=50)
            site.faults.drop_watches()
            site.store.delete(site.store.resource("pods"), "inf-e", "lab", grace_period_seconds=0)
            site.faults.expire_resource_versions()
            site.faults.errors.clear()
            assert await gone.next_read(view_gone) is None
            lists = informer.snapshot().details["lists"]
            assert lists >= 2, "the change was not found by a relist"
            assert kept.notified == 0, "an unchanged object was delivered again"
            assert view_kept.read() == "Pending"


async def test_a_restarted_informer_keeps_its_views_and_delivers_what_changed(
    kube: KubeClient, site: Site
) -> None:
    feed: InformerFeed[str] = InformerFeed("pods")
    with trio.fail_after(CEILING):
        await _namespaces(kube, "inf-f")
        async with running_informer(kube, feed, site) as informer:
            await feed.ready.wait()
            owner = Owner()
            view = feed.watch(("inf-f", "lab"), owner.notify)
            # A 403 makes the informer report the refusal and wait; the pod appears meanwhile.
            site.faults.add_error(verb="watch", resource="pods", status=403)
            site.faults.add_error(verb="list", resource="pods", status=403)
            site.faults.drop_watches()
            await owner.next_read(view)
            assert view.error is not None
            assert view.error.status == 403
            site.store.create(site.store.resource("pods"), "inf-f", _raw_pod("lab"))
            site.faults.errors.clear()
            assert await owner.next_read(view) == "Pending"
            assert view.error is None
            assert informer.snapshot().details["refusals"] >= 1


async def test_one_watch_connection_whatever_the_number_of_views(
    kube: KubeClient, site: Site
) -> None:
    feed: InformerFeed[str] = InformerFeed("pods")
    with trio.fail_after(CEILING):
        names = [f"inf-many-{i}" for i in range(30)]
        await _namespaces(kube, *names)
        async with running_informer(kube, feed, site):
            await feed.ready.wait()
            owners = {name: Owner() for name in names}
            views = {name: feed.watch((name, "lab"), owners[name].notify) for name in names}
            for name in names:
                await kube.pods.create(name, pod("lab", LABELS))
            for name in names:
                assert await owners[name].next_read(views[name]) == "Pending"
            assert await _open_watches(site) == 1


def test_a_full_mailbox_is_retried_and_a_stopped_owner_is_dropped() -> None:
    feed: InformerFeed[str] = InformerFeed("pods")
    feed.replace({})
    attempts: list[str] = []

    def full() -> None:
        attempts.append("full")
        raise MailboxFull("lab/x", 1, 1.0)

    def stopped() -> None:
        raise ActorStopped("lab/y")

    busy = feed.watch(("ns", "x"), full)
    gone = feed.watch(("ns", "y"), stopped)
    feed.put(("ns", "x"), "Running")
    feed.put(("ns", "y"), "Running")
    assert feed.watched == 1, "a stopped owner's view is dropped"
    feed.retry_notifications()
    assert attempts == ["full", "full"]
    assert busy.read() == "Running"
    feed.put(("ns", "y"), "Failed")
    assert gone.read() == "Running", "a dropped view was still updated"


def _set_phase(site: Site, namespace: str, phase: str) -> None:
    """What the kubelet would do: write the pod's phase through its status subresource."""
    pods = site.store.resource("pods")
    site.store.patch(pods, namespace, "lab", {"status": {"phase": phase}}, subresource="status")


async def _open_watches(site: Site) -> int:
    """Open watch connections, as kubesim's statistics count them."""
    async with httpx.AsyncClient(base_url=str(site.url)) as admin:
        stats = (await admin.get("/_kubesim/stats")).json()
    count: int = stats["watches"]["open_total"]
    return count


def _raw_pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": dict(LABELS)},
        "spec": {"containers": [{"name": "main", "image": "example/lab:1"}]},
    }
