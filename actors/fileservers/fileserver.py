"""``fileserver/<user>``: one user's file server, its operations and its pod watch.

State (owned here, changed only in synchronous sections): ``running`` and the current
``operation`` (a creation or a deletion, run in the actor's nursery so the actor keeps
answering). Phases: ``absent``, ``creating``, ``running``, ``deleting``.

Life cycle:

* created on demand by ``Ensure`` (the ``GET {files}`` route) or by reconciliation;
* creation (``kubernetes-objects.md`` §3.5) starts the pod watch *before* the Job exists,
  waits for the ingress address and for the pod to leave Pending; any failure removes
  what was made and fails the operation with ``file_server_create_failed``;
* the watch sees the pod end (the WebDAV server exits by itself when idle, §3.7) and
  starts a deletion; an administrator's ``Remove`` does the same;
* once nothing runs and no message waits, the actor asks to be retired, so idle users cost
  nothing. Handlers never ``await``, so that check cannot race with a queued message.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
import trio
from kubernetes.client import V1Pod

from actors.config import ControllerConfig, FileserverEnabled
from actors.errors import (
    FileServerCreateFailedError,
    FileServerDeleteFailedError,
    PermissionDeniedError,
    UnknownUserError,
    failure_text,
)
from actors.kube import PENDING_PHASES, KubeClient, WatchSync
from actors.labs.builder.labels import Category, selector_labels
from actors.labs.models import UserInfo
from actors.labs.operation import Operation, OperationKind
from actors.runtime import Actor, ActorRef

from .builder import FileserverIdentityError, build_fileserver, fileserver_name
from .cluster import (
    FileserverObservation,
    ObservedKind,
    create_fileserver_objects,
    delete_fileserver_objects,
    observe_fileserver,
    wait_for_ingress_address,
)
from .messages import Ensure, IsRunning, Observe, Remove

log = structlog.get_logger(__name__)

READ_TIMEOUT = 30.0
"""Deadline of the reads that rebuild a restarted actor's state."""

FINISHED_PHASES = frozenset({"Succeeded", "Failed"})


@dataclass(frozen=True)
class FileserverDependencies:
    """What every file server actor shares.

    ``report(username, running)`` keeps the directory of running servers current;
    ``retire(username, ref)`` asks the registry to stop this actor (``ref``), which has
    nothing left to do; a newer actor of the same user is never affected.
    """

    config: ControllerConfig
    fileserver: FileserverEnabled
    kube: KubeClient
    report: Callable[[str, bool], None]
    retire: Callable[[str, ActorRef], None]


class FileserverActor(Actor):
    """The state machine of one user's file server."""

    kind = "fileserver"

    def __init__(
        self,
        username: str,
        deps: FileserverDependencies,
        *,
        initial: FileserverObservation | None = None,
    ) -> None:
        self.username = username
        self.deps = deps
        self.kube = deps.kube
        self.namespace = deps.fileserver.namespace
        self.name = fileserver_name(username)
        self.running = False
        self.operation: Operation | None = None
        self.changed_at = -math.inf
        self._initial = initial
        self._watch: trio.CancelScope | None = None
        self._pods: dict[str, V1Pod] = {}
        self._pods_changed = trio.Event()

    # -- life cycle ------------------------------------------------------------------------

    async def on_start(self) -> None:
        """Rebuild from reconciliation's observation or, after a restart, from Kubernetes."""
        observation = self._initial
        self._initial = None
        if observation is None:
            with trio.fail_after(READ_TIMEOUT):
                observation = await observe_fileserver(
                    self.kube, self.namespace, self.username, trio.current_time()
                )
        self._apply(observation, adopting=True)

    async def handle(self, message: object) -> object:
        match message:
            case Ensure(user):
                return self._ensure(user)
            case IsRunning():
                return self.running
            case Remove():
                return self._remove()
            case Observe(observation):
                self._apply(observation, adopting=False)
                return None
        return await super().handle(message)

    @property
    def phase(self) -> str:
        if self._busy:
            assert self.operation is not None
            return "creating" if self.operation.kind is OperationKind.SPAWN else "deleting"
        return "running" if self.running else "absent"

    def inspect(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "pods": len(self._pods), "watch": bool(self._watch)}

    # -- state -----------------------------------------------------------------------------

    @property
    def _busy(self) -> bool:
        return self.operation is not None and self.operation.running

    def _set_running(self, running: bool) -> None:
        self.running = running
        self.changed_at = trio.current_time()
        self.deps.report(self.username, running)
        self.context.changed()

    def _start(
        self, kind: OperationKind, work: Callable[[Operation], Awaitable[None]]
    ) -> Operation:
        operation = Operation(kind)
        self.operation = operation

        async def run() -> None:
            try:
                with operation.cancel_scope:
                    await work(operation)
            finally:
                operation.finish(operation.error)
                self.context.changed()
                self._retire_if_idle()

        self.context.start_soon(run)
        return operation

    def _retire_if_idle(self) -> None:
        if self.running or self._busy or self.context.ref.mailbox_depth > 0:
            return
        self._stop_watch()
        self.deps.retire(self.username, self.context.ref)

    # -- create ----------------------------------------------------------------------------

    def _ensure(self, user: UserInfo) -> Operation:
        current = self.operation
        if current is not None and current.running:
            if current.kind is OperationKind.SPAWN:
                return current
        elif self.running:
            done = Operation(OperationKind.SPAWN)
            done.finish()
            return done
        try:
            objects = build_fileserver(self.deps.config, user)
        except FileserverIdentityError as error:
            raise PermissionDeniedError(str(error)) from None

        async def create(operation: Operation) -> None:
            if current is not None:
                await current.done.wait()
            await self._create(operation, objects)

        return self._start(OperationKind.SPAWN, create)

    async def _create(self, operation: Operation, objects: Any) -> None:
        timeout = self.deps.fileserver.creation_timeout.total_seconds()
        started = trio.current_time()
        reason: str | None = None
        try:
            with trio.fail_after(timeout):
                self._start_watch()
                await create_fileserver_objects(self.kube, objects)
                await wait_for_ingress_address(self.kube, self.namespace, self.name)
                phase = await self._wait_for_pod_start()
                if phase != "Running":
                    reason = f"File server pod went to phase {phase}"
        except trio.TooSlowError:
            reason = f"File server creation timed out after {trio.current_time() - started:.1f}"
        except Exception as error:
            log.exception("File server creation failed", user=self.username)
            reason = failure_text(error)
        if reason is None:
            log.info("File server running", user=self.username)
            self._set_running(True)
            return
        operation.error = FileServerCreateFailedError(f"Failed to create file server: {reason}")
        self._stop_watch()
        await self._cleanup_after_failure()
        self._set_running(False)

    async def _cleanup_after_failure(self) -> None:
        with trio.move_on_after(self.deps.fileserver.delete_timeout.total_seconds()) as scope:
            try:
                await delete_fileserver_objects(self.kube, self.namespace, self.username)
            except Exception as error:
                log.warning("Cleanup after failed creation failed", error=failure_text(error))
        if scope.cancelled_caught:
            log.warning("Cleanup after failed creation timed out", user=self.username)

    async def _wait_for_pod_start(self) -> str:
        """The phase of the server's pod once it leaves Pending/Unknown (§3.5 steps 6-7)."""
        while True:
            for pod in self._pods.values():
                phase = (pod.status.phase if pod.status else None) or "Unknown"
                if phase not in PENDING_PHASES:
                    return phase
            self._pods_changed = trio.Event()
            await self._pods_changed.wait()

    # -- the pod watch ---------------------------------------------------------------------

    def _start_watch(self) -> None:
        if self._watch is not None:
            return
        scope = trio.CancelScope()
        self._watch = scope
        self._pods = {}
        self.context.start_soon(self._run_watch, scope)

    def _stop_watch(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        self._pods = {}

    async def _run_watch(self, scope: trio.CancelScope) -> None:
        selector = selector_labels(Category.FILESERVER, self.username)
        reconnect = self.deps.config.watch_reconnect_timeout.total_seconds()
        with scope:
            async with self.kube.pods.watch(
                self.namespace, label_selector=selector, reconnect_timeout=reconnect
            ) as events:
                async for item in events:
                    if isinstance(item, WatchSync):
                        self._pods = {_pod_name(p): p for p in item.objects}
                    elif item.type == "DELETED":
                        self._pods.pop(_pod_name(item.object), None)
                    else:
                        self._pods[_pod_name(item.object)] = item.object
                    self._pods_changed.set()
                    self._on_pods()

    def _on_pods(self) -> None:
        """A finished pod means the server exited (idle timeout, crash): remove it."""
        if not self.running or self._busy:
            return
        finished = [
            p for p in self._pods.values() if p.status and p.status.phase in FINISHED_PHASES
        ]
        if finished:
            log.info("File server exited; removing it", user=self.username)
            self._start(OperationKind.DELETE, lambda op: self._delete(op, None))

    # -- delete ----------------------------------------------------------------------------

    def _remove(self) -> Operation:
        current = self.operation
        if current is not None and current.running:
            if current.kind is OperationKind.DELETE:
                return current
            current.cancel()
        elif not self.running:
            raise UnknownUserError(f"File server for {self.username} not running")
        return self._start(OperationKind.DELETE, lambda op: self._delete(op, current))

    async def _delete(self, operation: Operation, previous: Operation | None) -> None:
        if previous is not None:
            await previous.done.wait()
        self._stop_watch()
        timeout = self.deps.fileserver.delete_timeout.total_seconds()
        started = trio.current_time()
        try:
            with trio.fail_after(timeout):
                await delete_fileserver_objects(self.kube, self.namespace, self.username)
        except trio.TooSlowError:
            elapsed = trio.current_time() - started
            reason = f"File server deletion timed out after {elapsed:.1f}"
        except Exception as error:
            log.exception("File server deletion failed", user=self.username)
            reason = failure_text(error)
        else:
            log.info("File server removed", user=self.username)
            self._set_running(False)
            return
        operation.error = FileServerDeleteFailedError(f"Failed to delete file server: {reason}")

    # -- reconciliation --------------------------------------------------------------------

    def _apply(self, observation: FileserverObservation, *, adopting: bool) -> None:
        """Bring the state in line with Kubernetes (§3.8), unless something newer happened."""
        if self._busy or observation.pass_started < self.changed_at:
            return
        match observation.kind:
            case ObservedKind.VALID:
                if not self.running:
                    self._set_running(True)
                self._start_watch()
            case ObservedKind.INVALID:
                log.info("Removing broken file server", user=self.username)
                self._start(OperationKind.DELETE, lambda op: self._delete(op, None))
            case ObservedKind.ABSENT:
                if self.running:
                    log.info("File server vanished; removing remnants", user=self.username)
                    self._start(OperationKind.DELETE, lambda op: self._delete(op, None))
                elif not adopting:
                    self._retire_if_idle()


def _pod_name(pod: V1Pod) -> str:
    return (pod.metadata.name if pod.metadata else None) or ""
