"""Long-lived responses (SSE, WebSockets) and how a graceful shutdown ends them.

Hypercorn's graceful shutdown waits for open requests to finish, and a stream never finishes
by itself; so the app ends its streams first. Every streaming handler registers with the app's
``StreamRegistry`` (``async with registry.track(protocol): ...``) and stops when ``wait_closing()``
returns. The server calls ``close_all()`` on SIGTERM before it triggers hypercorn's shutdown.

``serve_websocket_stream`` is the one way a WebSocket handler streams: it drains inbound
frames in a sibling task (quart-trio buffers only a few; a send-only handler whose client
talks would wedge the close handshake) and stops on shutdown with close code 1001 ("going
away"). A client that stops reading cannot hold the task: the server bounds every write to a
socket (``web.http_server``) and resets the connection of a client that reads nothing, which
ends the handler.
``push_subscription`` relays an actor's event subscription over it.

Close codes, so that a client can tell why its stream ended:

* 1000: the stream is complete (the operation ended);
* 1001: the server is shutting down;
* 1013: the client fell so far behind the events that the actor dropped its subscription
  ("try again later": reconnecting replays the operation's events from the start).

The last one is logged as a warning. (A client that reads nothing gets no close code: it
would never read it. Its connection is reset.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Protocol, TypeVar

import structlog
import trio
from quart import websocket

from actors.runtime import SubscriptionDropped

__all__ = [
    "GOING_AWAY",
    "TRY_AGAIN_LATER",
    "StreamRegistry",
    "push_subscription",
    "send_text",
    "serve_websocket_stream",
]

_log = structlog.stdlib.get_logger(__name__)

E = TypeVar("E")
E_co = TypeVar("E_co", covariant=True)

GOING_AWAY = 1001
"""WebSocket close code sent when the server shuts down."""

TRY_AGAIN_LATER = 1013
"""WebSocket close code sent to a client whose event subscription was dropped."""

CLOSE_TIMEOUT = 5.0
"""Seconds the final close frame may take to go out (normally instant)."""


class StreamRegistry:
    """Counts open streams and tells them when the server is going away."""

    def __init__(self) -> None:
        self._closing = trio.Event()
        self._waits: set[trio.CancelScope] = set()
        self._open = 0
        self._by_protocol: Counter[str] = Counter()
        self._all_closed = trio.Event()
        self._all_closed.set()

    @property
    def closing(self) -> bool:
        """True once ``close_all`` was called; new streams should not start."""
        return self._closing.is_set()

    @property
    def open_streams(self) -> int:
        """How many streams are registered right now."""
        return self._open

    def open_by_protocol(self) -> dict[str, int]:
        """Open streams by protocol (``sse``, ``websocket``), for metrics."""
        return dict(self._by_protocol)

    async def wait_closing(self) -> None:
        """Return when the server asks streams to end."""
        await self._closing.wait()

    @contextmanager
    def interruptible_wait(self, deadline: float) -> Iterator[trio.CancelScope]:
        """A cancel scope with ``deadline`` that ``close_all`` also cancels.

        For streams that cannot run a sibling task (SSE bodies are async generators, which
        must not yield inside a nursery): wait in this scope, leave it, then yield.
        """
        scope = trio.CancelScope(deadline=deadline)
        if self.closing:
            scope.cancel()
        self._waits.add(scope)
        try:
            with scope:
                yield scope
        finally:
            self._waits.discard(scope)

    @asynccontextmanager
    async def track(self, protocol: str) -> AsyncIterator[None]:
        """Register one stream of ``protocol`` for the duration of the block."""
        self._by_protocol[protocol] += 1
        self._open += 1
        self._all_closed = trio.Event() if self._open == 1 else self._all_closed
        try:
            yield
        finally:
            self._by_protocol[protocol] -= 1
            self._open -= 1
            if self._open == 0:
                self._all_closed.set()

    async def close_all(self, grace_period: float) -> None:
        """Ask every stream to end and wait up to ``grace_period`` seconds for them to go."""
        self._closing.set()
        for wait in self._waits:
            wait.cancel()
        with trio.move_on_after(grace_period) as scope:
            await self._all_closed.wait()
        if scope.cancelled_caught:
            _log.warning("Streams still open after shutdown request", open_streams=self._open)


async def send_text(text: str) -> None:
    """Send one WebSocket text message.

    Once the connection is gone, quart and hypercorn drop sends without ever yielding; a
    sender with messages ready would then spin and starve every other task, including the
    one that is about to cancel it. A checkpoint per message keeps it cancellable.
    """
    await websocket.send(text)
    await trio.lowlevel.checkpoint()


class EventSource(Protocol[E_co]):
    """What a stream reads events from: a subscription, or one that follows a hand-off."""

    async def next(self) -> E_co | None: ...

    def close(self) -> None: ...


async def push_subscription(
    subscription: EventSource[E] | None, render: Callable[[E], str]
) -> None:
    """Send every event of ``subscription`` as ``render(event)`` until the operation ends.

    ``None`` (a user with no operation yet) waits for the server or the client to end the
    stream. ``SubscriptionDropped`` propagates, so ``serve_websocket_stream`` closes with 1013.
    The subscription is released however this ends.
    """
    if subscription is None:
        await trio.sleep_forever()
    assert subscription is not None
    try:
        while (event := await subscription.next()) is not None:
            await send_text(render(event))
    finally:
        subscription.close()


async def _discard_inbound() -> None:
    while True:
        await websocket.receive()


async def serve_websocket_stream(
    registry: StreamRegistry, push: Callable[[], Awaitable[None]]
) -> None:
    """Accept the current WebSocket and run ``push`` until it returns or the server closes.

    ``push`` sends messages with ``send_text``. The socket is closed with 1000 when ``push``
    returns, 1001 when the server shuts down and 1013 when ``push`` raised
    ``SubscriptionDropped``. A client disconnect (or a reset of a client that stopped
    reading) cancels the whole handler (quart-trio does that), which is also clean.
    """
    await websocket.accept()
    close_code = 1000
    async with registry.track("websocket"), trio.open_nursery() as nursery:

        async def end_on_shutdown() -> None:
            await registry.wait_closing()
            nursery.cancel_scope.cancel()

        nursery.start_soon(_discard_inbound)
        nursery.start_soon(end_on_shutdown)
        try:
            await push()
        except SubscriptionDropped:
            _log.warning(
                "WebSocket client fell behind the events and was dropped, closing it",
                close_code=TRY_AGAIN_LATER,
            )
            close_code = TRY_AGAIN_LATER
        nursery.cancel_scope.cancel()
    if registry.closing:
        close_code = GOING_AWAY
    with trio.move_on_after(CLOSE_TIMEOUT):
        await websocket.close(close_code)
