"""``migration/<old>-to-<new>``: one ordered pair's copy pod, what it sees of it, its result.

State: ``status`` — ``None`` (nothing known), a running status, or the final status of the
last copy, which is kept after the pod is cleaned up (``api.md`` §12.1). While a pod exists
the actor follows it through the shared informer of migration pods (:mod:`.informer`: one
watch connection for every migration, not one each); when its container terminates the
actor records the final status, then deletes the pod and its claims, and tells the manager
the pair no longer runs.

``Start`` is handled inline (the pair's mailbox is its lock): it returns once the pod has
left Pending, with the status at that moment (a fast copy may already be finished). Since
the mailbox is busy meanwhile, the view's notification also wakes the waiting start
directly; the ``PodChanged`` it tells is read afterwards and finds nothing new. While the
API server refuses the shared watch, a start keeps waiting within ``fsadmin.timeout`` and
a running copy keeps its status, rather than every migration failing at once.
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
from actors.fsadmin.errors import ControllerTimeoutError, KubernetesFailureError
from actors.kube import PENDING_PHASES, KubeClient, KubernetesError
from actors.kube.informer import InformerFeed, KeyView
from actors.runtime import Actor, Request
from actors.runtime.snapshot import describe_error

from .builder import build_migrator, migrator_pod_name
from .errors import MigrationFailedError
from .informer import CopyPod, copy_pod_digest

__all__ = [
    "Cancel",
    "GetStatus",
    "MigrationActor",
    "MigrationDependencies",
    "MigrationStatus",
    "PodChanged",
    "Start",
]

log = structlog.get_logger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class MigrationStatus:
    """``MigratorStatus`` of ``api.md`` §12.2; running ⇔ no exit code and no end time."""

    old_user: str
    new_user: str
    start_time: datetime | None
    end_time: datetime | None
    running: bool
    exit_code: int | None


@dataclass(frozen=True)
class Start(Request[MigrationStatus]):
    """Start the copy unless it runs; the status once the pod has left Pending."""


@dataclass(frozen=True)
class GetStatus(Request[MigrationStatus | None]):
    """The pair's status from memory; ``None`` when nothing is known."""


@dataclass(frozen=True)
class Cancel(Request[None]):
    """Remove the pod and its claims; a recorded final status stays."""


@dataclass(frozen=True)
class PodChanged:
    """The pair's pod changed in the shared informer (a ``tell`` from the feed); the actor
    reads its view when it handles this."""


@dataclass(frozen=True)
class MigrationDependencies:
    """What every migration actor shares; ``report(old, new, running)`` feeds the manager."""

    config: ControllerConfig
    kube: KubeClient
    namespace: str
    report: Callable[[str, str, bool], None]
    pods: InformerFeed[CopyPod]
    """Migration pods from the one shared watch, by ``(namespace, pod name)``."""


def status_of_pod(old_user: str, new_user: str, pod: CopyPod) -> MigrationStatus | None:
    """The status a pod shows; ``None`` when it has no container status yet."""
    if not pod.started:
        return None
    if not pod.terminated:
        return MigrationStatus(old_user, new_user, pod.start_time, None, True, None)
    return MigrationStatus(old_user, new_user, pod.start_time, pod.end_time, False, pod.exit_code)


class MigrationActor(Actor):
    """Runs and follows the copy of one user's home directory into another's."""

    kind = "migration"

    def __init__(
        self,
        old_user: str,
        new_user: str,
        deps: MigrationDependencies,
        *,
        initial: V1Pod | None = None,
    ) -> None:
        self.old_user = old_user
        self.new_user = new_user
        self.deps = deps
        self.kube = deps.kube
        self.namespace = deps.namespace
        self.pod_name = migrator_pod_name(old_user, new_user)
        self.timeout = deps.config.fsadmin.timeout.total_seconds()
        self.status: MigrationStatus | None = None
        self._initial = initial
        self._view: KeyView[CopyPod] | None = None
        """The pair's view of its pod in the shared informer (``None``: not following it)."""
        self._expected_uid: str | None = None
        """The uid of the pod a start created: another pod of that name is not news."""
        self._pod: CopyPod | None = None
        self._pod_gone = False
        """Whether the view showed the (expected) pod and then no pod."""
        self._wakeup = trio.Event()
        self._refusal_logged = False

    async def on_start(self) -> None:
        """Adopt a pod found at startup, or look for one after a restart."""
        self.context.on_exit(lambda _error: self._stop_watch())
        pod = self._initial
        self._initial = None
        if pod is None:
            with trio.fail_after(self.timeout):
                pod = await self.kube.pods.read(self.namespace, self.pod_name)
        if pod is not None:
            self._start_watch()

    async def handle(self, message: object) -> object:
        match message:
            case GetStatus():
                return self.status
            case Start():
                return await self._guarded("Migration creation", self._start)
            case Cancel():
                await self._guarded("Migration deletion", self._cancel)
                return None
            case PodChanged():
                self._read_view()
                return None
        return await super().handle(message)

    @property
    def phase(self) -> str:
        if self.status is None:
            return "unknown"
        return "running" if self.status.running else f"finished/{self.status.exit_code}"

    def inspect(self) -> dict[str, object]:
        return {
            "old_user": self.old_user,
            "new_user": self.new_user,
            "watch": self._view is not None,
        }

    async def _guarded(self, operation: str, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` under ``fsadmin.timeout``; timeouts and API errors become 500s."""
        started = trio.current_time()
        try:
            with trio.fail_after(self.timeout):
                return await work()
        except trio.TooSlowError:
            elapsed = trio.current_time() - started
            report_alert(Alerted.MIGRATION, f"{operation} timed out after {elapsed:.0f} s")
            raise ControllerTimeoutError(f"{operation} timed out after {elapsed:.3f}") from None
        except KubernetesError as error:
            log.error(f"{operation} failed", error=describe_error(error))
            report_alert(Alerted.MIGRATION, f"{operation} failed: {describe_error(error)}")
            raise KubernetesFailureError(f"{operation} failed: Kubernetes API error") from None

    def _set_status(self, status: MigrationStatus | None) -> None:
        self.status = status
        running = status is not None and status.running
        self.deps.report(self.old_user, self.new_user, running)
        self.context.changed()

    # -- start -----------------------------------------------------------------------------

    async def _start(self) -> MigrationStatus:
        if self.status is not None and self.status.running:
            return self.status
        self.status = None  # forget the previous result: a new copy begins
        objects = build_migrator(self.deps.config, self.namespace, self.old_user, self.new_user)
        self._set_status(MigrationStatus(self.old_user, self.new_user, None, None, True, None))
        try:
            for pvc in objects.pvcs:
                await self.kube.persistent_volume_claims.create_or_replace(self.namespace, pvc)
            created = await self.kube.pods.create_or_replace(self.namespace, objects.pod)
            self._start_watch(created.metadata.uid if created.metadata else None, fresh=True)
            phase = await self._wait_for_pod_start()
            if phase is not None and self._view is not None:
                # The status at this moment from the API server itself, which the informer
                # may trail by an event: a copy that ends at once is answered as ended.
                await self._read_pod(created.metadata.uid if created.metadata else None)
        except BaseException:
            if self.status is not None and self.status.running:
                self._set_status(None)
            raise
        if self.status is None or phase is None:
            raise MigrationFailedError(f"Migration pod {self.pod_name} vanished")
        log.info("Migration started", old=self.old_user, new=self.new_user, phase=phase)
        return self.status

    async def _wait_for_pod_start(self) -> str | None:
        """The pod's phase once it leaves Pending (``None``: it vanished), within the
        caller's deadline. The view's notifications wake this wait directly: the mailbox
        is busy with the start."""
        while True:
            self._wakeup = trio.Event()
            self._read_view()
            if self._pod_gone:
                return None
            pod = self._pod
            if pod is not None and (pod.phase not in PENDING_PHASES or pod.terminated):
                # A terminated copy is an answer even if the phase lags: its view is gone.
                return pod.phase
            await self._wakeup.wait()

    async def _read_pod(self, uid: str | None) -> None:
        raw = await self.kube.pods.read_raw(self.namespace, self.pod_name)
        if raw is None:
            return
        pod = copy_pod_digest(raw)
        if uid is None or pod.uid == uid:
            self._on_pod(pod)

    # -- the view of the shared informer ---------------------------------------------------

    def _start_watch(self, uid: str | None = None, *, fresh: bool = False) -> None:
        """Follow the pod through the shared informer, unless already following it.

        A start takes a ``fresh`` view, expecting the pod it created (``uid``): until the
        informer has seen that pod, the index may still show the one it replaced, or none.
        """
        if self._view is not None and not fresh:
            return
        self._stop_watch()
        self._expected_uid = uid or None
        self._pod = None
        self._pod_gone = False
        self._view = self.deps.pods.watch((self.namespace, self.pod_name), self._notified)
        self._read_view()

    def _notified(self) -> None:
        """The feed's notification: wake a start waiting inline, and tell the mailbox.

        ``tell`` goes last so that a full mailbox (retried by the feed) or a stopped actor
        (the feed drops the view) is reported to the feed as it would be without the wake.
        """
        self._wakeup.set()
        self.context.ref.tell(PodChanged())

    def _stop_watch(self) -> None:
        if self._view is not None:
            self.deps.pods.unwatch(self._view)
            self._view = None

    def _read_view(self) -> None:
        """Take the pod's latest digest from the view and follow it."""
        view = self._view
        if view is None:
            return
        pod = view.read()
        if view.error is not None:
            if not self._refusal_logged:
                self._refusal_logged = True
                log.warning(
                    "Cannot follow the migration pod; waiting",
                    pod=self.pod_name,
                    error=describe_error(view.error),
                )
            return
        self._refusal_logged = False
        if not view.known:
            return
        expected = self._expected_uid
        if pod is None or (expected is not None and pod.uid != expected):
            # Absent, or the pod a start replaced: news only once the new pod was seen.
            if expected is None and self._pod is not None:
                self._pod_gone = True
            self._pod = None
            return
        self._expected_uid = None
        self._pod = pod
        self._on_pod(pod)

    def _on_pod(self, pod: CopyPod) -> None:
        """Follow the pod; on termination keep the final status and clean the pod up."""
        status = status_of_pod(self.old_user, self.new_user, pod)
        if status is None or status == self.status:
            return
        if self.status is not None and not self.status.running:
            return  # already finished and being cleaned up
        self._set_status(status)
        if not status.running:
            log.info(
                "Migration finished", old=self.old_user, new=self.new_user, code=status.exit_code
            )
            self._stop_watch()
            self.context.start_soon(self._clean_up)

    async def _clean_up(self) -> None:
        try:
            with trio.fail_after(self.timeout):
                await self._delete_objects()
        except (trio.TooSlowError, KubernetesError) as error:
            log.warning(
                "Could not clean up migration pod", pod=self.pod_name, error=describe_error(error)
            )

    # -- cancel ----------------------------------------------------------------------------

    async def _cancel(self) -> None:
        self._stop_watch()
        await self._delete_objects()
        if self.status is not None and self.status.running:
            self._set_status(None)

    async def _delete_objects(self) -> None:
        await self.kube.pods.delete(self.namespace, self.pod_name, wait=True)
        objects = build_migrator(self.deps.config, self.namespace, self.old_user, self.new_user)
        for pvc in objects.pvcs:
            if pvc.metadata is not None and pvc.metadata.name is not None:
                await self.kube.persistent_volume_claims.delete(
                    self.namespace, pvc.metadata.name, wait=True
                )
