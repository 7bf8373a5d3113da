"""Supervisors: run children, restart the ones that crash, give up when crashes pile up.

Policies follow the usual vocabulary:

* ``PERMANENT`` children are always restarted, even after a normal exit;
* ``TRANSIENT`` children are restarted only after a crash (a deliberate stop is final);
* ``TEMPORARY`` children are never restarted.

Restarts back off exponentially (``initial * 2**n``, capped) where ``n`` counts the child's
recent restarts. When more than ``max_restarts`` restarts happen within ``window`` seconds
across all children, the supervisor stops its children and fails with
:class:`SupervisorEscalation`, so that its own parent decides (at the root: process exit).

Children are *static* (given at construction; they come back whenever the supervisor itself
is restarted) or *dynamic* (started later, e.g. one actor per user; they die with the
incarnation of the supervisor that started them).
"""

from __future__ import annotations

import contextvars
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import partial

import structlog
import trio

from actors.runtime.errors import SupervisorEscalation
from actors.runtime.node import Node, TreeIndex
from actors.runtime.ref import ActorRef
from actors.runtime.snapshot import ActorSnapshot, ActorStatus, wall_clock

log = structlog.get_logger(__name__)


class RestartPolicy(StrEnum):
    """When a supervisor restarts a child that ended."""

    PERMANENT = "permanent"
    TRANSIENT = "transient"
    TEMPORARY = "temporary"


@dataclass(frozen=True)
class RestartLimits:
    """Backoff and restart intensity of one supervisor."""

    max_restarts: int = 5
    window: float = 30.0
    backoff_initial: float = 0.1
    backoff_max: float = 10.0
    escalate: bool = True
    """What exceeding the limit means. ``True``: the supervisor fails (its parent decides);
    counted over all children. ``False``: only the child that keeps crashing is given up
    (status ``failed``, removed) and its siblings are untouched; counted per child. Per-user
    actors use ``False`` so that one broken lab cannot take the others down."""

    def backoff(self, recent_restarts: int) -> float:
        """Delay before a child's next start, given its restarts within the window."""
        return min(self.backoff_max, self.backoff_initial * 2.0 ** max(0, recent_restarts - 1))


@dataclass(eq=False)
class _Child:
    key: int
    node: Node
    policy: RestartPolicy
    dynamic: bool
    on_exit: Callable[[Node], None] | None
    restarts_at: deque[float] | None = None  # made on first restart: most children never crash


class Supervisor(Node):
    """A node whose job is to keep its children running within its restart limits."""

    kind = "supervisor"

    def __init__(
        self,
        name: str,
        children: Iterable[tuple[Node, RestartPolicy]] = (),
        *,
        limits: RestartLimits | None = None,
    ) -> None:
        super().__init__(name)
        self.limits = limits or RestartLimits()
        self._children: dict[int, _Child] = {}
        self._nursery: trio.Nursery | None = None
        self._context = contextvars.copy_context()
        self._restarts_at: deque[float] = deque()
        self._next_id = 0
        for node, policy in children:
            self._add(node, policy, dynamic=False, on_exit=None)

    def attach(self, tree: TreeIndex) -> None:
        super().attach(tree)
        for child in self._children.values():
            child.node.attach(tree)

    # -- children --------------------------------------------------------------------------

    def start_child(
        self,
        node: Node,
        policy: RestartPolicy = RestartPolicy.TRANSIENT,
        *,
        on_exit: Callable[[Node], None] | None = None,
    ) -> None:
        """Add a dynamic child and start it at once (or when this supervisor next runs).

        Synchronous on purpose: a caller that checks for a name and then starts a child
        cannot be interleaved with another doing the same, which is what makes
        "create exactly once" trivial for registries.
        """
        node.attach(self.tree)
        child = self._add(node, policy, dynamic=True, on_exit=on_exit)
        if self._nursery is not None:
            # Trio gives a new task a copy of the *caller's* context variables. The caller is
            # often a request handler, whose context holds the request (and its log id): the
            # child would keep both alive and log under that request id for its whole life.
            # Children start from the supervisor's own context instead.
            self._context.copy().run(self._nursery.start_soon, self._supervise, child)

    @property
    def children(self) -> list[Node]:
        """The children in start order."""
        return [child.node for child in self._children.values()]

    def _add(
        self,
        node: Node,
        policy: RestartPolicy,
        *,
        dynamic: bool,
        on_exit: Callable[[Node], None] | None,
    ) -> _Child:
        child = _Child(self._next_id, node, policy, dynamic, on_exit)
        self._children[child.key] = child
        self._next_id += 1
        return child

    # -- running ---------------------------------------------------------------------------

    async def run_once(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Run every child until asked to stop; raise when restart intensity is exceeded.

        Each incarnation starts with a clean restart history, as a freshly started
        supervisor process would.
        """
        self.stop_requested = False
        self._restarts_at.clear()
        for child in self._children.values():
            child.restarts_at = None
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                self._context = contextvars.copy_context()
                for child in list(self._children.values()):
                    nursery.start_soon(self._supervise, child)
                self.set_status(ActorStatus.RUNNING)
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None
            for child in list(self._children.values()):
                if child.dynamic or self.stop_requested:
                    # Gone for good: askers still queued learn it now instead of timing out.
                    child.node.close()
                    self._forget(child)

    async def _supervise(self, child: _Child) -> None:
        if child.node.leader_only:
            await self._supervise_in_terms(child)
        else:
            await self._supervise_incarnations(child)

    async def _supervise_in_terms(self, child: _Child) -> None:
        """Run a leader-only child in every term this process holds, in standby between.

        The end of a term (or its fence) cancels the child like a stop; the next term starts
        it afresh, with a clean restart history: it is a new reign, not a crash loop. A
        cancellation from outside (this supervisor stopping) is not the term's and goes on
        up as usual.
        """
        node = child.node
        terms = self.tree.terms
        term = None
        try:
            while True:
                if not terms.leading:
                    node.set_status(ActorStatus.STANDBY)
                term = await terms.next_term(after=term)
                child.restarts_at = None
                if isinstance(node, ActorRef):
                    node.discard_prepared()
                with term.scope():
                    await self._supervise_incarnations(child, final=False)
                    return  # stopped or given up for good within the term
                if isinstance(node, ActorRef):
                    # Whatever was queued for the last term's incarnation is refused now.
                    node.close()
                log.info("Leader-only actor ended with its term", actor=node.name, term=term.number)
        finally:
            if node.status in (ActorStatus.RUNNING, ActorStatus.RESTARTING, ActorStatus.STANDBY):
                node.set_status(ActorStatus.STOPPED)
                if child.dynamic:
                    node.close()
                    self._forget(child)
                node.mark_finished()

    async def _supervise_incarnations(self, child: _Child, *, final: bool = True) -> None:
        node = child.node
        removed = False
        hibernating = False
        try:
            while True:
                if isinstance(node, ActorRef):
                    node.reopen()
                try:
                    await node.run_once()
                    if isinstance(node, ActorRef) and node.hibernating:
                        # Idle without a task until its next message (Actor.may_hibernate).
                        hibernating = True
                        node.on_wake(partial(self._wake, child))
                        return
                except Exception as error:
                    node.record_crash(error)
                    log.error(
                        "Actor crashed", actor=node.name, supervisor=self.name, exc_info=error
                    )
                    if child.policy is RestartPolicy.TEMPORARY or node.stop_requested:
                        node.set_status(ActorStatus.FAILED)
                        removed = True
                        return
                else:
                    if child.policy is not RestartPolicy.PERMANENT or node.stop_requested:
                        node.set_status(ActorStatus.STOPPED)
                        removed = True
                        return
                if not await self._before_restart(child):
                    node.set_status(ActorStatus.FAILED)
                    removed = True
                    return
        finally:
            if not hibernating and (final or removed):
                if node.status in (ActorStatus.RUNNING, ActorStatus.RESTARTING):
                    node.set_status(ActorStatus.STOPPED)
                if removed or child.dynamic:
                    node.close()
                    self._forget(child)
                node.mark_finished()

    def _wake(self, child: _Child) -> None:
        """Start the next task of a hibernating child (its incarnation goes on)."""
        if self._nursery is None or self._children.get(child.key) is not child:
            return  # stopping: the child is closed with the others
        self._context.copy().run(self._nursery.start_soon, self._supervise, child)

    async def _before_restart(self, child: _Child) -> bool:
        """Apply the intensity limit, then wait out the child's backoff.

        Returns ``False`` when the child is given up instead of restarted.
        """
        node = child.node
        now = trio.current_time()
        limits = self.limits
        if child.restarts_at is None:
            child.restarts_at = deque()
        for stamps in (self._restarts_at, child.restarts_at):
            stamps.append(now)
            while stamps and stamps[0] < now - limits.window:
                stamps.popleft()
        if not limits.escalate:
            if len(child.restarts_at) > limits.max_restarts:
                self.tree.given_up[node.kind] += 1
                log.error(
                    "Giving up on actor",
                    actor=node.name,
                    restarts=limits.max_restarts,
                    window=limits.window,
                )
                self.tree.gave_up(
                    node.name,
                    f"crashed more than {limits.max_restarts} times within {limits.window:g} s"
                    f" and was given up; last error: {node.last_error}",
                )
                return False
        elif len(self._restarts_at) > limits.max_restarts:
            self.tree.gave_up(
                self.name,
                f"its children crashed more than {limits.max_restarts} times within"
                f" {limits.window:g} s (last: {node.name}: {node.last_error}); the supervisor"
                " fails and its parent decides",
            )
            raise SupervisorEscalation(self.name, node.name, limits.max_restarts, limits.window)
        node.set_status(ActorStatus.RESTARTING)
        delay = limits.backoff(len(child.restarts_at))
        log.warning("Restarting actor", actor=node.name, delay=delay, restarts=node.restarts + 1)
        await trio.sleep(delay)
        node.restarts += 1
        self.tree.restarts[node.kind] += 1
        return True

    def _forget(self, child: _Child) -> None:
        self._children.pop(child.key, None)
        self.tree.remove(child.node)
        if child.on_exit is not None:
            child.on_exit(child.node)

    def request_stop(self) -> None:
        """Stop every child and then this supervisor; nothing here is restarted."""
        self.stop_requested = True
        for child in self._children.values():
            child.node.request_stop()
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    # -- inspecting ------------------------------------------------------------------------

    def snapshot(self) -> ActorSnapshot:
        """Describe this supervisor and, recursively, its children."""
        return ActorSnapshot(
            kind=self.kind,
            name=self.name,
            status=self.status,
            phase="supervising" if self.status is ActorStatus.RUNNING else self.status.value,
            mailbox_depth=0,
            mailbox_capacity=0,
            processed=0,
            current_message=None,
            current_since=None,
            restarts=self.restarts,
            last_error=self.last_error,
            last_error_at=wall_clock(self.last_error_at),
            started_at=wall_clock(self.started_at),
            details={
                "max_restarts": self.limits.max_restarts,
                "window_seconds": self.limits.window,
                "children": len(self._children),
            },
            children=[child.node.snapshot() for child in self._children.values()],
        )
