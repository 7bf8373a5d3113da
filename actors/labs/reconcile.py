"""What one reconciliation pass sees: every lab in the cluster, from four list calls.

Instead of reading each lab's objects one by one (three reads per lab, 9,000 requests for
3,000 labs), a pass lists namespaces, lab env ConfigMaps, lab pods and lab quotas across all
namespaces at once, concurrently, and groups them by namespace. That keeps startup fast
whatever the number of labs (``kubernetes-objects.md`` §2.18).

Deviation from the reference, following its own recommendation (quirk Q8): an incomplete
namespace is only reported (and so deleted) when it carries the lab category label, so a
namespace that merely shares the prefix is never touched.

A namespace Kubernetes is already terminating (a controller stopped in the middle of a
delete) holds a lab that is going away: its state reads ``terminating``, never what its
leftover pod says, so that status, create and delete agree while it goes.

:func:`observe_lab` is the one judgement of what a namespace's objects mean; a pass applies it
to every lab at once, a restarted lab actor to its own objects (``lab.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

import trio
from kubernetes.client import V1ConfigMap, V1Pod, V1ResourceQuota

from actors.common.labels import CATEGORY_LABEL, Category
from actors.common.models import LabStatus
from actors.common.naming import env_config_map_name, lab_object_name
from actors.config import ControllerConfig
from actors.kube import KUBERNETES_REQUEST_TIMEOUT, KubeClient
from actors.kube.resources import CONFIG_MAPS, PODS, RESOURCE_QUOTAS, ResourceType
from actors.labs.builder import IncompleteLabError, lab_username, reconstruct_lab_state
from actors.labs.messages import Observation, ObservedKind

T = TypeVar("T")

__all__ = ["group_observations", "observe_lab", "observe_labs"]

LAB_SELECTOR = {CATEGORY_LABEL: Category.LAB.value}

RawObject = dict[str, Any]


async def observe_labs(kube: KubeClient, config: ControllerConfig) -> dict[str, Observation]:
    """Observations for every user with a lab namespace, keyed by username.

    The lists stay server JSON; each lab's objects become models only while that lab is
    reconstructed. Decoding every listed pod up front held thousands of pod models at once
    (tens of kilobytes each), a peak the allocator then kept for the life of the process.
    """
    started = trio.current_time()
    results: dict[str, list[RawObject]] = {}

    async def collect(key: str, lister: Awaitable[tuple[list[RawObject], str]]) -> None:
        results[key], _ = await lister

    with trio.fail_after(KUBERNETES_REQUEST_TIMEOUT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(collect, "namespaces", kube.namespaces.list_raw(None))
            for key, client in (
                ("env", kube.config_maps),
                ("pods", kube.pods),
                ("quotas", kube.resource_quotas),
            ):
                nursery.start_soon(collect, key, client.list_raw(None, label_selector=LAB_SELECTOR))
    return group_observations(
        config,
        started,
        namespaces=results.pop("namespaces"),
        config_maps=results.pop("env"),
        pods=results.pop("pods"),
        quotas=results.pop("quotas"),
    )


def _by_namespace(objects: list[RawObject]) -> dict[tuple[str, str], RawObject]:
    grouped: dict[tuple[str, str], RawObject] = {}
    for obj in objects:
        metadata = obj.get("metadata") or {}
        namespace, name = metadata.get("namespace"), metadata.get("name")
        if isinstance(namespace, str) and namespace and isinstance(name, str) and name:
            grouped[(namespace, name)] = obj
    objects.clear()
    return grouped


def _decode(resource: ResourceType[T], obj: RawObject | None) -> T | None:
    return None if obj is None else resource.decode(obj)


def group_observations(
    config: ControllerConfig,
    started: float,
    *,
    namespaces: list[RawObject],
    config_maps: list[RawObject],
    pods: list[RawObject],
    quotas: list[RawObject],
) -> dict[str, Observation]:
    """Turn listed objects (server JSON) into one observation per lab namespace (pure).

    Consumes the lists: each lab's objects are dropped once its state is rebuilt.
    """
    env_by_key = _by_namespace(config_maps)
    pod_by_key = _by_namespace(pods)
    quota_by_key = _by_namespace(quotas)
    observations: dict[str, Observation] = {}
    while namespaces:
        metadata = namespaces.pop().get("metadata") or {}
        namespace = metadata.get("name")
        if not isinstance(namespace, str) or not namespace:
            continue
        username = lab_username(config, namespace)
        if username is None:
            continue
        name = lab_object_name(username)
        observation = observe_lab(
            config,
            started,
            namespace=metadata,
            env=_decode(
                CONFIG_MAPS, env_by_key.pop((namespace, env_config_map_name(username)), None)
            ),
            pod=_decode(PODS, pod_by_key.pop((namespace, name), None)),
            quota=_decode(RESOURCE_QUOTAS, quota_by_key.pop((namespace, name), None)),
        )
        if observation is not None:
            observations[username] = observation
    return observations


def observe_lab(
    config: ControllerConfig,
    started: float,
    *,
    namespace: Mapping[str, Any],
    env: V1ConfigMap | None,
    pod: V1Pod | None,
    quota: V1ResourceQuota | None,
) -> Observation | None:
    """What one lab namespace (its server JSON ``metadata``) and its objects say (pure).

    ``None`` for a namespace that is not a lab's: incomplete and without the lab category
    label. Raises what rebuilding the state raises, ``IncompleteLabError`` excepted.
    """
    name = namespace.get("name")
    assert isinstance(name, str)
    try:
        state = reconstruct_lab_state(config, name, env, pod, quota)
    except IncompleteLabError:
        labels = namespace.get("labels") or {}
        if labels.get(CATEGORY_LABEL) != Category.LAB.value:
            return None
        return Observation(ObservedKind.INCOMPLETE, started)
    if namespace.get("deletionTimestamp"):
        state = state.model_copy(update={"status": LabStatus.TERMINATING, "internal_url": None})
    return Observation(ObservedKind.COMPLETE, started, state)
