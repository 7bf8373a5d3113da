"""The Kubernetes calls a lab needs, in as few sequential rounds as correctness allows.

Creating a lab takes three rounds before the pod exists: the namespace; then every other
namespaced object at once, concurrently with the wait for the ``default`` service account
(the API server refuses pods until it exists); then the pod. Deleting takes two waits: the
pod (1 s grace, as KubeSpawner does: a lab does nothing useful on SIGTERM), then the
namespace, which takes everything else with it.

Every call runs under the caller's deadline (a Trio cancel scope).
"""

from __future__ import annotations

from typing import Any

import trio
from kubernetes.client import (
    V1ConfigMap,
    V1NetworkPolicy,
    V1PersistentVolumeClaim,
    V1ResourceQuota,
    V1Secret,
    V1Service,
)

from actors.config import ControllerConfig
from actors.kube import KubeClient
from actors.labs.builder import LabObjects, NamespacedLabObject, required_source_secrets
from actors.labs.builder.errors import MissingSecretError

LAB_STOP_GRACE_PERIOD = 1
"""Seconds of grace for a lab pod being deleted."""


async def read_source_secrets(
    kube: KubeClient, config: ControllerConfig, controller_namespace: str
) -> tuple[dict[str, V1Secret], V1Secret | None]:
    """The controller-namespace secrets a lab copies, and its pull secret, read concurrently.

    Raises ``MissingSecretError`` naming the first absent secret.
    """
    names = required_source_secrets(config)
    found: dict[str, V1Secret | None] = {}
    pull_name = config.lab.pull_secret
    pull: list[V1Secret | None] = [None]

    async def read(name: str) -> None:
        found[name] = await kube.secrets.read(controller_namespace, name)

    async def read_pull(name: str) -> None:
        pull[0] = await kube.secrets.read(controller_namespace, name)

    async with trio.open_nursery() as nursery:
        for name in names:
            nursery.start_soon(read, name)
        if pull_name is not None:
            nursery.start_soon(read_pull, pull_name)
    secrets: dict[str, V1Secret] = {}
    for name in names:
        secret = found.get(name)
        if secret is None:
            raise MissingSecretError(f"Secret {controller_namespace}/{name} does not exist")
        secrets[name] = secret
    if pull_name is not None and pull[0] is None:
        raise MissingSecretError(f"Secret {controller_namespace}/{pull_name} does not exist")
    return secrets, pull[0]


async def _create_namespaced(kube: KubeClient, namespace: str, obj: NamespacedLabObject) -> None:
    # The created objects are not needed back: raw creates skip building models of them.
    match obj:
        case V1PersistentVolumeClaim():
            await kube.persistent_volume_claims.create_raw(namespace, obj)
        case V1ConfigMap():
            await kube.config_maps.create_raw(namespace, obj)
        case V1Secret():
            await kube.secrets.create_raw(namespace, obj)
        case V1ResourceQuota():
            await kube.resource_quotas.create_raw(namespace, obj)
        case V1NetworkPolicy():
            await kube.network_policies.create_raw(namespace, obj)
        case V1Service():
            await kube.services.create_raw(namespace, obj)


async def create_lab_objects(kube: KubeClient, objects: LabObjects) -> tuple[str | None, str]:
    """Create the lab: namespace, then the rest concurrently, then the pod.

    Returns the namespace's resourceVersion and the created pod's phase. Watching the
    namespace from that version sees every change since the namespace appeared, the pod's
    creation included, without a list call and without any race with the pod's creation.
    """
    metadata = objects.namespace.metadata
    assert metadata is not None
    assert metadata.name is not None
    namespace: str = metadata.name
    created = await kube.namespaces.create_raw(objects.namespace)
    async with trio.open_nursery() as nursery:
        for obj in objects.namespaced_objects():
            nursery.start_soon(_create_namespaced, kube, namespace, obj)
        nursery.start_soon(kube.service_accounts.wait_for_creation, namespace, "default")
    pod = await kube.pods.create_raw(namespace, objects.pod)
    return resource_version_of(created), pod_phase_of(pod)


def resource_version_of(obj: dict[str, Any]) -> str | None:
    """``metadata.resourceVersion`` of server JSON, if present."""
    version = (obj.get("metadata") or {}).get("resourceVersion")
    return version if isinstance(version, str) and version else None


def pod_phase_of(pod: dict[str, Any]) -> str:
    """A pod's phase from server JSON; a pod without one yet is ``Pending``, as the API
    server defaults it."""
    phase = (pod.get("status") or {}).get("phase")
    return phase if isinstance(phase, str) and phase else "Pending"


async def delete_lab_pod(kube: KubeClient, namespace: str, pod: str) -> None:
    """Delete the lab pod with a short grace period and wait until it is gone."""
    await kube.pods.delete(namespace, pod, grace_period=LAB_STOP_GRACE_PERIOD, wait=True)


async def delete_lab_namespace(kube: KubeClient, namespace: str) -> None:
    """Delete the lab namespace (and so everything in it) and wait until it is gone."""
    await kube.namespaces.delete(namespace, wait=True)
