"""The relay of pod Events: one cluster-wide watch, each message to the follower of its pod.

Against kubesim over real HTTP: a follower hears its own pod's Events in order and nobody
else's, namespaces outside the prefix are ignored, one watch connection serves every
follower, and a follower that left (or whose mailbox is full) is handled without stopping.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import httpx
import trio

from actors.kube import KubeClient
from actors.kube.event_relay import EventRelay, PodEventRelay
from actors.runtime import (
    ActorRef,
    ActorStopped,
    ActorSystem,
    MailboxFull,
    RestartPolicy,
    Supervisor,
)
from kubesim.site import Site

from .objects import namespace

CEILING = 20
_uids = itertools.count()


@asynccontextmanager
async def running_relay(kube: KubeClient, relay: PodEventRelay) -> AsyncIterator[ActorRef]:
    ref = ActorRef(
        "relay/pod-events",
        partial(
            EventRelay,
            relay,
            lambda selector, version, reconnect: kube.events.watch_raw(
                None, field_selector=selector, resource_version=version, reconnect_timeout=reconnect
            ),
            lambda selector: kube.events.current_version(None, field_selector=selector),
        ),
    )
    system = ActorSystem(Supervisor("root", [(ref, RestartPolicy.PERMANENT)]))
    async with trio.open_nursery() as nursery:
        await nursery.start(system.run)
        yield ref
        nursery.cancel_scope.cancel()


def _event(namespace: str, pod: str, message: str, kind: str = "Pod") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{pod}.{next(_uids)}"},
        "involvedObject": {"kind": kind, "namespace": namespace, "name": pod},
        "reason": "Testing",
        "message": message,
        "type": "Normal",
    }


def _emit(site: Site, ns: str, pod: str, message: str, kind: str = "Pod") -> None:
    site.store.create(site.store.resource("events"), ns, _event(ns, pod, message, kind))


async def _watching(relay_ref: ActorRef) -> None:
    """Wait until the relay's watch is past its first list: from then on nothing is missed."""
    while relay_ref.snapshot().phase != "watching":
        await trio.sleep(0.01)


async def test_a_follower_hears_its_pods_events_in_order_and_nothing_else(
    kube: KubeClient, site: Site
) -> None:
    relay = PodEventRelay(namespace_prefix="lab-")
    heard: list[str] = []
    with trio.fail_after(CEILING):
        for name in ("lab-a", "lab-b", "other-a"):
            await kube.namespaces.create(namespace(name))
        async with running_relay(kube, relay) as ref:
            await _watching(ref)
            relay.follow(("lab-a", "a-nb"), heard.append)
            relay.follow(("other-a", "a-nb"), heard.append)
            _emit(site, "lab-a", "a-nb", "first")
            _emit(site, "lab-b", "b-nb", "someone else's")
            _emit(site, "lab-a", "a-nb-other", "another pod")
            _emit(site, "lab-a", "a-nb", "about a service", kind="Service")
            _emit(site, "other-a", "a-nb", "outside the prefix")
            _emit(site, "lab-a", "a-nb", "second")
            while len(heard) < 2:
                await trio.sleep(0.01)
            await trio.sleep(0.2)
    assert heard == ["first", "second"]


async def test_one_watch_connection_serves_every_follower(kube: KubeClient, site: Site) -> None:
    relay = PodEventRelay(namespace_prefix="many-")
    names = [f"many-{i}" for i in range(20)]
    heard: dict[str, list[str]] = {name: [] for name in names}
    with trio.fail_after(CEILING):
        for name in names:
            await kube.namespaces.create(namespace(name))
        async with running_relay(kube, relay) as ref:
            await _watching(ref)
            for name in names:
                relay.follow((name, "nb"), heard[name].append)
            for name in names:
                _emit(site, name, "nb", f"hello {name}")
            while any(not messages for messages in heard.values()):
                await trio.sleep(0.01)
            async with httpx.AsyncClient(base_url=str(site.url)) as admin:
                stats = (await admin.get("/_kubesim/stats")).json()
    assert heard == {name: [f"hello {name}"] for name in names}
    assert stats["watches"]["open"].get("events") == 1


def test_followers_that_left_or_are_busy_do_not_stop_the_relay() -> None:
    relay = PodEventRelay()
    kept: list[str] = []

    def busy(_message: str) -> None:
        raise MailboxFull("lab/busy", 1, 1.0)

    def gone(_message: str) -> None:
        raise ActorStopped("lab/gone")

    leaving = relay.follow(("ns", "leaving"), kept.append)
    relay.follow(("ns", "busy"), busy)
    relay.follow(("ns", "gone"), gone)
    relay.unfollow(leaving)
    for pod in ("leaving", "busy", "gone", "gone"):
        relay.relay(_event("ns", pod, "hi"))
    assert kept == []
    assert relay.dropped == 1
    assert relay.followed == 1, "a stopped follower is dropped at its first message"


async def test_starting_reads_where_now_is_not_every_event_of_the_cluster(
    kube: KubeClient, site: Site
) -> None:
    """The relay tells nobody about past Events, so it must not list them all to start."""
    relay = PodEventRelay(namespace_prefix="old-")
    with trio.fail_after(CEILING):
        await kube.namespaces.create(namespace("old-a"))
        for index in range(1200):  # more than two pages of a list
            _emit(site, "old-a", "nb", f"history {index}")
        heard: list[str] = []
        site.stats.reset()
        async with running_relay(kube, relay) as ref:
            await _watching(ref)
            relay.follow(("old-a", "nb"), heard.append)
            _emit(site, "old-a", "nb", "news")
            while not heard:
                await trio.sleep(0.01)
        assert site.stats.count("list", "events") == 1
    assert heard == ["news"]
