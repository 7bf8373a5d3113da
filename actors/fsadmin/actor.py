"""``fsadmin``: the singleton actor owning the fsadmin pod (``kubernetes-objects.md`` §4.3).

Status, create and delete are messages handled one at a time, in order, each under
``fsadmin.timeout``: the mailbox *is* the controller-wide lock of ``api.md`` §9 (a status
query sent while a create waits for its pod is answered after that create). The actor keeps
no state of its own: Kubernetes is read on every request, so a restart loses nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import structlog
import trio
from kubernetes.client import V1Pod

from actors.alerts import Operation as Alerted
from actors.alerts import report_alert
from actors.config import ControllerConfig
from actors.errors import InvalidPodPhaseError, PodNotFoundError
from actors.kube import KubeClient, KubernetesError
from actors.runtime import Actor, Request
from actors.runtime.snapshot import describe_error

from .builder import build_fsadmin
from .errors import ControllerTimeoutError, KubernetesFailureError

__all__ = ["CreateFSAdmin", "DeleteFSAdmin", "FSAdminActor", "FSAdminStatus", "GetFSAdmin"]

log = structlog.get_logger(__name__)

T = TypeVar("T")

FSADMIN_STOP_GRACE_PERIOD = 1
"""Seconds of grace when deleting the pod: its ``tail`` runs as PID 1 and ignores SIGTERM, so
the default 30 s would only be waited out; administrators' shells are killed either way."""


@dataclass(frozen=True)
class FSAdminStatus:
    """A running fsadmin pod: when Kubernetes says it started."""

    start_time: datetime


@dataclass(frozen=True)
class GetFSAdmin(Request[FSAdminStatus]):
    """Status, or ``PodNotFoundError`` / ``InvalidPodPhaseError``."""


@dataclass(frozen=True)
class CreateFSAdmin(Request[FSAdminStatus]):
    """Start the pod unless it runs; answer as ``GetFSAdmin`` once it left Pending."""


@dataclass(frozen=True)
class DeleteFSAdmin(Request[None]):
    """Remove the pod and its claims and wait for them to go (nothing there is fine)."""


class FSAdminActor(Actor):
    """Create, inspect and delete the fsadmin pod, one request at a time."""

    kind = "fsadmin"

    def __init__(self, config: ControllerConfig, kube: KubeClient, namespace: str) -> None:
        self.config = config
        self.kube = kube
        self.namespace = namespace
        self.pod_name = config.fsadmin.pod_name
        self.timeout = config.fsadmin.timeout.total_seconds()
        self.last_start: datetime | None = None

    async def handle(self, message: object) -> object:
        match message:
            case GetFSAdmin():
                return await self._guarded("Filesystem admin query", self._status)
            case CreateFSAdmin():
                return await self._guarded("Filesystem admin creation", self._create)
            case DeleteFSAdmin():
                return await self._guarded("Filesystem admin deletion", self._delete)
        return await super().handle(message)

    def inspect(self) -> dict[str, object]:
        return {
            "namespace": self.namespace,
            "pod": self.pod_name,
            "last_start": self.last_start.isoformat() if self.last_start else None,
        }

    async def _guarded(self, operation: str, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` under the timeout; turn timeouts and API errors into 500 refusals."""
        started = trio.current_time()
        try:
            with trio.fail_after(self.timeout):
                return await work()
        except trio.TooSlowError:
            elapsed = trio.current_time() - started
            report_alert(Alerted.FSADMIN, f"{operation} timed out after {elapsed:.0f} s")
            raise ControllerTimeoutError(f"{operation} timed out after {elapsed:.3f}") from None
        except KubernetesError as error:
            log.error(f"{operation} failed", error=describe_error(error))
            report_alert(Alerted.FSADMIN, f"{operation} failed: {describe_error(error)}")
            raise KubernetesFailureError(f"{operation} failed: Kubernetes API error") from None

    def _answer(self, pod: V1Pod | None) -> FSAdminStatus:
        if pod is None:
            raise PodNotFoundError(f"{self.namespace}/{self.pod_name}")
        phase = (pod.status.phase if pod.status else None) or "Unknown"
        if phase != "Running" or pod.status is None or pod.status.start_time is None:
            raise InvalidPodPhaseError(phase)
        return FSAdminStatus(start_time=pod.status.start_time)

    async def _status(self) -> FSAdminStatus:
        return self._answer(await self.kube.pods.read(self.namespace, self.pod_name))

    async def _create(self) -> FSAdminStatus:
        pod = await self.kube.pods.read(self.namespace, self.pod_name)
        if pod is not None and pod.status is not None and pod.status.phase == "Running":
            return self._answer(pod)
        objects = build_fsadmin(self.config, self.namespace)
        for pvc in objects.pvcs:
            await self.kube.persistent_volume_claims.create_or_replace(self.namespace, pvc)
        await self.kube.pods.create_or_replace(self.namespace, objects.pod)
        await self.kube.wait_for_pod_phase(self.namespace, self.pod_name)
        status = self._answer(await self.kube.pods.read(self.namespace, self.pod_name))
        self.last_start = status.start_time
        log.info("fsadmin pod running", pod=self.pod_name)
        return status

    async def _delete(self) -> None:
        await self.kube.pods.delete(
            self.namespace, self.pod_name, grace_period=FSADMIN_STOP_GRACE_PERIOD, wait=True
        )
        for pvc in build_fsadmin(self.config, self.namespace).pvcs:
            assert pvc.metadata is not None
            assert pvc.metadata.name is not None
            await self.kube.persistent_volume_claims.delete(
                self.namespace, pvc.metadata.name, wait=True
            )
        log.info("fsadmin pod deleted", pod=self.pod_name)
