"""Which open watchers a change reaches, and what a resumed watch replays.

The store files watchers by (resource, namespace) so that a write only visits the watchers
that can match it; these tests pin the behaviour that indexing must keep.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio

from kubesim.errors import ApiError
from kubesim.site import Site
from kubesim.store import Store, Watcher


def setup(store: Store, *namespaces: str) -> None:
    for name in namespaces:
        store.create(store.resource("namespaces"), None, {"metadata": {"name": name}})


def make_cm(store: Store, namespace: str, name: str) -> dict[str, Any]:
    return store.create(store.resource("configmaps"), namespace, {"metadata": {"name": name}})


async def drain(watcher: Watcher) -> list[tuple[str, str, str]]:
    """(type, namespace, name) of every event queued for ``watcher`` right now."""
    events = []
    while (event := await watcher.next(within=0)) is not None:
        meta = event.object["metadata"]
        events.append((event.type, meta.get("namespace", ""), meta["name"]))
    return events


async def test_a_change_reaches_its_namespace_and_cluster_wide_watchers_only(
    kubesim: Site,
) -> None:
    with trio.fail_after(10):
        store = kubesim.store
        setup(store, "a", "b")
        cms = store.resource("configmaps")
        in_a = store.open_watcher(cms, "a", resource_version=store.resource_version)
        in_b = store.open_watcher(cms, "b", resource_version=store.resource_version)
        everywhere = store.open_watcher(cms, None, resource_version=store.resource_version)
        secrets = store.open_watcher(
            store.resource("secrets"), "a", resource_version=store.resource_version
        )
        make_cm(store, "a", "one")
        make_cm(store, "b", "two")
        assert await drain(in_a) == [("ADDED", "a", "one")]
        assert await drain(in_b) == [("ADDED", "b", "two")]
        assert await drain(everywhere) == [("ADDED", "a", "one"), ("ADDED", "b", "two")]
        assert await drain(secrets) == []


async def test_cluster_scoped_changes_reach_watchers_of_that_resource(kubesim: Site) -> None:
    with trio.fail_after(10):
        store = kubesim.store
        namespaces = store.resource("namespaces")
        watcher = store.open_watcher(namespaces, resource_version=store.resource_version)
        setup(store, "x")
        assert await drain(watcher) == [("ADDED", "", "x")]


async def test_a_closed_watcher_gets_nothing_more_and_is_forgotten(kubesim: Site) -> None:
    with trio.fail_after(10):
        store = kubesim.store
        setup(store, "a")
        cms = store.resource("configmaps")
        watcher = store.open_watcher(cms, "a", resource_version=store.resource_version)
        watcher.close()
        make_cm(store, "a", "one")
        with pytest.raises(StopAsyncIteration):
            await watcher.next(within=0)
        assert not store._watchers
        assert not store._watch_index


async def test_drop_watches_cuts_only_external_watchers_of_the_namespace(kubesim: Site) -> None:
    with trio.fail_after(10):
        store = kubesim.store
        setup(store, "a", "b")
        cms = store.resource("configmaps")
        external_a = store.open_watcher(cms, "a", external=True)
        external_b = store.open_watcher(cms, "b", external=True)
        internal_a = store.open_watcher(cms, "a")
        assert store.drop_watches("a") == 1
        assert external_a.dropped
        assert not external_b.closed
        assert not internal_a.closed
        make_cm(store, "b", "two")
        assert await drain(external_b) == [("ADDED", "b", "two")]
        assert store.drop_watches() == 1
        assert external_b.dropped


async def test_resuming_replays_exactly_the_later_changes_in_order(kubesim: Site) -> None:
    with trio.fail_after(10):
        store = kubesim.store
        setup(store, "a", "b")
        cms = store.resource("configmaps")
        make_cm(store, "a", "before")
        since = store.resource_version
        make_cm(store, "a", "one")
        make_cm(store, "b", "elsewhere")
        store.mutate(cms, "a", "before", lambda cm: cm.setdefault("data", {}).update(k="v"))
        store.delete(cms, "a", "one")
        watcher = store.open_watcher(cms, "a", resource_version=since)
        assert await drain(watcher) == [
            ("ADDED", "a", "one"),
            ("MODIFIED", "a", "before"),
            ("DELETED", "a", "one"),
        ]
        latest = store.open_watcher(cms, "a", resource_version=store.resource_version)
        assert await drain(latest) == []


async def test_a_watch_from_a_revision_with_more_changes_than_a_watcher_may_queue_is_expired(
    kubesim: Site,
) -> None:
    """The window of changes a watch can resume within is bounded, like an API server's
    watch cache: beyond it the revision is too old (410), and the client lists again. (A
    watcher dropped before its first event would make the client resume from the same
    revision forever.)"""
    with trio.fail_after(10):
        store = kubesim.store
        store.config.watch_buffer = 2
        setup(store, "a")
        since = store.resource_version
        for index in range(3):
            make_cm(store, "a", f"cm{index}")
        watchers = len(store._watchers)
        with pytest.raises(ApiError) as refused:
            store.open_watcher(store.resource("configmaps"), "a", resource_version=since)
        assert refused.value.status == 410
        assert len(store._watchers) == watchers
        # Within the window, resuming works.
        make_cm(store, "a", "cm3")
        recent = store.resource_version
        make_cm(store, "a", "cm4")
        watcher = store.open_watcher(store.resource("configmaps"), "a", resource_version=recent)
        assert [name for _, _, name in await drain(watcher)] == ["cm4"]
