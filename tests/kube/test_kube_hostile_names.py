"""A name is one path segment: whatever it contains, it addresses no other object.

Names reach API paths from usernames (a lab namespace is ``<prefix>-<username>``). Unencoded,
``user00000?x`` ended the path at ``user00000`` and deleting it deleted ``user00000``. The
path builder percent-encodes every namespace and name, and refuses the few names that no
encoding keeps inside one segment on a real API server (``.``, ``..``, ``/``, ``%``, empty)
with a 400 before anything is sent. The unit tests pin the paths; the others run the real
client over HTTP against kubesim, next to an object with the name the hostile one imitates.
"""

from __future__ import annotations

import pytest
import trio

from actors.kube import KubeClient, KubernetesError, WatchSync
from actors.kube import resources as r
from kubesim.site import Site

from .objects import namespace, pod

ENCODED = {
    "user00000?x": "user00000%3Fx",
    "user00000#x": "user00000%23x",
    "user00000 x": "user00000%20x",
    "user00000&x=1": "user00000%26x%3D1",
    "usér": "us%C3%A9r",
    "a;b": "a%3Bb",
}
"""Names that are legal in a path once encoded, and their one segment."""

UNSENDABLE = ["", ".", "..", "a/b", "a/../b", "../user00000", "user00000%3Fx", "%2e%2e"]
"""Names no encoding keeps inside one segment of a real API server's path."""


@pytest.mark.parametrize(("name", "segment"), ENCODED.items())
def test_every_namespace_and_name_is_one_encoded_segment(name: str, segment: str) -> None:
    assert r.NAMESPACES.path(None, name) == f"/api/v1/namespaces/{segment}"
    assert r.PODS.path(name) == f"/api/v1/namespaces/{segment}/pods"
    assert r.PODS.path("ns", name) == f"/api/v1/namespaces/ns/pods/{segment}"
    assert r.JOBS.path(name, name) == f"/apis/batch/v1/namespaces/{segment}/jobs/{segment}"


def test_ordinary_names_are_unchanged() -> None:
    assert r.PODS.path("nublado-user00000", "user00000-nb") == (
        "/api/v1/namespaces/nublado-user00000/pods/user00000-nb"
    )
    assert r.GAFAELFAWR_INGRESSES.path("fileservers", "a.b-fs") == (
        "/apis/gafaelfawr.lsst.io/v1alpha1/namespaces/fileservers/gafaelfawringresses/a.b-fs"
    )


@pytest.mark.parametrize("name", UNSENDABLE)
def test_names_that_cannot_be_one_segment_are_refused_as_bad_requests(name: str) -> None:
    for build in (
        lambda: r.NAMESPACES.path(None, name),
        lambda: r.PODS.path(name),
        lambda: r.PODS.path("ns", name),
    ):
        with pytest.raises(KubernetesError) as refused:
            build()
        assert refused.value.status == 400
        assert refused.value.reason == "BadRequest"
        assert "not sent" in refused.value.message
        assert not refused.value.not_found
        assert not refused.value.transient


def _alive(site: Site, plural: str, namespace_name: str | None, name: str) -> bool:
    store = site.store
    obj = store.get(store.resource(plural), namespace_name, name)
    return "deletionTimestamp" not in obj["metadata"]


async def test_hostile_names_address_nothing_else(site: Site, kube: KubeClient) -> None:
    with trio.fail_after(15):
        await kube.namespaces.create(namespace("user00000"))
        await kube.pods.create("user00000", pod("p"))
        for hostile in ENCODED:
            assert await kube.namespaces.read(hostile) is None
            assert await kube.pods.read("user00000", hostile.replace("user00000", "p")) is None
            assert await kube.pods.list(hostile) == []
            # Absent, so a delete (and a wait for the deletion) succeeds without doing anything.
            await kube.namespaces.delete(hostile, wait=True)
            await kube.pods.delete("user00000", hostile.replace("user00000", "p"), wait=True)
            await kube.pods.delete(hostile, "p")
        for unsendable in UNSENDABLE:
            with pytest.raises(KubernetesError) as refused:
                await kube.namespaces.delete(unsendable)
            assert refused.value.status == 400
            with pytest.raises(KubernetesError):
                await kube.pods.delete(unsendable, "p")
        assert _alive(site, "namespaces", None, "user00000")
        assert _alive(site, "pods", "user00000", "p")


async def test_hostile_names_cannot_be_created(site: Site, kube: KubeClient) -> None:
    with trio.fail_after(10):
        with pytest.raises(KubernetesError) as invalid:
            await kube.namespaces.create(namespace("user00000?x"))
        assert invalid.value.status == 422
        await kube.namespaces.create(namespace("user00000"))
        with pytest.raises(KubernetesError) as no_namespace:
            await kube.pods.create("user00000?x", pod("p"))
        assert no_namespace.value.status == 404
        assert site.store.list(site.store.resource("pods"), "user00000")[0] == []


async def test_a_watch_in_a_hostile_namespace_sees_nothing_of_its_neighbour(
    site: Site, kube: KubeClient
) -> None:
    with trio.fail_after(10):
        await kube.namespaces.create(namespace("user00000"))
        await kube.pods.create("user00000", pod("p"))
        async with kube.pods.watch("user00000?x") as events:
            first = await anext(events)
        assert isinstance(first, WatchSync)
        assert first.objects == []
        selected = await kube.pods.list("user00000", field_selector={"metadata.name": "p?x"})
        assert selected == []
        assert [p.metadata.name for p in await kube.pods.list("user00000")] == ["p"]
