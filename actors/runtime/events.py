"""Progress events an actor publishes to any number of subscribers (SSE, WebSocket, tests).

Invariants:

* Publishing never waits. Each subscriber has its own bounded buffer; a subscriber that falls
  that far behind is dropped (its stream ends with :class:`SubscriptionDropped`), so a slow
  client can never stall the actor or the other subscribers.
* The events of the current operation are kept, so a subscriber that arrives late first gets
  the replay of everything published since :meth:`EventStream.begin`, then the live events.
* :meth:`EventStream.end` marks the operation finished: every subscriber's stream ends after
  the last event, and late subscribers get the replay followed by the end.
* An operation never stays open once nobody can finish it: an actor ties its streams to its
  incarnation (:meth:`actors.runtime.ActorContext.own_events`), and when the incarnation dies
  the runtime closes an unfinished operation with :meth:`EventStream.abandon` — the actor's
  last words (a ``failed`` event, for labs), then the end. Subscribers are never left waiting
  on a stream whose producer is gone.
* A stream may outlive the incarnation that fills it (the lab service keeps one per user), so
  a subscriber that arrives between a crash and the restart gets the replay of the abandoned
  operation, and the restarted actor carries on with the same stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from typing import Generic, TypeVar

import trio

E = TypeVar("E")

DEFAULT_SUBSCRIBER_BUFFER = 256


class SubscriptionDropped(Exception):
    """The subscriber fell too far behind and was disconnected."""


class Subscription(Generic[E]):
    """One subscriber's view: iterate it to receive events until the operation ends."""

    def __init__(self, stream: EventStream[E], receive: trio.MemoryReceiveChannel[E]) -> None:
        self._stream = stream
        self._receive = receive
        self.dropped = False

    def __aiter__(self) -> AsyncIterator[E]:
        return self._events()

    async def _events(self) -> AsyncIterator[E]:
        async with self._receive:
            async for event in self._receive:
                yield event
        if self.dropped:
            raise SubscriptionDropped

    async def next(self) -> E | None:
        """The next event, or ``None`` at the end of the operation."""
        try:
            return await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            if self.dropped:
                raise SubscriptionDropped from None
            return None

    def close(self) -> None:
        """Stop receiving (the client went away)."""
        self._stream.unsubscribe(self)
        self._receive.close()


class EventStream(Generic[E]):
    """Fan-out of one actor's events with replay of the current operation."""

    def __init__(
        self,
        subscriber_buffer: int = DEFAULT_SUBSCRIBER_BUFFER,
        *,
        keep_history: bool = True,
        observer: Callable[[E], None] | None = None,
    ) -> None:
        """``keep_history=False`` makes a live-only feed (no replay), for never-ending streams
        such as the admin view of every lab's events, whose history would grow forever.

        ``observer`` sees every published event, whoever publishes it (the actor or, for an
        abandoned operation, the runtime): feeds that copy a stream miss nothing.
        """
        self._buffer = subscriber_buffer
        self._keep_history = keep_history
        self._observer = observer
        self._log: list[E] = []
        self._ended = False
        self._in_operation = False
        self._subscribers: dict[Subscription[E], trio.MemorySendChannel[E]] = {}

    @property
    def events(self) -> list[E]:
        """The current operation's events so far (a copy)."""
        return list(self._log)

    @property
    def ended(self) -> bool:
        """Whether the current operation has finished."""
        return self._ended

    @property
    def in_operation(self) -> bool:
        """Whether an operation has begun and not ended (someone owes its subscribers an end)."""
        return self._in_operation

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def begin(self) -> None:
        """Start a new operation: forget the old replay; current subscribers' streams end."""
        self._close_all()
        self._log = []
        self._ended = False
        self._in_operation = True

    def publish(self, event: E) -> None:
        """Record the event and hand it to every subscriber, dropping any that is full."""
        if self._keep_history:
            self._log.append(event)
        if self._observer is not None:
            self._observer(event)
        for subscription, send in list(self._subscribers.items()):
            try:
                send.send_nowait(event)
            except trio.WouldBlock:
                subscription.dropped = True
                del self._subscribers[subscription]
                send.close()
            except trio.BrokenResourceError:
                del self._subscribers[subscription]
                send.close()

    def end(self) -> None:
        """Finish the current operation: every stream ends after its last event."""
        self._ended = True
        self._in_operation = False
        self._close_all()

    def abandon(self, final: Iterable[E] = ()) -> bool:
        """End an unfinished operation whose producer is gone, with ``final`` as its last events.

        Does nothing when no operation is open (a finished operation keeps its replay as it
        was; subscribers waiting for a first operation keep waiting, for whoever fills the
        stream next). Returns whether an operation was abandoned.
        """
        if not self._in_operation:
            return False
        for event in final:
            self.publish(event)
        self.end()
        return True

    def subscribe(self) -> Subscription[E]:
        """A new subscriber that first receives the replay of the current operation."""
        send, receive = trio.open_memory_channel[E](len(self._log) + self._buffer)
        subscription = Subscription(self, receive)
        for event in self._log:
            send.send_nowait(event)
        if self._ended:
            send.close()
        else:
            self._subscribers[subscription] = send
        return subscription

    def unsubscribe(self, subscription: Subscription[E]) -> None:
        send = self._subscribers.pop(subscription, None)
        if send is not None:
            send.close()

    def _close_all(self) -> None:
        for send in self._subscribers.values():
            send.close()
        self._subscribers.clear()
