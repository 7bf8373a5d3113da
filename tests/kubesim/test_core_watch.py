"""Watch streams over raw HTTP: event types, resume, 410, bookmarks, timeouts, selectors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import trio

from kubesim.site import Site

CMS = "/api/v1/namespaces/ns/configmaps"


async def setup_ns(kube: httpx.AsyncClient) -> None:
    assert (await kube.post("/api/v1/namespaces", json={"metadata": {"name": "ns"}})).is_success


class Events:
    """Decoded events of one watch response (closes its line iterator explicitly)."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def next(self) -> dict[str, Any]:
        while True:
            line = await self._lines.__anext__()
            if line:
                return dict(json.loads(line))

    async def rest(self) -> list[dict[str, Any]]:
        """Every remaining event until the server ends the stream."""
        return [json.loads(line) async for line in self._lines if line]

    async def aclose(self) -> None:
        # httpx's line iterator wraps several nested generators; closing the outer one leaves
        # the inner ones suspended. Stepping it inside a cancelled scope unwinds them all.
        with trio.CancelScope() as scope:
            scope.cancel()
            try:
                while True:
                    await self._lines.__anext__()
            except (StopAsyncIteration, httpx.TransportError):
                pass


@asynccontextmanager
async def watching(kube: httpx.AsyncClient, url: str = CMS, **params: Any) -> AsyncIterator[Events]:
    """Open a watch and yield its :class:`Events`."""
    async with kube.stream("GET", url, params={"watch": "true", **params}) as response:
        assert response.status_code == 200
        events = Events(response)
        try:
            yield events
        finally:
            await events.aclose()


async def test_watch_sees_added_modified_deleted(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        async with watching(kube) as events:
            await kube.post(CMS, json={"metadata": {"name": "c"}})
            await kube.patch(
                f"{CMS}/c",
                json={"data": {"a": "1"}},
                headers={"content-type": "application/merge-patch+json"},
            )
            await kube.delete(f"{CMS}/c")
            seen = [await events.next() for _ in range(3)]
        assert [e["type"] for e in seen] == ["ADDED", "MODIFIED", "DELETED"]
        assert seen[1]["object"]["data"] == {"a": "1"}
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in seen]
        assert rvs == sorted(rvs)
        assert len(set(rvs)) == 3


async def test_watch_without_resource_version_starts_with_current_objects(
    kube: httpx.AsyncClient,
) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        await kube.post(CMS, json={"metadata": {"name": "old"}})
        async with watching(kube, resourceVersion="0") as events:
            first = await events.next()
            await kube.post(CMS, json={"metadata": {"name": "new"}})
            second = await events.next()
        assert (first["type"], first["object"]["metadata"]["name"]) == ("ADDED", "old")
        assert (second["type"], second["object"]["metadata"]["name"]) == ("ADDED", "new")


async def test_watch_resumes_after_a_resource_version(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        first = (await kube.post(CMS, json={"metadata": {"name": "a"}})).json()
        await kube.post(CMS, json={"metadata": {"name": "b"}})
        await kube.delete(f"{CMS}/a")
        rv = first["metadata"]["resourceVersion"]
        async with watching(kube, resourceVersion=rv) as events:
            seen = [await events.next() for _ in range(2)]
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in seen] == [
            ("ADDED", "b"),
            ("DELETED", "a"),
        ]


async def test_too_old_resource_version_is_an_error_event_in_a_200_stream(
    kube: httpx.AsyncClient, kubesim: Site
) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        old = (await kube.post(CMS, json={"metadata": {"name": "a"}})).json()
        await kube.post(CMS, json={"metadata": {"name": "b"}})
        kubesim.faults.expire_resource_versions()
        async with watching(kube, resourceVersion=old["metadata"]["resourceVersion"]) as events:
            error = await events.next()
            rest = await events.rest()
        assert error["type"] == "ERROR"
        assert error["object"]["kind"] == "Status"
        assert error["object"]["code"] == 410
        assert error["object"]["reason"] == "Expired"
        assert rest == []


async def test_history_window_expires_old_resource_versions(kube: httpx.AsyncClient) -> None:
    from kubesim.site import SiteConfig, run_site
    from kubesim.store import StoreConfig

    with trio.fail_after(10):
        config = SiteConfig(store=StoreConfig(history_seconds=0.1))
        async with (
            run_site(config) as site,
            httpx.AsyncClient(base_url=site.url or "") as client,
        ):
            await setup_ns(client)
            old = (await client.post(CMS, json={"metadata": {"name": "a"}})).json()
            await client.post(CMS, json={"metadata": {"name": "b"}})
            await trio.sleep(0.2)
            await client.post(CMS, json={"metadata": {"name": "c"}})
            async with watching(
                client, resourceVersion=old["metadata"]["resourceVersion"]
            ) as events:
                error = await events.next()
        assert error["object"]["code"] == 410


async def test_bookmarks_carry_only_the_resource_version(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        created = (await kube.post(CMS, json={"metadata": {"name": "a"}})).json()
        async with watching(
            kube, allowWatchBookmarks="true", resourceVersion=created["metadata"]["resourceVersion"]
        ) as events:
            bookmark = await events.next()
        assert bookmark["type"] == "BOOKMARK"
        assert bookmark["object"]["metadata"] == {
            "resourceVersion": created["metadata"]["resourceVersion"]
        }
        assert bookmark["object"]["kind"] == "ConfigMap"


async def test_no_bookmarks_unless_asked(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        async with watching(kube, timeoutSeconds="1", resourceVersion="1") as events:
            seen = await events.rest()
        assert all(event["type"] != "BOOKMARK" for event in seen)


async def test_timeout_seconds_ends_the_stream_cleanly(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        start = trio.current_time()
        async with watching(kube, timeoutSeconds="1") as events:
            seen = await events.rest()
        elapsed = trio.current_time() - start
        assert seen == []
        assert 0.9 <= elapsed < 5


async def test_selectors_apply_to_watches(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        merge = {"content-type": "application/merge-patch+json"}
        async with watching(kube, labelSelector="app=lab") as events:
            await kube.post(CMS, json={"metadata": {"name": "other"}})
            await kube.post(CMS, json={"metadata": {"name": "x", "labels": {"app": "lab"}}})
            await kube.patch(
                f"{CMS}/x", json={"metadata": {"labels": {"app": "no"}}}, headers=merge
            )
            await kube.patch(
                f"{CMS}/other", json={"metadata": {"labels": {"app": "lab"}}}, headers=merge
            )
            seen = [await events.next() for _ in range(3)]
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in seen] == [
            ("ADDED", "x"),
            ("DELETED", "x"),
            ("ADDED", "other"),
        ]


async def test_field_selector_watch_on_one_object(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        async with watching(kube, fieldSelector="metadata.name=b") as events:
            await kube.post(CMS, json={"metadata": {"name": "a"}})
            await kube.post(CMS, json={"metadata": {"name": "b"}})
            event = await events.next()
        assert event["object"]["metadata"]["name"] == "b"


async def test_malformed_selector_on_watch_is_http_400(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        response = await kube.get(CMS, params={"watch": "1", "labelSelector": "a in b"})
        assert response.status_code == 400


async def test_closing_the_client_releases_the_watcher(
    kube: httpx.AsyncClient, kubesim: Site
) -> None:
    with trio.fail_after(10):
        await setup_ns(kube)
        async with watching(kube) as events:
            await kube.post(CMS, json={"metadata": {"name": "a"}})
            await events.next()
            assert len(kubesim.store._watchers) == 1
        while kubesim.store._watchers:
            await trio.sleep(0.01)


async def test_in_process_watch_gets_copies(kubesim: Site) -> None:
    with trio.fail_after(10):
        store = kubesim.store
        namespaces = store.resource("namespaces")
        async with store.watch(namespaces) as events:
            store.create(namespaces, None, {"metadata": {"name": "a"}})
            event = await events.__anext__()
            event.object["metadata"]["name"] = "changed"
        assert store.get(namespaces, None, "a")["metadata"]["name"] == "a"
