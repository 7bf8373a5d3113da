"""When an incarnation dies, the runtime settles what others wait on: an operation left open on
a stream the actor owns ends with the actor's last words, so no subscriber waits forever."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio

from actors.runtime import (
    Actor,
    ActorRef,
    ActorSystem,
    EventStream,
    Request,
    RestartLimits,
    RestartPolicy,
    Subscription,
    Supervisor,
    describe_error,
)

FAST = RestartLimits(max_restarts=5, window=10.0, backoff_initial=0.01, backoff_max=0.05)


@dataclass(frozen=True)
class Begin(Request[Subscription[str]]):
    """Begin an operation, publish ``started``, and return a subscription to it."""


@dataclass(frozen=True)
class Finish(Request[None]):
    pass


@dataclass(frozen=True)
class CrashInBackground(Request[None]):
    """Crash from background work (as a lab's pod watch does), not from the handler."""


@dataclass(frozen=True)
class Quit(Request[None]):
    pass


class Streamer(Actor):
    """Fills a stream it does not own: the stream outlives its incarnations."""

    kind = "streamer"

    def __init__(self, stream: EventStream[str], starts: list[int]) -> None:
        self.stream = stream
        self.starts = starts

    async def on_start(self) -> None:
        self.starts.append(len(self.starts))
        self.context.own_events(self.stream, self._last_words)

    def _last_words(self, error: BaseException | None) -> Iterable[str]:
        return [f"failed: {describe_error(error)}"] if error is not None else ["failed: stopped"]

    async def handle(self, message: object) -> object:
        match message:
            case Begin():
                self.stream.begin()
                self.stream.publish("started")
                return self.stream.subscribe()
            case Finish():
                self.stream.publish("complete")
                self.stream.end()
                return None
            case CrashInBackground():
                self.context.start_soon(self._explode)
                return None
            case Quit():
                self.context.stop()
                return None
        return await super().handle(message)

    async def _explode(self) -> None:
        await trio.lowlevel.checkpoint()
        raise RuntimeError("watch refused")


async def _rest(subscription: Subscription[str]) -> list[str]:
    return [event async for event in subscription]


@asynccontextmanager
async def running(
    stream: EventStream[str], policy: RestartPolicy = RestartPolicy.PERMANENT
) -> AsyncIterator[tuple[ActorRef, list[int]]]:
    starts: list[int] = []
    ref = ActorRef("streamer", lambda: Streamer(stream, starts))
    system = ActorSystem(Supervisor("root", [(ref, policy)], limits=FAST))
    async with trio.open_nursery() as nursery:
        await nursery.start(system.run)
        yield ref, starts
        nursery.cancel_scope.cancel()


async def test_a_crash_ends_the_open_operation_with_the_actors_last_words() -> None:
    observed: list[str] = []
    stream: EventStream[str] = EventStream(observer=observed.append)
    with trio.fail_after(5):
        async with running(stream) as (ref, starts):
            subscription = await ref.ask(Begin(), timeout=1)
            await ref.ask(CrashInBackground(), timeout=1)
            events = await _rest(subscription)
            assert events == ["started", "failed: RuntimeError: watch refused"]
            # A subscriber that arrives after the crash gets the same replay and the end.
            assert await _rest(stream.subscribe()) == events
            # Whoever copies the stream (the all-labs feed) saw the last words too.
            assert observed == events
            # The next incarnation carries on with the same stream.
            while len(starts) < 2:
                await trio.sleep(0.01)
            again = await ref.ask(Begin(), timeout=1)
            await ref.ask(Finish(), timeout=1)
            assert await _rest(again) == ["started", "complete"]


async def test_a_stop_ends_the_open_operation_too() -> None:
    stream: EventStream[str] = EventStream()
    with trio.fail_after(5):
        async with running(stream, RestartPolicy.TRANSIENT) as (ref, _):
            subscription = await ref.ask(Begin(), timeout=1)
            await ref.ask(Quit(), timeout=1)
            assert await _rest(subscription) == ["started", "failed: stopped"]


async def test_a_finished_operation_keeps_its_replay_through_a_crash() -> None:
    stream: EventStream[str] = EventStream()
    with trio.fail_after(5):
        async with running(stream) as (ref, starts):
            subscription = await ref.ask(Begin(), timeout=1)
            await ref.ask(Finish(), timeout=1)
            await ref.ask(CrashInBackground(), timeout=1)
            while len(starts) < 2:
                await trio.sleep(0.01)
            assert await _rest(subscription) == ["started", "complete"]
            assert await _rest(stream.subscribe()) == ["started", "complete"]


async def test_a_subscriber_waiting_for_a_first_operation_is_served_by_the_next_incarnation() -> (
    None
):
    stream: EventStream[str] = EventStream()
    with trio.fail_after(5):
        async with running(stream) as (ref, starts):
            waiting = stream.subscribe()
            await ref.ask(CrashInBackground(), timeout=1)
            while len(starts) < 2:
                await trio.sleep(0.01)
            assert stream.subscriber_count == 1
            # The restarted actor's first operation ends the wait, as any new operation does.
            await ref.ask(Begin(), timeout=1)
            assert await _rest(waiting) == []
