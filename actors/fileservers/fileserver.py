"""``fileserver/<user>``: one user's file server, its operations and what it follows.

State (owned here, changed only in synchronous sections): ``running`` and the current
``operation`` (a creation or a deletion, run in the actor's nursery so the actor keeps
answering). Phases: ``absent``, ``creating``, ``running``, ``deleting``.

Life cycle:

* created on demand by ``Ensure`` (the ``GET {files}`` route) or by reconciliation;
* creation (``kubernetes-objects.md`` §3.5) takes its view of its pods *before* the Job
  exists, waits for the Ingress address and for a pod to leave Pending; any failure removes
  what was made and fails the operation with ``file_server_create_failed``;
* the view shows a pod end (the WebDAV server exits by itself when idle, §3.7) and the
  actor starts a deletion; an administrator's ``Remove`` does the same;
* once nothing runs and no message waits, the actor asks to be retired, so idle users cost
  nothing. Handlers never ``await``, so that check cannot race with a queued message.

Pods and the Ingress are followed through the service's shared informers
(:mod:`.informers`), not through watches of the actor's own: N file servers are one watch
connection per kind. A change arrives as a ``PodsChanged``/``IngressChanged`` told into the
actor's mailbox, and the actor reads the latest digests from its views when it handles it.
While the API server refuses the shared watch, the views keep what they last showed: a
running server stays running, and a creation waiting for its pod or address keeps waiting,
within ``creationTimeout`` (then it fails and cleans up as any timed-out creation does).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
import trio

from actors.alerts import Operation as Alerted
from actors.alerts import report_alert
from actors.common.models import UserInfo
from actors.common.operation import Operation, OperationKind
from actors.config import ControllerConfig, FileserverEnabled
from actors.errors import (
    FileServerCreateFailedError,
    FileServerDeleteFailedError,
    PermissionDeniedError,
    UnknownUserError,
    failure_text,
)
from actors.kube import PENDING_PHASES, KubeClient
from actors.kube.informer import GroupView, InformerFeed, KeyView
from actors.runtime import Actor, ActorRef, describe_error

from .builder import FileserverIdentityError, build_fileserver, fileserver_name
from .cluster import (
    FileserverObservation,
    ObservedKind,
    create_fileserver_objects,
    delete_fileserver_objects,
    observe_fileserver,
)
from .informers import FileserverPod
from .messages import Ensure, IngressChanged, IsRunning, Observe, PodsChanged, Remove

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
    pods: InformerFeed[FileserverPod]
    """File-server pods from the one shared watch, grouped by ``(namespace, user)``."""
    ingresses: InformerFeed[str]
    """Addresses of file-server Ingresses (``""``: none yet), from the one shared watch."""


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
        self._pods_view: GroupView[FileserverPod] | None = None
        """This server's view of its pods in the shared informer (``None``: not following)."""
        self._pods: dict[str, str] = {}
        """Phase of each of the server's pods, by pod name, as last read from the view."""
        self._pods_changed = trio.Event()
        self._ingress_view: KeyView[str] | None = None
        self._address = ""
        self._ingress_changed = trio.Event()
        self._refusals_logged: set[str] = set()
        """Kinds whose refused watch this server has logged (once per refusal)."""

    # -- life cycle ------------------------------------------------------------------------

    async def on_start(self) -> None:
        """Rebuild from reconciliation's observation or, after a restart, from Kubernetes."""
        self.context.on_exit(lambda _error: self._stop_watch())
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
            case PodsChanged():
                self._read_pods()
                self._retire_if_forgotten()
                return None
            case IngressChanged():
                self._read_ingress()
                self._retire_if_forgotten()
                return None
        return await super().handle(message)

    @property
    def phase(self) -> str:
        if self._busy:
            assert self.operation is not None
            return "creating" if self.operation.kind is OperationKind.SPAWN else "deleting"
        return "running" if self.running else "absent"

    def inspect(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "pods": len(self._pods),
            "watch": self._pods_view is not None,
        }

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

    def _retire_if_forgotten(self) -> None:
        """A change told just before the server stopped following it may have kept an
        operation's end from retiring the actor (a message was waiting): retire now."""
        if self._pods_view is None and self._ingress_view is None:
            self._retire_if_idle()

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
                await self._wait_for_ingress_address()
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
        report_alert(Alerted.FILESERVER_CREATE, reason, user=self.username)
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
            for phase in self._pods.values():
                if phase not in PENDING_PHASES:
                    return phase
            self._pods_changed = trio.Event()
            await self._pods_changed.wait()

    async def _wait_for_ingress_address(self) -> str:
        """The Ingress's address once it has one (it may not exist yet; §3.5 step 5)."""
        ref = self.context.ref
        self._address = ""
        self._ingress_view = self.deps.ingresses.watch(
            (self.namespace, self.name), lambda: ref.tell(IngressChanged())
        )
        try:
            self._read_ingress()
            while not self._address:
                self._ingress_changed = trio.Event()
                await self._ingress_changed.wait()
            return self._address
        finally:
            self._stop_ingress_watch()

    # -- the views of the shared informers -----------------------------------------------

    def _start_watch(self) -> None:
        """Follow the server's pods through the shared informer, unless already following."""
        if self._pods_view is not None:
            return
        ref = self.context.ref
        self._pods = {}
        self._pods_view = self.deps.pods.watch_group(
            (self.namespace, self.username), lambda: ref.tell(PodsChanged())
        )
        self._read_pods()

    def _stop_watch(self) -> None:
        if self._pods_view is not None:
            self.deps.pods.unwatch(self._pods_view)
            self._pods_view = None
        self._pods = {}
        self._stop_ingress_watch()

    def _stop_ingress_watch(self) -> None:
        if self._ingress_view is not None:
            self.deps.ingresses.unwatch(self._ingress_view)
            self._ingress_view = None

    def _read_pods(self) -> None:
        """Take the pods' latest phases from the view (the informer said they changed).

        While the shared watch is refused the last phases stand: nothing is concluded from
        silence, and a creation waiting for its pod waits within its own deadline.
        """
        view = self._pods_view
        if view is None:
            return
        pods = view.read()
        if self._refused("pods", view.error):
            return
        if not view.known:
            return
        self._pods = {name: pod.phase for (_namespace, name), pod in pods.items()}
        self._pods_changed.set()
        self._on_pods()

    def _read_ingress(self) -> None:
        view = self._ingress_view
        if view is None:
            return
        address = view.read()
        if self._refused("Ingress", view.error) or not view.known:
            return
        self._address = address or ""
        self._ingress_changed.set()

    def _refused(self, what: str, error: Exception | None) -> bool:
        """Whether the shared watch of ``what`` is refused; logged once per refusal."""
        if error is None:
            self._refusals_logged.discard(what)
            return False
        if what not in self._refusals_logged:
            self._refusals_logged.add(what)
            log.warning(
                f"Cannot follow the file server's {what}; waiting for Kubernetes",
                user=self.username,
                error=describe_error(error),
            )
        return True

    def _on_pods(self) -> None:
        """A finished pod means the server exited (idle timeout, crash): remove it."""
        if not self.running or self._busy:
            return
        if any(phase in FINISHED_PHASES for phase in self._pods.values()):
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
        report_alert(Alerted.FILESERVER_DELETE, reason, user=self.username)

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
