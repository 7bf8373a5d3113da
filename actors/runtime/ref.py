"""The runtime half of an actor: its mailbox, its message loop and its counters.

An :class:`ActorRef` is the stable handle callers keep. It outlives restarts: messages sent
while the actor restarts wait in the mailbox for the next incarnation. It stops being usable
only when the actor stops for good, after which sends raise :class:`ActorStopped`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

import trio

from actors.runtime.actor import Actor, ActorContext, Request
from actors.runtime.errors import (
    ActorCrashed,
    ActorStopped,
    AskTimeout,
    DomainError,
    MailboxFull,
)
from actors.runtime.mailbox import Mailbox
from actors.runtime.node import Node
from actors.runtime.snapshot import ActorSnapshot, ActorStatus, wall_clock

R = TypeVar("R")

DEFAULT_MAILBOX_SIZE = 64
"""Room for bursts without letting a stuck actor hoard an unbounded backlog."""


class _Reply:
    """Where one ask's answer lands. The first outcome wins; later ones are ignored."""

    __slots__ = ("done", "error", "value")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.value: object = None
        self.error: BaseException | None = None

    def succeed(self, value: object) -> None:
        if not self.done.is_set():
            self.value = value
            self.done.set()

    def fail(self, error: BaseException) -> None:
        if not self.done.is_set():
            self.error = error
            self.done.set()


class _Envelope:
    __slots__ = ("message", "reply")

    def __init__(self, message: object, reply: _Reply | None) -> None:
        self.message = message
        self.reply = reply

    def succeed(self, value: object) -> None:
        if self.reply is not None:
            self.reply.succeed(value)

    def fail(self, error: BaseException) -> None:
        if self.reply is not None:
            self.reply.fail(error)


def _is_cancellation(error: BaseException) -> bool:
    if isinstance(error, trio.Cancelled):
        return True
    if isinstance(error, BaseExceptionGroup):
        return all(_is_cancellation(inner) for inner in error.exceptions)
    return False


class ActorRef(Node):
    """A named actor: bounded mailbox, one message at a time, fresh state on every restart."""

    __slots__ = (
        "_actor",
        "_after",
        "_closed",
        "_current",
        "_exit_requested",
        "_factory",
        "_inflight",
        "_inflight_since",
        "_mailbox",
        "_parked",
        "_waker",
        "capacity",
        "idle_since",
        "kind",
        "processed",
    )

    def __init__(
        self,
        name: str,
        factory: Callable[[], Actor],
        *,
        mailbox_size: int = DEFAULT_MAILBOX_SIZE,
        after: trio.Event | None = None,
    ) -> None:
        super().__init__(name)
        self._factory = factory
        self._actor: Actor | None = factory()
        self._current: Actor | None = None
        self.kind = self._actor.kind
        self.capacity = mailbox_size
        self._mailbox: Mailbox[_Envelope] = Mailbox(mailbox_size)
        self._after = after
        self._closed = False
        self._exit_requested = False
        self._inflight: _Envelope | None = None
        self._inflight_since: float | None = None
        self._parked: ActorContext | None = None
        """While hibernating: the context of the incarnation that continues on wake-up."""
        self._waker: Callable[[], None] | None = None
        self.processed = 0
        self.idle_since = trio.current_time() if _in_trio() else 0.0

    # -- sending ---------------------------------------------------------------------------

    def tell(self, message: object) -> None:
        """Queue a message without waiting for it to be handled.

        Raises :class:`MailboxFull` when the mailbox has no room and :class:`ActorStopped`
        once the actor has stopped for good.
        """
        self._enqueue(_Envelope(message, None))

    async def ask(self, message: Request[R], *, timeout: float) -> R:  # noqa: ASYNC109
        """Send a request and wait at most ``timeout`` seconds for its reply.

        The handler's :class:`DomainError` (or crash) is raised here, in the caller.
        """
        reply = _Reply()
        self._enqueue(_Envelope(message, reply))
        with trio.move_on_after(timeout):
            await reply.done.wait()
        if not reply.done.is_set():
            reply.fail(AskTimeout(self.name, type(message).__name__, timeout))
        if reply.error is not None:
            raise reply.error
        return cast(R, reply.value)

    def _enqueue(self, envelope: _Envelope) -> None:
        try:
            self._mailbox.put_nowait(envelope)
        except trio.WouldBlock:
            raise MailboxFull(self.name, self.capacity, self._retry_after()) from None
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise ActorStopped(self.name) from None
        self._wake()
        self.tree.changed()

    # -- hibernation -----------------------------------------------------------------------

    @property
    def hibernating(self) -> bool:
        """Whether the actor is idle without a task (see :attr:`Actor.may_hibernate`)."""
        return self._parked is not None

    def on_wake(self, waker: Callable[[], None]) -> None:
        """Called by the supervisor of a hibernating actor: ``waker()`` starts its next task.

        Called at once if a message (or a stop) came while the actor was going to sleep.
        """
        self._waker = waker
        if len(self._mailbox) or self._mailbox.closed:
            self._wake()

    def _wake(self) -> None:
        waker, self._waker = self._waker, None
        if waker is not None:
            waker()

    def background_ended(self) -> None:
        """Background work of the incarnation ended: an idle actor may hibernate now."""
        actor = self._current
        if actor is not None and actor.may_hibernate:
            self._mailbox.nudge()

    def _may_hibernate(self, actor: Actor, context: ActorContext) -> bool:
        return (
            actor.may_hibernate
            and not self._exit_requested
            and not self.stop_requested
            and not context.busy
            and not len(self._mailbox)
        )

    def _retry_after(self) -> float:
        """A back-off hint: about the time the actor needs to work through a full mailbox."""
        return 1.0 if self.processed == 0 else max(1.0, math.ceil(self.capacity / 1000))

    # -- running ---------------------------------------------------------------------------

    async def run_once(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Run one incarnation with a fresh behaviour instance until stopped or crashed.

        Returns early, with :attr:`hibernating` set, when the actor may hibernate and is
        idle; the next call continues the same incarnation (same behaviour instance, same
        context and exit hooks, no ``on_start``) in a new nursery.
        """
        context = self._parked
        self._parked = None
        if context is None:
            if self._after is not None:
                # A previous actor of the same name is still finishing; never run two at once.
                await self._after.wait()
                self._after = None
            actor = self._actor if self._actor is not None else self._factory()
            self._actor = None
            self._exit_requested = False
            self._current = actor
        else:
            assert self._current is not None
            actor = self._current
        ended_by: BaseException | None = None
        hibernate = False
        try:
            async with trio.open_nursery() as nursery:
                if context is None:
                    context = ActorContext(self, nursery)
                    actor.bind(context)
                    self.set_status(ActorStatus.RUNNING)
                    task_status.started()
                    await actor.on_start()
                else:
                    context._nursery = nursery
                    task_status.started()
                if not self._exit_requested:
                    hibernate = await self._process(actor, context)
                nursery.cancel_scope.cancel()
        except BaseException as error:
            hibernate = False
            envelope, self._inflight = self._inflight, None
            if _is_cancellation(error):
                if envelope is not None:
                    envelope.fail(ActorStopped(self.name))
            else:
                ended_by = error
                if envelope is not None:
                    envelope.fail(ActorCrashed(self.name, error))
            raise
        finally:
            if hibernate and context is not None:
                context._nursery = None
                self._parked = context  # the incarnation goes on at the next message
            elif context is not None:
                # The incarnation's background work is over (its nursery has closed): settle
                # what others wait on before the supervisor decides about a restart.
                context.run_exit_hooks(ended_by)
            del ended_by

    async def _process(self, actor: Actor, context: ActorContext) -> bool:
        """Handle messages until the mailbox ends (``False``) or the actor may hibernate
        (``True``)."""
        mailbox = self._mailbox
        while True:
            # Waiting happens outside the ``except`` block: a task suspended inside one keeps
            # the exception, its traceback and their frames alive for as long as it waits,
            # which for an idle actor is its whole life. For the same reason nothing of the
            # previous message stays referenced from this frame while it waits.
            envelope: _Envelope | None
            try:
                envelope = mailbox.get_nowait()
            except trio.WouldBlock:
                envelope = None
            except trio.EndOfChannel:
                return False
            if envelope is None:
                if self._may_hibernate(actor, context):
                    return True
                # Woken by a message, a close, or (for an actor that may hibernate) the end
                # of its background work: look again.
                await mailbox.wait()
                continue
            self._inflight = envelope
            self._inflight_since = time.time()
            try:
                result = await actor.handle(envelope.message)
            except DomainError as refusal:
                envelope.fail(refusal)
            except Exception as error:
                envelope.fail(error)
                raise
            else:
                envelope.succeed(result)
                # The reply belongs to the asker now; kept here it would live until the next
                # message (an idle lab would hold its last subscription and spawn request).
                del result
            del envelope
            self._inflight = None
            self._inflight_since = None
            self.processed += 1
            self.idle_since = trio.current_time()
            self.tree.changed()
            if self._exit_requested:
                return False

    def exit(self) -> None:
        """End the current incarnation after the message being handled (the actor's choice).

        Unlike :meth:`request_stop`, this is a normal exit: a permanent child is started
        again, other children are removed and their queued askers get :class:`ActorStopped`.
        """
        self._exit_requested = True
        self._wake()
        self.tree.changed()

    @property
    def ending(self) -> bool:
        """Whether the actor is on its way out (asked to stop, or exiting by itself)."""
        return self.stop_requested or self._exit_requested

    def request_stop(self) -> None:
        """Stop after the queued messages are handled; new sends are refused from now on."""
        self.stop_requested = True
        self._mailbox.close()
        self._wake()  # a hibernating actor wakes to finish its queue and end
        self.tree.changed()

    def close(self) -> None:
        """Refuse everything still queued: those askers get :class:`ActorStopped`."""
        self._closed = True
        self._mailbox.close()
        self._waker = None
        context, self._parked = self._parked, None
        if context is not None:
            # Gone for good while hibernating: end the incarnation as a stop would.
            context.run_exit_hooks(None)
            if self.status is ActorStatus.RUNNING:
                self.set_status(ActorStatus.STOPPED)
            self.mark_finished()
        while True:
            try:
                envelope = self._mailbox.get_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                break
            envelope.fail(ActorStopped(self.name))

    def discard_prepared(self) -> None:
        """Forget the behaviour built ahead of the first start (to learn the actor's kind):
        a leader-only actor's first incarnation must be built in its term, with what the
        term gives it, not at construction."""
        self._actor = None

    def reopen(self) -> None:
        """Give an actor closed for good a new mailbox, when its supervisor starts it again.

        Only :meth:`close` makes this necessary; a stop that was merely requested (even
        before the first start) must stand.
        """
        if self._closed:
            self._mailbox = Mailbox(self.capacity)
            self._closed = False
            self.stop_requested = False

    # -- inspecting ------------------------------------------------------------------------

    @property
    def mailbox_depth(self) -> int:
        """Messages waiting, not counting the one being handled."""
        return len(self._mailbox) if not self._mailbox.closed else 0

    def idle_for(self) -> float:
        """Seconds since the actor last finished a message (0 while it is handling one)."""
        if self._inflight is not None:
            return 0.0
        return trio.current_time() - self.idle_since

    def snapshot(self) -> ActorSnapshot:
        """Describe the actor from counters alone: never waits for the actor."""
        actor = self._current
        running = self.status is ActorStatus.RUNNING
        phase = self.status.value
        details: dict[str, Any] = {}
        if actor is not None and running:
            phase = actor.phase
            details = actor.inspect()
        inflight = self._inflight
        return ActorSnapshot(
            kind=self.kind,
            name=self.name,
            status=self.status,
            phase=phase,
            mailbox_depth=self.mailbox_depth,
            mailbox_capacity=self.capacity,
            processed=self.processed,
            current_message=type(inflight.message).__name__ if inflight is not None else None,
            current_since=wall_clock(self._inflight_since),
            restarts=self.restarts,
            last_error=self.last_error,
            last_error_at=wall_clock(self.last_error_at),
            started_at=wall_clock(self.started_at),
            details=details,
        )


def _in_trio() -> bool:
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True
