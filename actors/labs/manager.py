"""``lab-manager``: the directory of labs and the reconciliation loop.

Lab actors report every change of their state here, so that listing running labs (which
JupyterHub does often) costs one message instead of one per lab. The manager also remembers
which users are *registered* (``api.md`` §5.5: a user whose create passed the identity checks,
or whose lab was discovered), and the last state of any lab whose actor was given up after
crashing repeatedly, which is then reported as ``failed``.

A given-up lab is not left to the next reconciliation (minutes away): the manager revives it
with a fresh actor, which rebuilds from Kubernetes, after ``revive_after`` seconds, doubling
the wait each time the revived actor is given up again within ``healthy_after`` seconds, up to
the reconcile interval. When what made it crash was outside the lab (an API server refusing
watches for a while), the status is true again shortly after the cause is gone; a lab that is
broken for good costs no more than reconciliation already spends on it.

Reconciliation runs once before the controller is ready, then every
``lab.reconcileInterval``: it reads every lab from the lab informers' indexes
(``reconcile.py``; the first pass waits until each informer has listed) and tells each lab
actor what was seen; the actors decide what to do with it, because only they know whether an
operation is running or their state changed since the indexes were last known current.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import structlog
import trio

from actors.common.models import LabState, LabStatus
from actors.config import ControllerConfig
from actors.kube import KubernetesError
from actors.labs.informers import LabFeeds
from actors.labs.messages import Observation, Observe, ObservedKind
from actors.labs.reconcile import observe_labs
from actors.runtime import Actor, ActorRef, ActorStopped, MailboxFull, Request
from actors.runtime.snapshot import wall_clock

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Report(Request[None]):
    """A lab actor's new state (``None``: the lab is gone)."""

    username: str
    state: LabState | None


@dataclass(frozen=True)
class Register(Request[None]):
    username: str


@dataclass(frozen=True)
class ActorGaveUp(Request[None]):
    """The lab actor of ``username`` crashed too often and was stopped for good."""

    username: str


@dataclass(frozen=True)
class ListRunning(Request[list[str]]):
    pass


@dataclass(frozen=True)
class IsRegistered(Request[bool]):
    username: str


@dataclass(frozen=True)
class LastKnownState(Request[LabState | None]):
    """The last state a lab reported, or that of a lab whose actor was given up."""

    username: str


@dataclass(frozen=True)
class ListStates(Request[dict[str, tuple[LabState, float]]]):
    """Every known lab's state (given-up ones as ``failed``) and since when, wall clock.

    "Since" is when this controller first saw the lab: its spawn, or its discovery at startup.
    """


@dataclass(frozen=True)
class Reconcile(Request[int]):
    """Run a reconciliation pass now; the reply is the number of labs observed."""


RESYNC_TIMEOUT = 60.0
"""Seconds a new leader's directory waits for fresh lists before it crashes and retries."""


class LabManager(Actor):
    """Directory of lab states and the reconcile loop."""

    kind = "lab-manager"

    def __init__(
        self,
        config: ControllerConfig,
        feeds: LabFeeds,
        *,
        lab_ref: Callable[[str], ActorRef | None],
        start_lab: Callable[[str, Observation], ActorRef],
        revive_lab: Callable[[str], None],
        revive_after: float,
        healthy_after: float,
        ready: trio.Event,
        resync_first: bool = False,
    ) -> None:
        self.config = config
        self.feeds = feeds
        self._resync_first = resync_first
        self._lab_ref = lab_ref
        self._start_lab = start_lab
        self._revive_lab = revive_lab
        self._revive_after = revive_after
        self._healthy_after = healthy_after
        self._ready = ready
        self.states: dict[str, LabState] = {}
        self.registered: set[str] = set()
        self.abandoned: dict[str, LabState] = {}
        self.since: dict[str, float] = {}
        """When each known lab first appeared to this controller (``time.time()``)."""
        self.passes = 0
        self.last_pass_error: str | None = None
        self.last_pass_at: float | None = None
        """Wall-clock time of the last successful pass (health: reconcile age)."""
        self._revivals_due: dict[str, tuple[float, int]] = {}
        """Given-up labs to revive: when, and how many revivals in a row failed before."""
        self._revived: dict[str, tuple[float, int]] = {}
        """Recent revivals: when, and their number in the current run of failures."""
        self._reviver_wakeup = trio.Event()

    async def on_start(self) -> None:
        if self._resync_first:
            # A term after another leader's: its last writes may still be on their way to
            # the informers; read the cluster afresh before judging any lab by it.
            await self.feeds.wait_listed()
            with trio.fail_after(RESYNC_TIMEOUT):
                await self.feeds.resync()
        # Before the controller serves requests, know every lab (api.md §6.4).
        await self._reconcile()
        self._ready.set()
        self.context.start_soon(self._reconcile_forever)
        self.context.start_soon(self._revive_forever)

    async def handle(self, message: object) -> object:
        match message:
            case Report(username, state):
                self.registered.add(username)
                self.abandoned.pop(username, None)
                if state is None:
                    self.states.pop(username, None)
                    self.since.pop(username, None)
                else:
                    self.states[username] = state
                    self.since.setdefault(username, time.time())
                return None
            case Register(username):
                self.registered.add(username)
                return None
            case ActorGaveUp(username):
                self._gave_up(username)
                return None
            case ListRunning():
                return [u for u, s in self.states.items() if s.status is LabStatus.RUNNING]
            case IsRegistered(username):
                return username in self.registered
            case LastKnownState(username):
                return self.states.get(username) or self.abandoned.get(username)
            case ListStates():
                return self._list_states()
            case Reconcile():
                return await self._reconcile()
        return await super().handle(message)

    def _list_states(self) -> dict[str, tuple[LabState, float]]:
        now = time.time()
        known = {**self.abandoned, **self.states}
        return {user: (state, self.since.get(user, now)) for user, state in known.items()}

    def _gave_up(self, username: str) -> None:
        log.error("Lab actor given up after repeated crashes", user=username)
        state = self.states.pop(username, None)
        if state is None:
            return
        # The last state we were told, marked failed: what the user's poll now sees, until a
        # revived actor has rebuilt the truth.
        self.abandoned[username] = state.model_copy(
            update={"status": LabStatus.FAILED, "internal_url": None}
        )
        now = trio.current_time()
        revived_at, failures = self._revived.pop(username, (-math.inf, -1))
        failures = failures + 1 if now - revived_at < self._healthy_after else 0
        cap = self.config.lab.reconcile_interval.total_seconds()
        delay = min(cap, self._revive_after * 2.0**failures)
        self._revivals_due[username] = (now + delay, failures)
        self._reviver_wakeup.set()
        log.info("Lab actor will be revived", user=username, delay=delay)

    async def _revive_forever(self) -> None:
        """Start a fresh actor for each given-up lab when its revival is due."""
        while True:
            now = trio.current_time()
            for username, (due, failures) in list(self._revivals_due.items()):
                if due > now:
                    continue
                del self._revivals_due[username]
                if username in self.abandoned and self._lab_ref(username) is None:
                    self._revived[username] = (now, failures)
                    self._revive_lab(username)
            # Forget revivals that lasted: the next give-up starts the backoff over.
            for username, (revived_at, _) in list(self._revived.items()):
                if now - revived_at >= self._healthy_after:
                    del self._revived[username]
            self._reviver_wakeup = trio.Event()
            next_due = min((due for due, _ in self._revivals_due.values()), default=math.inf)
            if self._revived:
                next_due = min(next_due, now + self._healthy_after)
            # Nothing due: wait for the next give-up, however long that takes.
            with trio.move_on_at(next_due):
                await self._reviver_wakeup.wait()

    @property
    def phase(self) -> str:
        return "ready" if self._ready.is_set() else "reconciling"

    def inspect(self) -> dict[str, object]:
        return {
            "labs": len(self.states),
            "running": sum(1 for s in self.states.values() if s.status is LabStatus.RUNNING),
            "by_status": dict(Counter(s.status.value for s in self.states.values())),
            "registered": len(self.registered),
            "reconcile_passes": self.passes,
            "last_pass_at": wall_clock(self.last_pass_at),
            "revivals_due": len(self._revivals_due),
            "last_pass_error": self.last_pass_error,
        }

    async def _reconcile_forever(self) -> None:
        interval = self.config.lab.reconcile_interval.total_seconds()
        while True:
            await trio.sleep(interval)
            try:
                await self._reconcile()
            except (KubernetesError, trio.TooSlowError) as error:
                self.last_pass_error = str(error)
                log.warning("Lab reconciliation failed", error=str(error))

    async def _reconcile(self) -> int:
        with trio.fail_after(self.config.watch_reconnect_timeout.total_seconds()):
            await self.feeds.wait_listed()
        observations = observe_labs(self.config, self.feeds)
        started = self.feeds.synced_at
        for username in set(self.states) | set(observations):
            observation = observations.get(username) or Observation(ObservedKind.ABSENT, started)
            ref = self._lab_ref(username)
            if ref is None:
                if observation.kind is ObservedKind.ABSENT:
                    continue
                self.registered.add(username)
                self._start_lab(username, observation)
                continue
            try:
                ref.tell(Observe(observation))
            except (MailboxFull, ActorStopped) as error:
                log.warning("Could not hand observation to lab", user=username, error=str(error))
        self.passes += 1
        self.last_pass_at = time.time()
        self.last_pass_error = None
        log.info("Reconciled labs", observed=len(observations), known=len(self.states))
        return len(observations)
