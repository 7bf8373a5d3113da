"""Watch guarantees, end to end: resume without loss or duplicates, relist on 410 in both
forms, restarts after server timeouts, dropped connections and silence."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from kubernetes.client import V1ConfigMap

from actors.kube import KubeClient, KubernetesError, Watch, WatchEvent, WatchSync
from kubesim.site import Site, run_site

from .conftest import site_config
from .objects import meta, name_of, namespace

Item = WatchEvent[V1ConfigMap] | WatchSync[V1ConfigMap]


def configmap(name: str) -> V1ConfigMap:
    return V1ConfigMap(metadata=meta(name), data={"v": name})


async def _pump(watch: Watch[Any], send: trio.MemorySendChannel[Any]) -> None:
    async with watch, send:
        async for item in watch:
            await send.send(item)


async def _next_event(receive: trio.MemoryReceiveChannel[Item]) -> Item:
    with trio.fail_after(5):
        return await receive.receive()


async def _drop_open_watch(site: Site) -> None:
    """Cut the watch connection once it is open (it may still be connecting)."""
    while site.faults.drop_watches() == 0:
        await trio.sleep(0.01)


def _store_create(site: Site, ns: str, name: str) -> None:
    """Create directly in the simulated store: synchronous, so no watch can reconnect
    between this and the next fault."""
    site.store.create(
        site.store.resource("configmaps"),
        ns,
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}},
    )


async def test_watch_starts_with_the_current_state_then_streams_changes(
    kube: KubeClient, ns: str
) -> None:
    with trio.fail_after(10):
        await kube.config_maps.create(ns, configmap("before"))
        async with kube.config_maps.watch(ns) as events:
            first = await anext(events)
            assert isinstance(first, WatchSync)
            assert not first.relisted
            assert [name_of(o) for o in first.objects] == ["before"]
            await kube.config_maps.create(ns, configmap("after"))
            await kube.config_maps.delete(ns, "before")
            seen = [await anext(events), await anext(events)]
    assert [(e.type, name_of(e.object)) for e in seen if isinstance(e, WatchEvent)] == [
        ("ADDED", "after"),
        ("DELETED", "before"),
    ]


async def test_watch_from_a_resource_version_sends_only_later_changes(
    kube: KubeClient, ns: str
) -> None:
    with trio.fail_after(10):
        old = await kube.config_maps.create(ns, configmap("old"))
        assert old.metadata is not None
        await kube.config_maps.create(ns, configmap("new"))
        watch = kube.config_maps.watch(ns, resource_version=old.metadata.resource_version)
        async with watch as events:
            item = await anext(events)
    assert isinstance(item, WatchEvent)
    assert (item.type, name_of(item.object)) == ("ADDED", "new")


async def test_dropped_connections_lose_and_repeat_nothing(
    kube: KubeClient, ns: str, site: Site
) -> None:
    names = [f"cm-{i}" for i in range(12)]
    send, receive = trio.open_memory_channel[Item](100)
    watch = kube.config_maps.watch(ns)
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_pump, watch, send)
            assert isinstance(await _next_event(receive), WatchSync)
            for i, name in enumerate(names):
                await kube.config_maps.create(ns, configmap(name))
                if i % 3 == 0:
                    await _drop_open_watch(site)
            added = []
            while len(added) < len(names):
                item = await _next_event(receive)
                assert isinstance(item, WatchEvent)
                added.append(name_of(item.object))
            nursery.cancel_scope.cancel()
    assert added == names
    assert watch.restarts >= 4


async def test_expired_version_inside_the_stream_relists(
    kube: KubeClient, ns: str, site: Site
) -> None:
    send, receive = trio.open_memory_channel[Item](100)
    with trio.fail_after(10):
        await kube.config_maps.create(ns, configmap("kept"))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_pump, kube.config_maps.watch(ns), send)
            assert isinstance(await _next_event(receive), WatchSync)
            # While the watch is disconnected, a change happens and history is compacted:
            # the reconnect gets an ERROR 410 event in a 200 stream and must relist.
            await _drop_open_watch(site)
            _store_create(site, ns, "missed")
            site.faults.expire_resource_versions()
            item = await _next_event(receive)
            assert isinstance(item, WatchSync)
            assert item.relisted
            assert sorted(name_of(o) for o in item.objects) == ["kept", "missed"]
            await kube.config_maps.create(ns, configmap("later"))
            later = await _next_event(receive)
            assert isinstance(later, WatchEvent)
            assert name_of(later.object) == "later"
            nursery.cancel_scope.cancel()


async def test_expired_version_as_http_status_relists(
    kube: KubeClient, ns: str, site: Site
) -> None:
    send, receive = trio.open_memory_channel[Item](100)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_pump, kube.config_maps.watch(ns), send)
            assert isinstance(await _next_event(receive), WatchSync)
            await _drop_open_watch(site)
            site.faults.add_error(verb="watch", resource="configmaps", status=410, count=1)
            _store_create(site, ns, "missed")
            item = await _next_event(receive)
            assert isinstance(item, WatchSync)
            assert item.relisted
            assert [name_of(o) for o in item.objects] == ["missed"]
            nursery.cancel_scope.cancel()


async def test_server_side_timeouts_restart_the_stream(kube: KubeClient, ns: str) -> None:
    send, receive = trio.open_memory_channel[Item](100)
    watch = kube.config_maps.watch(ns, reconnect_timeout=0.5)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_pump, watch, send)
            assert isinstance(await _next_event(receive), WatchSync)
            await trio.sleep(2.2)
            assert watch.restarts >= 2
            await kube.config_maps.create(ns, configmap("still-watched"))
            item = await _next_event(receive)
            assert isinstance(item, WatchEvent)
            assert name_of(item.object) == "still-watched"
            nursery.cancel_scope.cancel()


async def test_a_silent_stream_is_restarted() -> None:
    # This site sends no bookmarks within the test, so an open stream without changes is
    # silent and the client's idle limit (0.3 s) must restart it.
    config = site_config()
    config.bookmark_interval = 60
    async with run_site(config) as quiet_site, KubeClient.for_url(quiet_site.url or "") as kube:
        send, receive = trio.open_memory_channel[Item](100)
        watch = kube.namespaces.watch(idle_timeout=0.3)
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_pump, watch, send)
                assert isinstance(await _next_event(receive), WatchSync)
                await trio.sleep(1.2)
                assert watch.restarts >= 2
                await kube.namespaces.create(namespace("after-silence"))
                item = await _next_event(receive)
                assert isinstance(item, WatchEvent)
                assert name_of(item.object) == "after-silence"
                nursery.cancel_scope.cancel()


async def test_bookmarks_advance_the_version_but_are_not_delivered(
    kube: KubeClient, ns: str
) -> None:
    with trio.fail_after(10):
        created = await kube.config_maps.create(ns, configmap("one"))
        assert created.metadata is not None
        other = f"{ns}-elsewhere"
        await kube.namespaces.create(namespace(other))
        async with kube.config_maps.watch(ns) as events:
            sync = await anext(events)
            assert isinstance(sync, WatchSync)
            # Changes elsewhere move the global resourceVersion; bookmarks carry it here.
            await kube.config_maps.create(other, configmap("elsewhere"))
            with trio.move_on_after(1):
                item: Any = await anext(events)
                pytest.fail(f"unexpected watch item {item!r}")
            assert events.resource_version is not None
            assert int(events.resource_version) > int(sync.resource_version)


async def test_transient_watch_failures_are_retried(kube: KubeClient, ns: str, site: Site) -> None:
    send, receive = trio.open_memory_channel[Item](100)
    watch = kube.config_maps.watch(ns)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_pump, watch, send)
            assert isinstance(await _next_event(receive), WatchSync)
            await _drop_open_watch(site)
            site.faults.add_error(verb="watch", resource="configmaps", status=503, count=3)
            await kube.config_maps.create(ns, configmap("through-errors"))
            item = await _next_event(receive)
            assert isinstance(item, WatchEvent)
            assert name_of(item.object) == "through-errors"
            assert watch.restarts >= 4
            nursery.cancel_scope.cancel()


async def test_permanent_watch_errors_are_raised(kube: KubeClient, ns: str, site: Site) -> None:
    site.faults.add_error(verb="watch", resource="configmaps", status=403, count=1)
    with trio.fail_after(10), pytest.raises(KubernetesError) as caught:
        await _consume_all(kube.config_maps.watch(ns))
    assert caught.value.status == 403


async def _consume_all(watch: Watch[V1ConfigMap]) -> None:
    async with watch as events:
        async for _ in events:
            pass


async def test_raw_create_and_raw_watch_give_server_json(kube: KubeClient, ns: str) -> None:
    with trio.fail_after(10):
        created = await kube.config_maps.create_raw(ns, configmap("raw"))
        assert created["data"] == {"v": "raw"}
        assert created["metadata"]["resourceVersion"]
        async with kube.config_maps.watch_raw(
            ns, resource_version=created["metadata"]["resourceVersion"]
        ) as events:
            await kube.config_maps.create(ns, configmap("later"))
            item = await anext(events)
    assert isinstance(item, WatchEvent)
    assert item.type == "ADDED"
    assert isinstance(item.object, dict)
    assert item.object["metadata"]["name"] == "later"
    assert item.resource_version == item.object["metadata"]["resourceVersion"]


async def test_watch_one_yields_the_state_of_its_object_after_each_change(
    kube: KubeClient, ns: str
) -> None:
    with trio.fail_after(10):
        async with kube.config_maps.watch_one(ns, "target") as states:
            assert await anext(states) is None, "absent at first: the list shows nothing"
            await kube.config_maps.create(ns, configmap("other"))
            await kube.config_maps.create(ns, configmap("target"))
            created = await anext(states)
            assert created is not None
            assert name_of(created) == "target", "another object's change came through"
            await kube.config_maps.delete(ns, "target")
            assert await anext(states) is None
        # From a resourceVersion: no list first, only what happens after it.
        again = await kube.config_maps.create(ns, configmap("target"))
        assert again.metadata is not None
        since = again.metadata.resource_version
        async with kube.config_maps.watch_one(ns, "target", resource_version=since) as states:
            await kube.config_maps.delete(ns, "target")
            assert await anext(states) is None
