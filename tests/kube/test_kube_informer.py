"""Shared informers: one cluster-wide watch, changes routed to the view of each object.

Against kubesim over real HTTP: views see the objects of every namespace the selector
matches, nothing else; a relist after expired resource versions and a restart of the
informer turn into changes for exactly the objects that changed; a refused watch reaches
every view; the informer holds one watch connection whatever the number of views; and a
group view (the pods of one file server's Job, whose names are generated) follows every
object of its group, also as objects join and leave it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import httpx
import pytest
import trio

from actors.kube import KubeClient
from actors.kube.informer import GroupView, Informer, InformerFeed, InformerSpec, KeyView, ObjectKey
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

    async def next_group(self, view: GroupView[tuple[str, str]]) -> dict[str, str]:
        """The group's next state, as pod name → phase."""
        await self.changed.wait()
        self.changed = trio.Event()
        return {name: phase for (_ns, name), (_user, phase) in view.read().items()}


@asynccontextmanager
async def running_informer(
    kube: KubeClient,
    feed: InformerFeed[Any],
    site: Site,
    digest: Callable[[dict[str, Any]], Any] = _phase,
) -> AsyncIterator[ActorRef]:
    """The informer of lab pods, on a site whose kubelet is frozen (pods stay as tests set
    them)."""
    site.faults.kubelet_frozen = True
    spec = InformerSpec(
        open_watch=lambda selector, reconnect: kube.pods.watch_raw(
            None, label_selector=selector, reconnect_timeout=reconnect
        ),
        label_selector={"nublado.lsst.io/category": "lab"},
        digest=digest,
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


async def test_a_resync_returns_once_a_fresh_list_holds_every_earlier_write(
    kube: KubeClient, site: Site
) -> None:
    """What a new leader relies on: after ``resync`` the index holds every write made before
    it, whether or not the watch had delivered it yet, and the views stay subscribed."""
    feed: InformerFeed[str] = InformerFeed("pods")
    with trio.fail_after(CEILING):
        await _namespaces(kube, "inf-r")
        async with running_informer(kube, feed, site) as informer:
            await feed.ready.wait()
            owner = Owner()
            view = feed.watch(("inf-r", "lab"), owner.notify)
            lists = informer.snapshot().details["lists"]
            await kube.pods.create("inf-r", pod("lab", LABELS))
            await feed.resync()
            assert feed.get(("inf-r", "lab")) == "Pending"
            assert informer.snapshot().details["lists"] == lists + 1
            # The watch goes on after the list, and the view still hears it.
            _set_phase(site, "inf-r", "Running")
            while view.read() != "Running":
                await owner.next_read(view)


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


def _user_and_phase(obj: dict[str, Any]) -> tuple[str, str]:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return str(labels.get("nublado.lsst.io/user") or ""), _phase(obj)


def _by_user(key: ObjectKey, state: tuple[str, str]) -> ObjectKey | None:
    return (key[0], state[0]) if state[0] else None


async def test_a_group_view_follows_every_object_of_its_group(kube: KubeClient, site: Site) -> None:
    feed: InformerFeed[tuple[str, str]] = InformerFeed("pods", group=_by_user)
    with trio.fail_after(CEILING):
        await _namespaces(kube, "inf-g")
        await kube.pods.create("inf-g", pod("job-a1", _user("alpha")))
        async with running_informer(kube, feed, site, _user_and_phase):
            await feed.ready.wait()
            alpha, beta = Owner(), Owner()
            view_alpha = feed.watch_group(("inf-g", "alpha"), alpha.notify)
            view_beta = feed.watch_group(("inf-g", "beta"), beta.notify)
            assert view_alpha.known
            assert {key[1] for key in view_alpha.read()} == {"job-a1"}
            assert view_beta.read() == {}
            # A second object joins the group under a name nobody could have guessed.
            await kube.pods.create("inf-g", pod("job-a2", _user("alpha")))
            assert await alpha.next_group(view_alpha) == {"job-a1": "Pending", "job-a2": "Pending"}
            _set_phase(site, "inf-g", "Succeeded", name="job-a1")
            assert await alpha.next_group(view_alpha) == {
                "job-a1": "Succeeded",
                "job-a2": "Pending",
            }
            await kube.pods.delete("inf-g", "job-a1", grace_period=0)
            assert await alpha.next_group(view_alpha) == {"job-a2": "Pending"}
            # Relabelled to another user: it leaves one group and joins the other.
            pods = site.store.resource("pods")
            site.store.patch(
                pods, "inf-g", "job-a2", {"metadata": {"labels": {"nublado.lsst.io/user": "beta"}}}
            )
            assert await alpha.next_group(view_alpha) == {}
            assert await beta.next_group(view_beta) == {"job-a2": "Pending"}
            assert beta.notified == 1, "changes to another group reached this view"


def test_a_relist_delivers_only_to_the_groups_that_changed() -> None:
    feed: InformerFeed[tuple[str, str]] = InformerFeed("pods", group=_by_user)
    feed.replace({("ns", "a1"): ("alpha", "Running"), ("ns", "b1"): ("beta", "Running")})
    told: list[str] = []
    alpha = feed.watch_group(("ns", "alpha"), lambda: told.append("alpha"))
    beta = feed.watch_group(("ns", "beta"), lambda: told.append("beta"))
    assert alpha.read() == {("ns", "a1"): ("alpha", "Running")}
    beta.read()
    # What a relist after a missed stretch shows: alpha's pod was replaced by another.
    feed.replace({("ns", "a2"): ("alpha", "Pending"), ("ns", "b1"): ("beta", "Running")})
    assert told == ["alpha"]
    assert alpha.read() == {("ns", "a2"): ("alpha", "Pending")}
    feed.put(("ns", "b1"), None)
    assert told == ["alpha", "beta"]
    assert beta.read() == {}
    assert feed.watched == 2
    feed.unwatch(beta)
    feed.put(("ns", "b2"), ("beta", "Pending"))
    assert told == ["alpha", "beta"], "a view given back was still notified"


def test_a_feed_without_groups_refuses_group_views() -> None:
    feed: InformerFeed[str] = InformerFeed("pods")
    with pytest.raises(ValueError, match="no groups"):
        feed.watch_group(("ns", "alpha"), lambda: None)


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


def _set_phase(site: Site, namespace: str, phase: str, *, name: str = "lab") -> None:
    """What the kubelet would do: write the pod's phase through its status subresource."""
    pods = site.store.resource("pods")
    site.store.patch(pods, namespace, name, {"status": {"phase": phase}}, subresource="status")


def _user(name: str) -> dict[str, str]:
    return {"nublado.lsst.io/category": "lab", "nublado.lsst.io/user": name}


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
