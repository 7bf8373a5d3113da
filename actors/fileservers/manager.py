"""``fileserver-manager``: the directory of running file servers and reconciliation.

File server actors report every change of ``running`` here, so listing running servers is
one message. The manager also remembers every user that ever had a file server record since
the controller started (``known``), which decides between the two 404 messages of
``api.md`` §8.4.

Reconciliation (``kubernetes-objects.md`` §3.8) runs before the controller is ready, then
every ``fileserver.reconcileInterval``: three list calls, one observation per user, handed to
the user's actor (started for users with objects but no actor). The actors decide what to
do, because only they know whether an operation runs or their state changed meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
import trio

from actors.config import FileserverEnabled
from actors.kube import KubeClient, KubernetesError
from actors.runtime import Actor, ActorRef, ActorStopped, MailboxFull, Request
from actors.runtime.snapshot import describe_error, wall_clock

from .cluster import FileserverObservation, ObservedKind, observe_all_fileservers
from .messages import Observe

log = structlog.get_logger(__name__)

LIST_TIMEOUT = 30.0
"""Deadline of one reconciliation pass's reads (§3.8)."""


@dataclass(frozen=True)
class Report(Request[None]):
    username: str
    running: bool


@dataclass(frozen=True)
class ListRunning(Request[list[str]]):
    pass


@dataclass(frozen=True)
class IsKnown(Request[bool]):
    username: str


@dataclass(frozen=True)
class Reconcile(Request[int]):
    """Run a pass now; the reply is the number of file servers observed."""


class FileserverManager(Actor):
    """Directory of running file servers and the reconcile loop."""

    kind = "fileserver-manager"

    def __init__(
        self,
        fileserver: FileserverEnabled,
        kube: KubeClient,
        *,
        actor_ref: Callable[[str], ActorRef | None],
        start_actor: Callable[[str, FileserverObservation], ActorRef],
        ready: trio.Event,
    ) -> None:
        self.fileserver = fileserver
        self.kube = kube
        self._actor_ref = actor_ref
        self._start_actor = start_actor
        self._ready = ready
        self.running: set[str] = set()
        self.known: set[str] = set()
        self.passes = 0
        self.last_pass_error: str | None = None
        self.last_pass_at: float | None = None
        """Wall-clock time of the last successful pass (health: reconcile age)."""

    async def on_start(self) -> None:
        await self._reconcile()
        self._ready.set()
        self.context.start_soon(self._reconcile_forever)

    async def handle(self, message: object) -> object:
        match message:
            case Report(username, running):
                self.known.add(username)
                if running:
                    self.running.add(username)
                else:
                    self.running.discard(username)
                return None
            case ListRunning():
                return sorted(self.running)
            case IsKnown(username):
                return username in self.known
            case Reconcile():
                return await self._reconcile()
        return await super().handle(message)

    @property
    def phase(self) -> str:
        return "ready" if self._ready.is_set() else "reconciling"

    def inspect(self) -> dict[str, object]:
        return {
            "running": len(self.running),
            "known": len(self.known),
            "reconcile_passes": self.passes,
            "last_pass_at": wall_clock(self.last_pass_at),
            "last_pass_error": self.last_pass_error,
        }

    async def _reconcile_forever(self) -> None:
        interval = self.fileserver.reconcile_interval.total_seconds()
        while True:
            await trio.sleep(interval)
            try:
                await self._reconcile()
            except (KubernetesError, trio.TooSlowError) as error:
                self.last_pass_error = str(error)
                log.warning("File server reconciliation failed", error=describe_error(error))

    async def _reconcile(self) -> int:
        started = trio.current_time()
        with trio.fail_after(LIST_TIMEOUT):
            observations = await observe_all_fileservers(
                self.kube, self.fileserver.namespace, started
            )
        for username in self.running | set(observations):
            observation = observations.get(username) or FileserverObservation(
                ObservedKind.ABSENT, started
            )
            ref = self._actor_ref(username)
            if ref is None:
                if observation.kind is not ObservedKind.ABSENT:
                    self.known.add(username)
                    self._start_actor(username, observation)
                continue
            try:
                ref.tell(Observe(observation))
            except (MailboxFull, ActorStopped) as error:
                log.warning(
                    "Could not hand observation to file server",
                    user=username,
                    error=describe_error(error),
                )
        self.passes += 1
        self.last_pass_at = time.time()
        self.last_pass_error = None
        log.info("Reconciled file servers", observed=len(observations), running=len(self.running))
        return len(observations)
