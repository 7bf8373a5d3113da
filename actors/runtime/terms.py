"""Terms: the periods in which this process may act, and the fence that ends each one.

With several replicas, one leads at a time (``actors.replicas``); only the leader may write
to the cluster. The runtime knows nothing of leases: it sees a sequence of *terms*. A node
marked ``leader_only`` runs only inside a term and is cancelled when the term ends, then
starts afresh (a new incarnation, its state rebuilt as after a restart) in the next one.

The invariant that makes two replicas never act for the same user is the **fence**: a term
has a deadline, which whoever keeps the term alive (the elector, renewing the lease) pushes
forward. Past it the term is no longer :attr:`Term.valid` (the Kubernetes client then
refuses every write), and :meth:`Term.expire` (a timer of the elector's that sleeps until
the deadline) cancels every scope that runs leader-only work. The elector picks the
deadline so that it passes before any other replica may take over (the renew deadline,
shorter than the lease).

The scopes do not carry the deadline as their own Trio deadline, although that would need
no timer: code inside them reads ``trio.current_effective_deadline()`` as "how long my
caller lets me wait" (waits for an object's creation or deletion do), and the fence is not
a bound on any single wait.

A single replica (leader election off) has one endless term from the start: nothing waits
and nothing is fenced, exactly as before terms existed.

Hand-off (a leader leaving on purpose) needs one more thing: the write phases that must not
be cut in half. :meth:`Term.critical` marks one (a spawn creating its objects); once the term
stops accepting (:meth:`Term.quiesce`), new critical sections are refused and the hand-off
waits, boundedly, for those in progress before it ends the term.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager

import trio

from .changes import ChangeCounter

__all__ = ["CriticalSection", "NotAccepting", "Term", "TermReady", "Terms"]


class NotAccepting(Exception):
    """The term is being handed off: no new write phase may begin in it."""


class Term:
    """One period of leadership: a number, a fence deadline and the scopes it bounds."""

    def __init__(self, number: int, deadline: float, *, holder: str = "") -> None:
        self.number = number
        self.holder = holder
        self.deadline = deadline
        """Trio time at which the term's work is cancelled unless :meth:`extend` moves it."""
        self.started_at = time.time()
        self.ended = trio.Event()
        self._extended = trio.Event()
        self.ready = trio.Event()
        """Set once the services have rebuilt their state for this term (the controller
        sets it); until then requests wait rather than see a half-known cluster."""
        self.accepting = True
        self._scopes: set[trio.CancelScope] = set()
        self._critical = 0
        self._idle = trio.Event()
        self._idle.set()

    @property
    def valid(self) -> bool:
        """Whether work may still be done in this term (not ended, fence not passed)."""
        return not self.ended.is_set() and trio.current_time() < self.deadline

    def extend(self, deadline: float) -> None:
        """Move the fence (a renewal succeeded)."""
        if self.ended.is_set():
            return
        self.deadline = deadline
        self._extended.set()
        self._extended = trio.Event()

    async def expire(self) -> None:
        """Sleep until the fence passes, following every extension, then end the term (its
        scopes are cancelled); returns at once if the term ends otherwise."""
        while not self.ended.is_set():
            if trio.current_time() >= self.deadline:
                self.end()
                return
            with trio.move_on_at(self.deadline):
                extended = self._extended
                await extended.wait()

    def end(self) -> None:
        """End the term now: every scope is cancelled; idempotent."""
        if self.ended.is_set():
            return
        self.accepting = False
        self.ended.set()
        self._extended.set()
        for scope in self._scopes:
            scope.cancel()

    @contextmanager
    def scope(self) -> Iterator[trio.CancelScope]:
        """A cancel scope bounded by the term: cancelled when it ends (its fence included,
        through :meth:`expire`)."""
        with trio.CancelScope() as scope:
            if self.ended.is_set() or not self.valid:
                scope.cancel()
            self._scopes.add(scope)
            try:
                yield scope
            finally:
                self._scopes.discard(scope)

    def begin_critical(self) -> CriticalSection:
        """Start a write phase that a hand-off lets finish; end it with
        :meth:`CriticalSection.end` (it may end in another task than it began).

        Raises :class:`NotAccepting` once the term has stopped accepting new work.
        """
        if not self.accepting or self.ended.is_set():
            raise NotAccepting(f"term {self.number} is being handed off")
        self._critical += 1
        if self._critical == 1:
            self._idle = trio.Event()
        return CriticalSection(self)

    def _end_critical(self) -> None:
        self._critical -= 1
        if self._critical == 0:
            self._idle.set()

    @property
    def in_critical(self) -> int:
        """Write phases in progress."""
        return self._critical

    async def quiesce(self, timeout: float) -> bool:  # noqa: ASYNC109 - a bound, not a deadline
        """Stop accepting and wait up to ``timeout`` for the write phases in progress.

        Returns whether they all finished (``False``: the hand-off cuts the rest short).
        """
        self.accepting = False
        with trio.move_on_after(timeout):
            await self._idle.wait()
            return True
        return False


class CriticalSection:
    """One write phase of a term; ending it twice is harmless."""

    __slots__ = ("_term",)

    def __init__(self, term: Term) -> None:
        self._term: Term | None = term

    def end(self) -> None:
        term, self._term = self._term, None
        if term is not None:
            term._end_critical()


class Terms(ChangeCounter):
    """The sequence of terms of one process; leader-only nodes wait on it."""

    def __init__(self, *, endless: bool = True) -> None:
        super().__init__()
        self.elected = not endless
        """Whether terms come from an election (several replicas) rather than being one
        endless term (a lone replica)."""
        self.current: Term | None = None
        self.transitions = 0
        """Terms begun (a leader change seen from here counts once per term this process
        held)."""
        self._started = trio.Event()
        if endless:
            self.begin(math.inf)

    def begin(self, deadline: float, *, holder: str = "") -> Term:
        """Start the next term (the previous one, if any, ends)."""
        if self.current is not None:
            self.current.end()
        self.transitions += 1
        self.current = Term(self.transitions, deadline, holder=holder)
        self._wake()
        return self.current

    def end(self) -> None:
        """End the current term, if any."""
        if self.current is not None:
            self.current.end()
            self._wake()

    @property
    def leading(self) -> bool:
        """Whether a valid term is open."""
        return self.current is not None and self.current.valid

    async def next_term(self, after: Term | None = None) -> Term:
        """Wait for a valid term other than ``after`` (no deadline: a follower may wait for
        leadership as long as it lives; its nursery's cancellation ends the wait)."""
        while True:
            since = self.version
            term = self.current
            if term is not None and term is not after and term.valid:
                return term
            await self.wait_changed(since)

    def _wake(self) -> None:
        self.changed()


class TermReady:
    """A readiness event per term: "the directory has rebuilt its state in this term".

    A service's directory sets it after its first reconciliation; a new term (this replica
    leading again, after others did) must not inherit the last term's "ready", because the
    cluster changed meanwhile. Reading :meth:`current` in a new term gives a fresh event.
    """

    def __init__(self, terms: Terms | None = None) -> None:
        self._terms = terms if terms is not None else Terms()
        self._term: Term | None = None
        self._event = trio.Event()

    def current(self) -> trio.Event:
        """The event of the current term (made on first use in each term)."""
        term = self._terms.current
        if term is not self._term:
            self._term = term
            self._event = trio.Event()
        return self._event
