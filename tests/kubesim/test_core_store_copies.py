"""The store's copy contract: callers never share a dict with the store unless they opt out.

By default every write copies what it is given and every reader gets a copy, so no caller
can change a stored object behind the store's back. ``copy_=False`` (used by the HTTP layer
and the read-only controllers) hands the object over and returns the stored one as is.
"""

from __future__ import annotations

from typing import Any

import httpx
import trio

from kubesim.site import Site
from kubesim.store import Store


def configmap(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"app": "x"}}, "data": {"k": "v"}}


async def with_namespace(store: Store) -> None:
    store.create(store.resource("namespaces"), None, {"metadata": {"name": "ns"}})
    await trio.lowlevel.checkpoint()


def stored(store: Store, name: str) -> dict[str, Any]:
    return store.get(store.resource("configmaps"), "ns", name, copy_=False)


async def test_create_copies_its_input_and_its_result(kubesim: Site) -> None:
    with trio.fail_after(10):
        store = kubesim.store
        await with_namespace(store)
        body = configmap("a")
        created = store.create(store.resource("configmaps"), "ns", body)
        body["data"]["k"] = "changed by the caller"
        created["metadata"]["labels"]["app"] = "changed by the caller"
        assert stored(store, "a")["data"] == {"k": "v"}
        assert stored(store, "a")["metadata"]["labels"] == {"app": "x"}


async def test_create_without_copy_keeps_the_handed_over_object(kubesim: Site) -> None:
    with trio.fail_after(10):
        store = kubesim.store
        await with_namespace(store)
        created = store.create(store.resource("configmaps"), "ns", configmap("a"), copy_=False)
        assert created is stored(store, "a")


async def test_writes_return_copies_unless_asked_not_to(kubesim: Site) -> None:
    with trio.fail_after(10):
        store = kubesim.store
        cms = store.resource("configmaps")
        await with_namespace(store)
        store.create(cms, "ns", configmap("a"))

        def touch(cm: dict[str, Any]) -> None:
            cm["data"]["n"] = str(int(cm["data"].get("n", "0")) + 1)

        results = [
            store.mutate(cms, "ns", "a", touch),
            store.patch(cms, "ns", "a", {"data": {"p": "1"}}),
            store.patch(
                cms, "ns", "a", [{"op": "add", "path": "/data/j", "value": "1"}], patch_type="json"
            ),
            store.replace(cms, "ns", "a", stored(store, "a")),
        ]
        for result in results:
            assert result is not stored(store, "a")
            result["data"]["k"] = "changed by the caller"
        assert stored(store, "a")["data"]["k"] == "v"
        assert store.mutate(cms, "ns", "a", touch, copy_=False) is stored(store, "a")
        patched = store.patch(cms, "ns", "a", {"data": {"q": "1"}}, copy_=False)
        assert patched is stored(store, "a")


async def test_a_merge_patch_does_not_share_untouched_parts_with_the_old_version(
    kubesim: Site,
) -> None:
    with trio.fail_after(10):
        store = kubesim.store
        cms = store.resource("configmaps")
        await with_namespace(store)
        store.create(cms, "ns", configmap("a"))
        old = stored(store, "a")
        store.patch(cms, "ns", "a", {"data": {"p": "1"}}, copy_=False)
        new = stored(store, "a")
        assert new["metadata"] is not old["metadata"]
        assert new["metadata"]["labels"] is not old["metadata"]["labels"]
        assert old["metadata"]["resourceVersion"] != new["metadata"]["resourceVersion"]


async def test_record_event_returns_a_copy_unless_asked_not_to(kubesim: Site) -> None:
    with trio.fail_after(10):
        store = kubesim.store
        await with_namespace(store)
        cm = store.create(store.resource("configmaps"), "ns", configmap("a"))
        event = store.record_event("ns", cm, "Tested", "one")
        event["message"] = "changed by the caller"
        events, _ = store.list(store.resource("events"), "ns")
        assert [e["message"] for e in events] == ["one"]
        uncopied = store.record_event("ns", cm, "Tested", "two", copy_=False)
        name = uncopied["metadata"]["name"]
        assert uncopied is store.get(store.resource("events"), "ns", name, copy_=False)


async def test_in_process_watch_without_copies_yields_the_stored_objects(kubesim: Site) -> None:
    with trio.fail_after(10):
        store = kubesim.store
        cms = store.resource("configmaps")
        await with_namespace(store)
        async with store.watch(cms, "ns", copy_=False) as events:
            store.create(cms, "ns", configmap("a"))
            event = await events.__anext__()
        assert event.object is stored(store, "a")


async def test_http_writes_do_not_leak_request_bodies_into_later_reads(
    kube: httpx.AsyncClient,
) -> None:
    with trio.fail_after(10):
        assert (await kube.post("/api/v1/namespaces", json={"metadata": {"name": "ns"}})).is_success
        url = "/api/v1/namespaces/ns/configmaps"
        assert (await kube.post(url, json=configmap("a"))).status_code == 201
        patched = await kube.patch(
            f"{url}/a",
            json={"data": {"p": "1"}},
            headers={"content-type": "application/merge-patch+json"},
        )
        assert patched.json()["data"] == {"k": "v", "p": "1"}
        got = (await kube.get(f"{url}/a")).json()
        assert got == patched.json()
