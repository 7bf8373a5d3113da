"""Event streams relayed by a follower arrive event by event and end with either side."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
import trio

from tests.web.forwarding_site import forwarding_pair
from web.forwarding import ForwardingTuning
from web.server import ServerTuning

DEADLINE = 20


async def abandon(lines: AsyncIterator[str]) -> None:
    """Finish httpx's chain of generators when leaving a stream early (see
    ``tests/e2e/resilience_support.py``): a read in a cancelled scope ends them all."""
    with trio.CancelScope() as scope:
        scope.cancel()
        with contextlib.suppress(StopAsyncIteration, httpx.TransportError):
            while True:
                await anext(lines)


async def next_event(lines: object) -> list[str]:
    """The lines of the next event (up to its blank line), comments skipped."""
    event: list[str] = []
    async for line in lines:  # type: ignore[attr-defined]
        if line.startswith(":"):
            continue
        if line == "":
            if event:
                return event
            continue
        event.append(line)
    raise AssertionError(f"stream ended in the middle of an event: {event}")


async def test_events_arrive_one_by_one_while_the_leader_keeps_the_stream_open() -> None:
    with trio.fail_after(DEADLINE):
        async with forwarding_pair() as pair, httpx.AsyncClient(base_url=pair.url) as client:
            async with client.stream("GET", "/t/events") as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                lines = response.aiter_lines()
                for step in ("one", "two", "three"):
                    await pair.controls.emit("progress", message=step)
                    event = await next_event(lines)
                    assert event == [
                        "event: progress",
                        f'data: {{"message": "{step}"}}',
                    ]
                    # Each event came through while the leader's stream was still open.
                    assert not pair.controls.stream_closed.is_set()
                await pair.controls.emit("complete", message="done")
                await pair.controls.end_stream()
                assert (await next_event(lines))[0] == "event: complete"
                assert [line async for line in lines] == []
            await pair.controls.stream_closed.wait()


async def test_a_client_that_leaves_ends_the_leaders_stream() -> None:
    with trio.fail_after(DEADLINE):
        async with forwarding_pair() as pair:
            async with (
                httpx.AsyncClient(base_url=pair.url) as client,
                client.stream("GET", "/t/events") as response,
            ):
                lines = response.aiter_lines()
                await pair.controls.emit("progress", message="one")
                await next_event(lines)
                await abandon(lines)
            # The client is gone; the leader must notice through the relay.
            await pair.controls.stream_closed.wait()


async def test_the_followers_shutdown_ends_relayed_streams_cleanly() -> None:
    """With a 30 s grace period, a relayed stream that ignored the shutdown would hold the
    server past the test's deadline."""
    tuning = ServerTuning(graceful_timeout=30, stream_close_timeout=30)
    with trio.fail_after(DEADLINE):
        async with (
            forwarding_pair(tuning=tuning) as pair,
            httpx.AsyncClient(base_url=pair.url) as client,
            client.stream("GET", "/t/events") as response,
        ):
            lines = response.aiter_lines()
            await pair.controls.emit("progress", message="one")
            await next_event(lines)
            pair.follower.request_shutdown()
            # The stream ends at an event boundary, without an error.
            assert [line async for line in lines] == []
        await pair.controls.stream_closed.wait()


async def test_a_silent_leader_is_cut_off_after_the_idle_timeout() -> None:
    """The leader sends a keep-alive every 15 s; here the relay gives up after 0.5 s, and the
    client sees a broken stream, not one that ended normally."""
    with trio.fail_after(DEADLINE):
        async with (
            forwarding_pair(ForwardingTuning(stream_idle_timeout=0.5)) as pair,
            httpx.AsyncClient(base_url=pair.url) as client,
            client.stream("GET", "/t/events") as response,
        ):
            lines = response.aiter_lines()
            await pair.controls.emit("progress", message="one")
            await next_event(lines)
            with pytest.raises(httpx.RemoteProtocolError):
                await next_event(lines)
        await pair.controls.stream_closed.wait()
