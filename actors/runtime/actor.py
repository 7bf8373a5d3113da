"""The behaviour half of an actor: what subclasses write.

An :class:`Actor` instance holds one incarnation's private state and handles one message at a
time. The runtime (:class:`actors.runtime.ref.ActorRef`) owns the mailbox and makes a fresh
instance on every restart, so state never survives a crash: ``on_start`` rebuilds it from the
source of truth (Kubernetes), which is what makes restarts safe.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import structlog
import trio

from actors.runtime.errors import DomainError
from actors.runtime.events import EventStream

if TYPE_CHECKING:
    from actors.runtime.ref import ActorRef

R = TypeVar("R")
E = TypeVar("E")

log = structlog.get_logger(__name__)

ExitHook = Callable[[BaseException | None], None]
"""Called once when an incarnation ends: with the crash, or ``None`` for a stop."""


class Request(Generic[R]):
    """Base class of messages that expect a reply of type ``R``.

    ``await ref.ask(GetStatus())`` is then typed as returning what ``GetStatus`` declares,
    so callers and handlers agree on the reply type without casts at the call site.
    """

    __slots__ = ()


class UnknownMessage(DomainError):
    """The actor has no handler for this message type."""

    def __init__(self, actor: str, message: object) -> None:
        super().__init__(f"{actor} does not handle {type(message).__name__}")


class ActorContext:
    """What a running incarnation may use: its own reference and a nursery for long work.

    Work started here runs beside message handling (so the actor stays responsive, for
    instance to a delete that cancels a spawn) and ends with the incarnation: an error in it
    crashes the actor, a stop cancels it.
    """

    __slots__ = ("_exit_hooks", "_nursery", "ref")

    def __init__(self, ref: ActorRef, nursery: trio.Nursery) -> None:
        self.ref = ref
        self._nursery: trio.Nursery | None = nursery
        """``None`` while the actor hibernates: a closed nursery would keep its finished
        parent task (and that task's frames) alive."""
        self._exit_hooks: list[ExitHook] | None = None

    @property
    def name(self) -> str:
        """The actor's name in the tree."""
        return self.ref.name

    def start_soon(self, fn: Callable[..., Awaitable[object]], *args: Any) -> None:
        """Run ``fn(*args)`` as background work of this incarnation."""
        self._running_nursery().start_soon(self._background, fn, *args)

    async def _background(self, fn: Callable[..., Awaitable[object]], *args: Any) -> None:
        try:
            await fn(*args)
        finally:
            # Its end may leave the actor idle: let it look again (and maybe hibernate).
            self.ref.background_ended()

    @property
    def busy(self) -> bool:
        """Whether background work is running (a hibernating actor must have none)."""
        return self._nursery is not None and bool(self._nursery.child_tasks)

    def _running_nursery(self) -> trio.Nursery:
        if self._nursery is None:
            raise RuntimeError(f"{self.ref.name} is hibernating: background work needs a message")
        return self._nursery

    async def start(self, fn: Callable[..., Awaitable[object]], *args: Any) -> Any:
        """Start background work and wait until it reports itself started."""
        return await self._running_nursery().start(fn, *args)

    def on_exit(self, hook: ExitHook) -> None:
        """Run ``hook(error)`` once this incarnation has ended, whatever ended it.

        The runtime calls it after the incarnation's background work is over, with the crash
        (``None`` after a stop or a cancellation), before any restart. Hooks are synchronous:
        they settle what others wait on (streams, waiters), they do not do work. A hook that
        raises is logged and the others still run.
        """
        if self._exit_hooks is None:
            self._exit_hooks = []
        self._exit_hooks.append(hook)

    def own_events(
        self, stream: EventStream[E], last_words: Callable[[BaseException | None], Iterable[E]]
    ) -> None:
        """Tie ``stream`` to this incarnation: if it dies with an operation open, the operation
        ends with ``last_words(error)`` (e.g. ``error`` + ``failed``) and every subscriber's
        stream ends. Without this a crash would leave subscribers waiting forever on events
        that no one will ever publish.
        """

        def abandon(error: BaseException | None) -> None:
            if stream.in_operation:
                stream.abandon(last_words(error))

        self.on_exit(abandon)

    def run_exit_hooks(self, error: BaseException | None) -> None:
        """Called by the runtime when the incarnation has ended (see :meth:`on_exit`)."""
        hooks, self._exit_hooks = self._exit_hooks or [], None
        for hook in reversed(hooks):
            try:
                hook(error)
            except Exception:
                log.exception("Actor exit hook failed", actor=self.ref.name)

    def changed(self) -> None:
        """Tell inspectors that the actor's phase or details changed outside a message."""
        self.ref.tree.changed()

    def stop(self) -> None:
        """End this incarnation normally after the current message (e.g. when idle).

        What happens next is the supervisor's policy: a permanent actor starts again, a
        transient or temporary one is gone.
        """
        self.ref.exit()


class Actor:
    """Base class of every actor's behaviour.

    Subclasses override :meth:`handle` (and usually :meth:`on_start` and :attr:`phase`).
    Raise a :class:`DomainError` subclass to refuse a request while staying healthy; any other
    exception is a crash and leads to a restart with fresh state.
    """

    kind: ClassVar[str] = "actor"
    may_hibernate: ClassVar[bool] = False
    """Whether the runtime may end this actor's task while it is idle (nothing in its mailbox,
    no background work) and start a new one on its next message, keeping its state and its
    context (exit hooks included): an idle actor then costs no task, coroutine frames or
    nursery. For actors of which thousands sit idle (one per lab); the behaviour does not
    notice, except that nothing it starts may outlive a message unless it runs in the
    context's nursery, which keeps the actor awake."""
    _context: ActorContext | None = None

    @property
    def context(self) -> ActorContext:
        """The running incarnation's context (only valid from ``on_start`` on)."""
        if self._context is None:
            raise RuntimeError(f"{type(self).__name__} is not running")
        return self._context

    def bind(self, context: ActorContext) -> None:
        """Called by the runtime before ``on_start``."""
        self._context = context

    async def on_start(self) -> None:
        """Rebuild state before the first message is handled. Default: nothing to rebuild."""

    async def handle(self, message: object) -> object:
        """Handle one message and return the reply (ignored for ``tell``)."""
        raise UnknownMessage(self.context.name, message)

    @property
    def phase(self) -> str:
        """The phase of this actor's state machine, shown by inspection. Must not block."""
        return "ready"

    def inspect(self) -> dict[str, Any]:
        """Extra JSON-serialisable facts for inspection. Must not block."""
        return {}
