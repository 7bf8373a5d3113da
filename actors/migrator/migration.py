"""``migration/<old>-to-<new>``: one ordered pair's copy pod, its watch and its result.

State: ``status`` — ``None`` (nothing known), a running status, or the final status of the
last copy, which is kept after the pod is cleaned up (``api.md`` §12.1). The pod watch runs
while a pod exists; when its container terminates the actor records the final status, then
deletes the pod and its claims, and tells the manager the pair no longer runs.

``Start`` is handled inline (the pair's mailbox is its lock): it returns once the pod has
left Pending, with the status at that moment (a fast copy may already be finished).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import structlog
import trio
from kubernetes.client import V1Pod

from actors.config import ControllerConfig
from actors.fsadmin.errors import ControllerTimeoutError, KubernetesFailureError
from actors.kube import KubeClient, KubernetesError, WatchSync
from actors.runtime import Actor, Request
from actors.runtime.snapshot import describe_error

from .builder import build_migrator, migrator_pod_name
from .errors import MigrationFailedError

__all__ = [
    "Cancel",
    "GetStatus",
    "MigrationActor",
    "MigrationDependencies",
    "MigrationStatus",
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
class MigrationDependencies:
    """What every migration actor shares; ``report(old, new, running)`` feeds the manager."""

    config: ControllerConfig
    kube: KubeClient
    namespace: str
    report: Callable[[str, str, bool], None]


def status_of_pod(old_user: str, new_user: str, pod: V1Pod) -> MigrationStatus | None:
    """The status a pod shows; ``None`` when it has no container status yet."""
    status = pod.status
    if status is None or not status.container_statuses:
        return None
    state = status.container_statuses[0].state
    terminated = state.terminated if state is not None else None
    if terminated is None:
        return MigrationStatus(old_user, new_user, status.start_time, None, True, None)
    return MigrationStatus(
        old_user,
        new_user,
        status.start_time,
        terminated.finished_at,
        False,
        terminated.exit_code,
    )


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
        self._watch: trio.CancelScope | None = None
        self._pod_changed = trio.Event()

    async def on_start(self) -> None:
        """Adopt a pod found at startup, or look for one after a restart."""
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
        return await super().handle(message)

    @property
    def phase(self) -> str:
        if self.status is None:
            return "unknown"
        return "running" if self.status.running else f"finished/{self.status.exit_code}"

    def inspect(self) -> dict[str, object]:
        return {"old_user": self.old_user, "new_user": self.new_user, "watch": bool(self._watch)}

    async def _guarded(self, operation: str, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` under ``fsadmin.timeout``; timeouts and API errors become 500s."""
        started = trio.current_time()
        try:
            with trio.fail_after(self.timeout):
                return await work()
        except trio.TooSlowError:
            elapsed = trio.current_time() - started
            raise ControllerTimeoutError(f"{operation} timed out after {elapsed:.3f}") from None
        except KubernetesError as error:
            log.error(f"{operation} failed", error=describe_error(error))
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
            await self.kube.pods.create_or_replace(self.namespace, objects.pod)
            self._start_watch()
            phase = await self.kube.wait_for_pod_phase(self.namespace, self.pod_name)
            pod = await self.kube.pods.read(self.namespace, self.pod_name)
        except BaseException:
            if self.status is not None and self.status.running:
                self._set_status(None)
            raise
        if pod is not None:
            self._on_pod(pod)
        if self.status is None or phase is None:
            raise MigrationFailedError(f"Migration pod {self.pod_name} vanished")
        log.info("Migration started", old=self.old_user, new=self.new_user, phase=phase)
        return self.status

    # -- the pod watch ---------------------------------------------------------------------

    def _start_watch(self) -> None:
        if self._watch is not None:
            return
        scope = trio.CancelScope()
        self._watch = scope
        self.context.start_soon(self._run_watch, scope)

    def _stop_watch(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None

    async def _run_watch(self, scope: trio.CancelScope) -> None:
        with scope:
            async with self.kube.pods.watch(
                self.namespace, field_selector={"metadata.name": self.pod_name}
            ) as events:
                async for item in events:
                    if isinstance(item, WatchSync):
                        pod = item.objects[0] if item.objects else None
                    elif item.type == "DELETED":
                        pod = None
                    else:
                        pod = item.object
                    if pod is not None:
                        self._on_pod(pod)

    def _on_pod(self, pod: V1Pod) -> None:
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
