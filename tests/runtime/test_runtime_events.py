"""Progress events fan out to subscribers with replay, without ever blocking the publisher."""

from __future__ import annotations

import pytest
import trio
import trio.lowlevel

from actors.runtime import EventStream, SubscriptionDropped


async def collect(stream_iter: object) -> list[str]:
    return [event async for event in stream_iter]  # type: ignore[attr-defined]


async def test_a_subscriber_receives_events_until_the_operation_ends() -> None:
    stream: EventStream[str] = EventStream()
    stream.begin()
    subscription = stream.subscribe()
    received: list[str] = []
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:

            async def consume() -> None:
                received.extend(await collect(subscription))

            nursery.start_soon(consume)
            for event in ["one", "two", "three"]:
                stream.publish(event)
                await trio.lowlevel.checkpoint()
            stream.end()
    assert received == ["one", "two", "three"]


async def test_a_late_subscriber_gets_the_replay_then_live_events() -> None:
    stream: EventStream[str] = EventStream()
    stream.begin()
    stream.publish("early-1")
    stream.publish("early-2")
    late = stream.subscribe()
    stream.publish("live")
    stream.end()
    with trio.fail_after(5):
        assert await collect(late) == ["early-1", "early-2", "live"]


async def test_a_subscriber_after_the_end_gets_the_replay_and_the_end() -> None:
    stream: EventStream[str] = EventStream()
    stream.begin()
    stream.publish("done")
    stream.end()
    with trio.fail_after(5):
        assert await collect(stream.subscribe()) == ["done"]
        assert await stream.subscribe().next() == "done"


async def test_a_new_operation_forgets_the_previous_replay() -> None:
    stream: EventStream[str] = EventStream()
    stream.begin()
    stream.publish("old")
    stream.end()
    stream.begin()
    stream.publish("new")
    subscription = stream.subscribe()
    assert await subscription.next() == "new"
    assert not stream.ended


async def test_a_slow_subscriber_is_dropped_while_others_keep_receiving() -> None:
    stream: EventStream[int] = EventStream(subscriber_buffer=4)
    stream.begin()
    slow = stream.subscribe()
    fast_received: list[int] = []
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            fast = stream.subscribe()

            async def consume_fast() -> None:
                async for event in fast:
                    fast_received.append(event)

            nursery.start_soon(consume_fast)
            for value in range(20):
                stream.publish(value)  # never waits, even though `slow` reads nothing
                await trio.lowlevel.checkpoint()
            stream.end()
    assert fast_received == list(range(20))
    assert slow.dropped
    received_before_drop = [await slow.next() for _ in range(4)]
    assert received_before_drop == [0, 1, 2, 3]
    with pytest.raises(SubscriptionDropped):
        await slow.next()
    assert stream.subscriber_count == 0


async def test_a_subscriber_that_goes_away_is_forgotten() -> None:
    stream: EventStream[int] = EventStream()
    stream.begin()
    subscription = stream.subscribe()
    assert stream.subscriber_count == 1
    subscription.close()
    assert stream.subscriber_count == 0
    stream.publish(1)  # nobody left to deliver to; must not raise
