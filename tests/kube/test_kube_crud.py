"""End-to-end create / read / list / delete / wait against kubesim over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from kubernetes.client import V1ConfigMap

from actors.kube import KubeClient, KubernetesError
from actors.kube.operations import ClusterResource, NamespacedResource

from .objects import CLUSTER, LABELS, NAMESPACED, labels_of, meta, name_of, pod


@pytest.mark.parametrize("accessor", sorted(NAMESPACED))
async def test_namespaced_kind_round_trip(kube: KubeClient, ns: str, accessor: str) -> None:
    api: NamespacedResource[Any] = getattr(kube, accessor)
    with trio.fail_after(10):
        created = await api.create(ns, NAMESPACED[accessor]("obj-1"))
        assert name_of(created) == "obj-1"
        read = await api.read(ns, "obj-1")
        assert read is not None
        assert LABELS.items() <= labels_of(read).items()
        listed = await api.list(ns, label_selector={"nublado.lsst.io/user": "wombat"})
        assert [name_of(o) for o in listed] == ["obj-1"]
        assert await api.list(ns, label_selector={"nublado.lsst.io/user": "other"}) == []
        await api.delete(ns, "obj-1", grace_period=0, wait=True)
        assert await api.read(ns, "obj-1") is None


@pytest.mark.parametrize("accessor", sorted(CLUSTER))
async def test_cluster_kind_round_trip(kube: KubeClient, accessor: str) -> None:
    api: ClusterResource[Any] = getattr(kube, accessor)
    with trio.fail_after(10):
        await api.create(CLUSTER[accessor]("cluster-obj"))
        read = await api.read("cluster-obj")
        assert read is not None
        assert LABELS.items() <= labels_of(read).items()
        names = [name_of(o) for o in await api.list(label_selector=LABELS)]
        assert names == ["cluster-obj"]
        await api.delete("cluster-obj", wait=True)
        assert await api.read("cluster-obj") is None


async def test_read_of_absent_object_is_none(kube: KubeClient, ns: str) -> None:
    with trio.fail_after(5):
        assert await kube.pods.read(ns, "missing") is None
        assert await kube.namespaces.read("missing-namespace") is None


async def test_delete_of_absent_object_succeeds(kube: KubeClient, ns: str) -> None:
    with trio.fail_after(5):
        await kube.config_maps.delete(ns, "missing")
        await kube.config_maps.delete(ns, "missing", wait=True)


async def test_create_in_missing_namespace_raises_not_found(kube: KubeClient) -> None:
    with trio.fail_after(5), pytest.raises(KubernetesError) as caught:
        await kube.pods.create("no-such-namespace", pod("p"))
    assert caught.value.not_found
    assert caught.value.kind == "Pod"
    assert caught.value.name == "p"


async def test_field_selector_selects_by_name(kube: KubeClient, ns: str) -> None:
    with trio.fail_after(5):
        for name in ("a", "b", "c"):
            await kube.config_maps.create(ns, V1ConfigMap(metadata=meta(name)))
        found = await kube.config_maps.list(ns, field_selector={"metadata.name": "b"})
        assert [name_of(o) for o in found] == ["b"]


async def test_list_across_namespaces(kube: KubeClient, ns: str) -> None:
    with trio.fail_after(5):
        other = f"{ns}-other"
        await kube.namespaces.create(CLUSTER["namespaces"](other))
        await kube.config_maps.create(ns, V1ConfigMap(metadata=meta("here")))
        await kube.config_maps.create(other, V1ConfigMap(metadata=meta("there")))
        everywhere = await kube.config_maps.list(None, label_selector=LABELS)
        assert sorted(name_of(o) for o in everywhere) == ["here", "there"]


async def test_list_follows_continue_tokens(kube: KubeClient, ns: str) -> None:
    with trio.fail_after(10):
        for i in range(7):
            await kube.config_maps.create(ns, V1ConfigMap(metadata=meta(f"cm-{i}")))
        items, rv = await kube.config_maps.list_raw(ns, page_size=3)
        assert sorted(i["metadata"]["name"] for i in items) == [f"cm-{i}" for i in range(7)]
        assert rv


async def test_create_adopts_existing_object_with_our_labels(kube: KubeClient, ns: str) -> None:
    with trio.fail_after(5):
        first = await kube.config_maps.create(ns, V1ConfigMap(metadata=meta("cm"), data={"a": "1"}))
        again = await kube.config_maps.create(ns, V1ConfigMap(metadata=meta("cm"), data={"a": "2"}))
        assert first.metadata is not None
        assert again.metadata is not None
        assert again.metadata.uid == first.metadata.uid
        assert again.data == {"a": "1"}


async def test_create_refuses_to_adopt_another_users_object(kube: KubeClient, ns: str) -> None:
    foreign = {**LABELS, "nublado.lsst.io/user": "someone-else"}
    with trio.fail_after(5):
        await kube.config_maps.create(ns, V1ConfigMap(metadata=meta("cm", foreign)))
        with pytest.raises(KubernetesError) as caught:
            await kube.config_maps.create(ns, V1ConfigMap(metadata=meta("cm")))
    assert caught.value.conflict


async def test_create_without_adoption_reports_conflict(kube: KubeClient, ns: str) -> None:
    with trio.fail_after(5):
        await kube.config_maps.create(ns, V1ConfigMap(metadata=meta("cm")))
        with pytest.raises(KubernetesError) as caught:
            await kube.config_maps.create(ns, V1ConfigMap(metadata=meta("cm")), adopt=False)
    assert caught.value.already_exists


async def test_create_or_replace_replaces_the_existing_object(kube: KubeClient, ns: str) -> None:
    with trio.fail_after(10):
        old = await kube.config_maps.create(ns, V1ConfigMap(metadata=meta("cm"), data={"v": "1"}))
        new = await kube.config_maps.create_or_replace(
            ns, V1ConfigMap(metadata=meta("cm"), data={"v": "2"}), propagation="Foreground"
        )
        assert old.metadata is not None
        assert new.metadata is not None
        assert new.metadata.uid != old.metadata.uid
        current = await kube.config_maps.read(ns, "cm")
        assert current is not None
        assert current.data == {"v": "2"}


async def test_namespace_deletion_can_be_waited_for(kube: KubeClient, ns: str) -> None:
    with trio.fail_after(10):
        await kube.config_maps.create(ns, V1ConfigMap(metadata=meta("cm")))
        await kube.namespaces.delete(ns, propagation="Foreground")
        await kube.namespaces.wait_for_deletion(ns)
        assert await kube.namespaces.read(ns) is None


async def test_wait_for_deletion_times_out_before_the_deadline(kube: KubeClient, ns: str) -> None:
    with trio.fail_after(5):
        await kube.config_maps.create(ns, V1ConfigMap(metadata=meta("stays")))
    start = trio.current_time()
    with trio.fail_after(10), pytest.raises(trio.TooSlowError, match="not deleted"):
        # A deadline that merely cancels the wait would make this return without raising.
        await _with_deadline(3, kube.config_maps.wait_for_deletion, ns, "stays")
    assert trio.current_time() - start < 3.5


async def _with_deadline(seconds: float, fn: Any, *args: Any) -> None:
    with trio.move_on_after(seconds):
        await fn(*args)


async def test_waits_refuse_to_run_without_a_deadline(kube: KubeClient, ns: str) -> None:
    with pytest.raises(ValueError, match="deadline"):
        await kube.config_maps.wait_for_deletion(ns, "x")


async def test_a_cancelled_wait_ends_with_the_cancellation_not_a_missing_deadline(
    kube: KubeClient, ns: str
) -> None:
    """A cancelled scope reports its deadline as -inf: still a deadline, not a bug."""
    with trio.fail_after(10), trio.CancelScope() as scope:
        scope.cancel()
        await kube.config_maps.wait_for_creation(ns, "never")
    assert scope.cancelled_caught


async def test_wait_for_creation_sees_a_later_create(kube: KubeClient, ns: str) -> None:
    found: list[Any] = []

    async def waiter() -> None:
        found.append(await kube.config_maps.wait_for_creation(ns, "late"))

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter)
            await trio.sleep(0.3)
            await kube.config_maps.create(ns, V1ConfigMap(metadata=meta("late")))
    assert [name_of(o) for o in found] == ["late"]
