"""File servers as the web layer sees them: a few calls that only send messages.

``FileserverService`` owns the ``fileservers`` subtree::

    fileservers                       (supervisor; escalates)
    ├── informer/fileserver-pods      (the one watch of file-server pods; a view per server)
    ├── informer/fileserver-ingresses (the one watch of their Ingresses, for the address)
    ├── fileserver-manager            (directory of running servers, reconciliation)
    └── fileserver-users              (supervisor; gives up on an actor that keeps crashing)
        └── fileserver/<user>         (started on demand, retired when it has nothing to do)

File server actors follow their pods and Ingresses through the informers' feeds, which
outlive the informers' incarnations, as lab actors follow their pods (``.informers``).

The service exists only when ``fileserver.enabled`` is true; the routes answer
``not_supported`` otherwise.
"""

from __future__ import annotations

import structlog
import trio

from actors.common.family import ActorFamily, tell_directory
from actors.common.models import UserInfo
from actors.common.tuning import DEFAULT_TUNING, Tuning
from actors.config import ControllerConfig
from actors.errors import FileServerCreateFailedError, FileServerDeleteFailedError, UnknownUserError
from actors.kube import KubeClient
from actors.runtime import (
    ActorRef,
    ActorStatus,
    ActorStopped,
)
from actors.runtime.node import Node
from actors.runtime.terms import TermReady, Terms

from .builder import fileserver_config
from .cluster import FileserverObservation
from .fileserver import FileserverActor, FileserverDependencies
from .informers import fileserver_informers
from .manager import FileserverManager, IsKnown, ListRunning, Reconcile, Report
from .messages import Ensure, IsRunning, Remove

__all__ = ["FileserverService"]

log = structlog.get_logger(__name__)

WAIT_SLACK = 5.0
"""Added to the configured deadlines when waiting for an operation (it enforces its own)."""


class FileserverService:
    """Create (or reuse), list, inspect and remove file servers."""

    def __init__(
        self,
        config: ControllerConfig,
        kube: KubeClient,
        *,
        tuning: Tuning = DEFAULT_TUNING,
        terms: Terms | None = None,
    ) -> None:
        self.config = config
        self.ask_timeout = tuning.ask_timeout
        self.fileserver = fileserver_config(config)
        self._ready = TermReady(terms)
        self.informers = fileserver_informers(
            kube,
            self.fileserver.namespace,
            reconnect_timeout=config.watch_reconnect_timeout.total_seconds(),
        )
        self._deps = FileserverDependencies(
            config=config,
            fileserver=self.fileserver,
            kube=kube,
            report=self._report,
            retire=self._retire,
            pods=self.informers.pods,
            ingresses=self.informers.ingresses,
        )
        self.family: ActorFamily[FileserverObservation] = ActorFamily(
            members="fileserver-users",
            kind="fileserver",
            limits=tuning.per_user_limits,
            make_member=self._make_actor,
            on_member_exit=self._actor_exited,
        )
        self.users = self.family.members
        self.registry = self.family.registry
        self.manager = ActorRef(
            "fileserver-manager",
            lambda: FileserverManager(
                self.fileserver,
                kube,
                actor_ref=self.registry.get,
                start_actor=self.family.start_observed,
                ready=self._ready.current(),
            ),
            mailbox_size=tuning.directory_mailbox,
        )
        self.supervisor = self.family.assemble(
            "fileservers",
            self.manager,
            [self.informers.pod_informer, self.informers.ingress_informer],
        )

    @property
    def ready(self) -> trio.Event:
        """Set once the directory has rebuilt its state in the current term (the whole
        process life for a lone replica)."""
        return self._ready.current()

    # -- the actors ------------------------------------------------------------------------

    def _make_actor(self, username: str, initial: FileserverObservation | None) -> FileserverActor:
        return FileserverActor(username, self._deps, initial=initial)

    def _retire(self, username: str, ref: ActorRef) -> None:
        if self.registry.get(username) is ref:
            self.registry.retire(username)

    def _actor_exited(self, username: str, node: Node) -> None:
        if node.status is ActorStatus.FAILED:
            self._report(username, False)

    def _report(self, username: str, running: bool) -> None:
        tell_directory(self.manager, Report(username, running), "File server directory")

    # -- calls for routes ------------------------------------------------------------------

    async def ensure(self, user: UserInfo) -> None:
        """Create the user's file server, or reuse the running one; return once it serves.

        Raises ``FileServerCreateFailedError`` (objects already cleaned up) or
        ``PermissionDeniedError`` for a user without UID/GID.
        """
        actor = self.registry.get_or_start(user.username)
        operation = await actor.ask(Ensure(user), timeout=self.ask_timeout)
        deadline = self.fileserver.creation_timeout.total_seconds() * 2 + WAIT_SLACK
        try:
            with trio.fail_after(deadline):
                await operation.wait()
        except trio.TooSlowError:
            raise FileServerCreateFailedError(
                f"Failed to create file server: File server creation timed out after {deadline}"
            ) from None

    async def running(self) -> list[str]:
        """Users whose file server is running, sorted."""
        return await self.manager.ask(ListRunning(), timeout=self.ask_timeout)

    async def is_running(self, username: str) -> bool:
        """Whether ``username``'s file server runs (from the actor's memory)."""
        actor = self.registry.get(username)
        if actor is None:
            return False
        try:
            return await actor.ask(IsRunning(), timeout=self.ask_timeout)
        except ActorStopped:
            return False

    async def delete(self, username: str) -> None:
        """Remove the user's file server and wait until its objects are gone (§8.4)."""
        actor = self.registry.get(username)
        if actor is None:
            if await self.manager.ask(IsKnown(username), timeout=self.ask_timeout):
                raise UnknownUserError(f"File server for {username} not running")
            raise UnknownUserError(f"Unknown user {username}")
        operation = await actor.ask(Remove(), timeout=self.ask_timeout)
        deadline = self.fileserver.delete_timeout.total_seconds() + WAIT_SLACK
        try:
            with trio.fail_after(deadline):
                await operation.wait()
        except trio.TooSlowError:
            raise FileServerDeleteFailedError(
                f"Failed to delete file server: File server deletion timed out after {deadline}"
            ) from None

    async def reconcile(self) -> int:
        """Run a reconciliation pass now (operators and tests); returns servers observed."""
        return await self.manager.ask(Reconcile(), timeout=60.0)
