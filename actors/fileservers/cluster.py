"""The Kubernetes calls of one file server (``kubernetes-objects.md`` §3.5, §3.6, §3.8).

Every function runs under the caller's deadline. Creation replaces objects left over from an
earlier server (create with replace); deletion follows the specified order so that the
per-user ingress disappears first and the user's next visit reaches the controller again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

from kubernetes.client import V1Ingress, V1Job, V1Pod

from actors.common.labels import Category
from actors.kube import CATEGORY_LABEL, USER_LABEL, KubeClient

from .builder import FileserverObjects, fileserver_name

__all__ = [
    "FOREGROUND",
    "FileserverObservation",
    "ObservedKind",
    "create_fileserver_objects",
    "delete_fileserver_objects",
    "ingress_address",
    "observe_all_fileservers",
    "observe_fileserver",
]

FOREGROUND = "Foreground"
JOB_NAME_LABEL = "job-name"


async def create_fileserver_objects(kube: KubeClient, objects: FileserverObjects) -> None:
    """Claims, GafaelfawrIngress, Service, then Job, each replacing a stale object."""
    namespace = objects.namespace
    for pvc in objects.pvcs:
        await kube.persistent_volume_claims.create_or_replace(namespace, pvc)
    await kube.gafaelfawr_ingresses.create_or_replace(
        namespace, objects.gafaelfawr_ingress, propagation=FOREGROUND
    )
    await kube.services.create_or_replace(namespace, objects.service)
    await kube.jobs.create_or_replace(namespace, objects.job, propagation=FOREGROUND)


def ingress_address(ingress: V1Ingress | None) -> str | None:
    """The first load-balancer IP of an ingress, if it has one yet."""
    if ingress is None or ingress.status is None or ingress.status.load_balancer is None:
        return None
    entries = ingress.status.load_balancer.ingress or []
    return entries[0].ip if entries and entries[0].ip else None


async def delete_fileserver_objects(kube: KubeClient, namespace: str, username: str) -> None:
    """Delete a file server in the order of §3.6 and wait for each object (claims: no wait)."""
    name = fileserver_name(username)
    await kube.gafaelfawr_ingresses.delete(namespace, name, propagation=FOREGROUND, wait=True)
    await kube.ingresses.wait_for_deletion(namespace, name)
    await kube.services.delete(namespace, name, wait=True)
    await kube.jobs.delete(namespace, name, propagation=FOREGROUND, wait=True)
    claims = await kube.persistent_volume_claims.list(
        namespace, label_selector={USER_LABEL: username, CATEGORY_LABEL: Category.FILESERVER}
    )
    for claim in claims:
        if claim.metadata is not None and claim.metadata.name:
            await kube.persistent_volume_claims.delete(namespace, claim.metadata.name)


class ObservedKind(StrEnum):
    ABSENT = "absent"
    """No file server Job for the user."""
    INVALID = "invalid"
    """A Job, but no single running pod or no ingress address: broken or finished."""
    VALID = "valid"


@dataclass(frozen=True)
class FileserverObservation:
    """What one look at Kubernetes showed for one user (``pass_started``: Trio clock)."""

    kind: ObservedKind
    pass_started: float


def _judge(job: V1Job | None, pods: list[V1Pod], ingress: V1Ingress | None) -> ObservedKind:
    """Valid iff exactly one pod, in phase Running, and the ingress has an address (§3.8).

    Several pods count as "no valid pod" (quirk Q9).
    """
    if job is None:
        return ObservedKind.ABSENT
    if len(pods) != 1 or pods[0].status is None or pods[0].status.phase != "Running":
        return ObservedKind.INVALID
    return ObservedKind.VALID if ingress_address(ingress) else ObservedKind.INVALID


def _name(obj: V1Job | V1Pod | V1Ingress) -> str:
    return (obj.metadata.name if obj.metadata else None) or ""


def _labels(obj: V1Job | V1Pod) -> dict[str, str]:
    return (obj.metadata.labels if obj.metadata else None) or {}


async def observe_fileserver(
    kube: KubeClient, namespace: str, username: str, now: float
) -> FileserverObservation:
    """One user's file server as Kubernetes shows it now (three reads)."""
    name = fileserver_name(username)
    job = await kube.jobs.read(namespace, name)
    if job is None:
        return FileserverObservation(ObservedKind.ABSENT, now)
    pods = await kube.pods.list(namespace, label_selector={JOB_NAME_LABEL: name})
    ingress = await kube.ingresses.read(namespace, name)
    return FileserverObservation(_judge(job, pods, ingress), now)


@dataclass
class _Seen:
    job: V1Job | None = None
    pods: list[V1Pod] = field(default_factory=list)


async def observe_all_fileservers(
    kube: KubeClient, namespace: str, now: float
) -> dict[str, FileserverObservation]:
    """Every user's file server in three list calls (jobs, pods, ingresses), by username.

    Jobs without the user label are skipped; a second Job for one user is ignored.
    """
    category = {CATEGORY_LABEL: Category.FILESERVER.value}
    jobs = await kube.jobs.list(namespace, label_selector=category)
    pods = await kube.pods.list(namespace, label_selector=category)
    ingresses = {_name(i): i for i in await kube.ingresses.list(namespace)}
    seen: dict[str, _Seen] = defaultdict(_Seen)
    for job in jobs:
        username = _labels(job).get(USER_LABEL)
        if username is not None and seen[username].job is None:
            seen[username].job = job
    for pod in pods:
        owner = seen.get(_labels(pod).get(USER_LABEL) or "")
        owner_job = owner.job if owner is not None else None
        if (
            owner is not None
            and owner_job is not None
            and _labels(pod).get(JOB_NAME_LABEL) == _name(owner_job)
        ):
            owner.pods.append(pod)
    return {
        username: FileserverObservation(
            _judge(s.job, s.pods, ingresses.get(fileserver_name(username))), now
        )
        for username, s in seen.items()
        if s.job is not None
    }
