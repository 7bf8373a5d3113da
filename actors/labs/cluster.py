"""The Kubernetes calls a lab needs, in as few sequential rounds as correctness allows.

Creating a lab takes two rounds, one request per object: the namespace; then every other
object at once, the pod included. Nothing orders them in Kubernetes: a pod whose config
maps or secrets do not exist yet simply waits for its volumes, and the quota admits a pod
created before it. The one thing the API server checks at creation is the pod's service
account (``default``, which a controller creates just after the namespace): if it is not
there yet, the pod is created again once it is. Deleting takes two waits: the
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
    V1Pod,
    V1ResourceQuota,
    V1Secret,
    V1Service,
)

from actors.config import ControllerConfig
from actors.kube import KubeClient, KubernetesError
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


async def create_lab_objects(
    kube: KubeClient, objects: LabObjects
) -> tuple[str | None, str, str | None]:
    """Create the lab: the namespace, then everything else at once, the pod included.

    Returns the namespace's resourceVersion, the created pod's phase and its ``uid``.
    """
    metadata = objects.namespace.metadata
    assert metadata is not None
    assert metadata.name is not None
    namespace: str = metadata.name
    created = await kube.namespaces.create_raw(objects.namespace)
    pod: list[dict[str, Any]] = []
    async with trio.open_nursery() as nursery:
        for obj in objects.namespaced_objects():
            nursery.start_soon(_create_namespaced, kube, namespace, obj)
        nursery.start_soon(_create_pod, kube, namespace, objects.pod, pod)
    uid = (pod[0].get("metadata") or {}).get("uid")
    return resource_version_of(created), pod_phase_of(pod[0]), uid if isinstance(uid, str) else None


async def _create_pod(
    kube: KubeClient, namespace: str, pod: V1Pod, created_pod: list[dict[str, Any]]
) -> None:
    """Create the pod, waiting for its service account only if the API server asks for it.

    The API server refuses a pod whose service account does not exist yet, and the
    namespace's ``default`` account is made by a controller shortly after the namespace. By
    the time this request arrives it almost always exists, so the pod is created at once; a
    refusal that names the missing account means: wait for it, then create again.
    """
    try:
        created = await kube.pods.create_raw(namespace, pod)
    except KubernetesError as error:
        if not _missing_service_account(error):
            raise
        account = (pod.spec.service_account_name if pod.spec is not None else None) or "default"
        await kube.service_accounts.wait_for_creation(namespace, account)
        created = await kube.pods.create_raw(namespace, pod)
    created_pod.append(created)


def _missing_service_account(error: KubernetesError) -> bool:
    """The ServiceAccount admission plugin's refusal: 403 naming a service account."""
    return error.status == 403 and "error looking up service account" in error.message


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
