"""Streaming lists: an informer's list is one watch that sends the current objects first.

Kubernetes' WatchList feature (``sendInitialEvents=true``): the API server sends each current
object as an ``ADDED`` event, then a bookmark annotated ``k8s.io/initial-events-end`` with the
list's resourceVersion, then the changes. A server without the feature refuses the parameters
(422), and the client lists instead, from then on.
"""

from __future__ import annotations

from typing import Any

import httpx
import trio

from actors.kube import KubeClient, WatchEvent, WatchSync
from actors.kube.watch import WatchListEnd, WatchListStart
from kubesim.site import Site

from .objects import meta


def _configmap(ns: str, name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(name).to_dict()}


async def _create(kube: KubeClient, ns: str, name: str) -> None:
    await kube.config_maps.create_raw(ns, _configmap(ns, name))


def _name(item: WatchEvent[dict[str, Any]]) -> str:
    return str(item.object["metadata"]["name"])


async def test_a_streaming_list_sends_the_objects_then_the_end_then_changes(
    kube: KubeClient, ns: str, site: Site
) -> None:
    with trio.fail_after(10):
        for name in ("a", "b"):
            await _create(kube, ns, name)
        before = site.stats.snapshot()["requests_total"]
        watch = kube.config_maps.watch_raw_in(
            ns, label_selector=None, reconnect_timeout=30, streaming_list=True
        )
        async with watch as items:
            assert await anext(items) == WatchListStart(relisted=False)
            initial = [await anext(items), await anext(items)]
            assert all(isinstance(i, WatchEvent) and i.initial for i in initial)
            assert sorted(_name(i) for i in initial if isinstance(i, WatchEvent)) == ["a", "b"]
            end = await anext(items)
            assert isinstance(end, WatchListEnd)
            assert end.resource_version == watch.resource_version
            await _create(kube, ns, "c")
            change = await anext(items)
            assert isinstance(change, WatchEvent)
            assert (change.type, change.initial, _name(change)) == ("ADDED", False, "c")
        # Two requests: the create of c, and the watch, list included.
        assert site.stats.snapshot()["requests_total"] - before == 2
        assert kube.transport.streaming_lists


async def test_a_server_without_streaming_lists_is_listed_instead(
    kube: KubeClient, ns: str, site: Site
) -> None:
    site.store.config.streaming_lists = False
    with trio.fail_after(10):
        await _create(kube, ns, "a")
        watch = kube.config_maps.watch_raw_in(
            ns, label_selector=None, reconnect_timeout=30, streaming_list=True
        )
        async with watch as items:
            first = await anext(items)
            assert isinstance(first, WatchSync)
            assert [o["metadata"]["name"] for o in first.objects] == ["a"]
        # Remembered for the whole client: the next informer lists at once.
        assert not kube.transport.streaming_lists


async def test_the_api_server_checks_the_options_of_a_streaming_list(site: Site) -> None:
    assert site.url is not None
    path = "/api/v1/configmaps"
    async with httpx.AsyncClient(base_url=site.url, timeout=5) as client:
        refused = {
            "without resourceVersionMatch": {"sendInitialEvents": "true"},
            "without bookmarks": {
                "sendInitialEvents": "true",
                "resourceVersionMatch": "NotOlderThan",
            },
            "a match without sendInitialEvents": {"resourceVersionMatch": "NotOlderThan"},
        }
        for why, params in refused.items():
            answer = await client.get(path, params={"watch": "true", **params})
            assert answer.status_code == 422, why
            body = answer.json()
            assert body["reason"] == "Invalid", why
            assert body["details"]["kind"] == "ListOptions", why
