"""Server-sent event responses: wire format, keep-alives, no response timeout, clean shutdown.

Served from test-only routes fed by a memory channel; the real spawn-progress route arrives
with the lab issue and uses the same ``event_stream_response``.
"""

from __future__ import annotations

import httpx
import pytest
import trio
from quart_trio import QuartTrio

from actors.config import ControllerConfig
from actors.runtime import ActorSystem
from tests.web.conftest import run_server
from web.app import create_app
from web.sse import ServerSentEvent, event_stream_response
from web.state import app_state

Item = ServerSentEvent | None
Events = tuple[trio.MemorySendChannel[Item], trio.MemoryReceiveChannel[Item]]


@pytest.fixture
def events() -> Events:
    return trio.open_memory_channel[Item](10)


@pytest.fixture
def app(config: ControllerConfig, system: ActorSystem, events: Events) -> QuartTrio:
    app = create_app(config, system)
    app.config["RESPONSE_TIMEOUT"] = 0.2
    _, receive = events

    @app.get("/test/events")
    async def stream() -> object:
        return event_stream_response(app_state(app).streams, receive.receive, keepalive=0.1)

    return app


async def test_events_use_the_spawner_wire_format_and_the_stream_ends_with_them(
    client: httpx.AsyncClient, events: Events
) -> None:
    send, _ = events
    await send.send(ServerSentEvent("info", {"message": "Pulling image", "progress": 30}))
    await send.send(ServerSentEvent("complete", {"message": "Lab started"}))
    await send.send(None)
    with trio.fail_after(5):
        response = await client.get("/test/events")
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert response.content == (
        b'event: info\r\ndata: {"message": "Pulling image", "progress": 30}\r\n\r\n'
        b'event: complete\r\ndata: {"message": "Lab started"}\r\n\r\n'
    )


async def test_quiet_stream_gets_keepalives_and_outlives_the_response_timeout(
    client: httpx.AsyncClient, events: Events
) -> None:
    send, _ = events
    with trio.fail_after(5):
        async with client.stream("GET", "/test/events") as response:
            received = response.aiter_lines()
            first = await anext(received)
            await trio.sleep(0.5)  # longer than the app's RESPONSE_TIMEOUT
            await send.send(ServerSentEvent("info", {"message": "still here"}))
            await send.send(None)
            rest = [line async for line in received]
    assert first.startswith(": ping - ")
    assert "event: info" in rest


async def test_open_stream_ends_promptly_on_shutdown(
    config: ControllerConfig, system: ActorSystem, app: QuartTrio
) -> None:
    with trio.fail_after(10):
        async with (
            httpx.AsyncClient() as client,
            run_server(config, system, app=app) as server,
            client.stream("GET", f"{server.base_url}/test/events") as response,
        ):
            received = response.aiter_lines()
            await anext(received)
            server.request_shutdown()
            shutdown_at = trio.current_time()
            async for _ in received:
                pass
        shutdown_took = trio.current_time() - shutdown_at
    assert shutdown_took < 2.0
