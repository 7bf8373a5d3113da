"""What a migration follows of its copy pod, through one shared watch of migration pods.

A migration reads its pod's phase (a start answers once the pod left Pending) and, from the
first container's status, when the copy started, whether it ended, when and with which exit
code. Each migration used to watch its pod with a connection of its own; now
``informer/migration-pods`` watches the controller namespace, narrowed to pods labelled
``nublado.lsst.io/category=migrator``, and keeps this digest of each (:class:`CopyPod`), by
``(namespace, pod name)``.

The digest carries the pod's uid: a start that replaced a leftover pod of the same name
must not take the old pod, still in the index until the informer sees it go, for its own.

The watch is namespaced, not cluster-wide: migration pods only ever run in the controller's
namespace, where the migration manager also looks for them at startup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from actors.common.labels import Category
from actors.kube import CATEGORY_LABEL, KubeClient
from actors.kube.informer import Informer, InformerFeed, InformerSpec
from actors.runtime import ActorRef

__all__ = ["MIGRATOR_SELECTOR", "CopyPod", "copy_pod_digest", "migration_pod_informer"]

MIGRATOR_SELECTOR = {CATEGORY_LABEL: Category.MIGRATOR.value}


@dataclass(frozen=True, slots=True)
class CopyPod:
    """The digest of a migration pod.

    ``started``: its container has a status (before that the copy has no start time to
    report). ``exit_code`` and ``end_time`` are set once the container terminated.
    """

    uid: str
    phase: str
    started: bool = False
    start_time: datetime | None = None
    terminated: bool = False
    end_time: datetime | None = None
    exit_code: int | None = None


def copy_pod_digest(obj: dict[str, Any]) -> CopyPod:
    """Only what a migration reads of its pod (server JSON; unreadable fields count as
    absent rather than stopping the shared watch)."""
    metadata = obj.get("metadata") or {}
    status = obj.get("status") or {}
    containers = status.get("containerStatuses") or []
    first = containers[0] if containers and isinstance(containers[0], dict) else None
    terminated = ((first or {}).get("state") or {}).get("terminated")
    exit_code = terminated.get("exitCode") if isinstance(terminated, dict) else None
    return CopyPod(
        uid=str(metadata.get("uid") or ""),
        phase=str(status.get("phase") or "Unknown"),
        started=first is not None,
        start_time=_timestamp(status.get("startTime")),
        terminated=isinstance(terminated, dict),
        end_time=_timestamp(terminated.get("finishedAt")) if isinstance(terminated, dict) else None,
        exit_code=exit_code if isinstance(exit_code, int) else None,
    )


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def migration_pod_informer(
    kube: KubeClient, namespace: str, *, reconnect_timeout: float
) -> tuple[InformerFeed[CopyPod], ActorRef]:
    """The feed (which outlives the informer's restarts) and ``informer/migration-pods``."""
    feed: InformerFeed[CopyPod] = InformerFeed("migration-pods")
    spec = InformerSpec.of(
        kube.pods,
        namespace,
        label_selector=MIGRATOR_SELECTOR,
        digest=copy_pod_digest,
        reconnect_timeout=reconnect_timeout,
    )
    return feed, ActorRef("informer/migration-pods", partial(Informer, feed, spec))
