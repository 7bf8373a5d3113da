"""Clients of a follower that misbehave: the relay must not let them hold the leader.

A client that stops reading a relayed stream is disconnected by the follower's write bound,
like a client of the leader itself; the relay then ends, and with it the leader's stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import trio
from quart import Response

from tests.hostile.rawhttp import open_stream, still_serving, websocket_upgrade
from tests.web.conftest import run_server
from tests.web.forwarding_site import FakeRoute, config, serve_follower
from tests.web.trees import small_system
from web.app import create_app
from web.server import ServerTuning
from web.state import current_state
from web.streams import send_text, serve_websocket_stream

CEILING = 30
FLOOD = "x" * 65536


async def test_clients_that_stop_reading_relayed_streams_release_the_leader() -> None:
    ended = {"websocket": trio.Event(), "http": trio.Event()}
    leader_config = config()
    system = small_system()
    app = create_app(leader_config, system)

    @app.websocket("/test/flood")
    async def flood() -> None:
        async def push() -> None:
            while True:
                await send_text(FLOOD)

        try:
            await serve_websocket_stream(current_state().streams, push)
        finally:
            ended["websocket"].set()

    @app.get("/test/endless")
    async def endless() -> Response:
        async def body() -> AsyncIterator[bytes]:
            try:
                while True:
                    yield FLOOD.encode()
                    await trio.lowlevel.checkpoint()
            finally:
                ended["http"].set()

        response = Response(body(), content_type="application/octet-stream")
        response.timeout = None
        return response

    tuning = ServerTuning(write_timeout=0.5)
    with trio.fail_after(CEILING):
        async with run_server(leader_config, system, app=app) as leader:
            route = FakeRoute(leader.base_url)
            async with serve_follower(route, tuning=tuning) as follower:
                ws = await open_stream(follower.port, receive_buffer=4096)
                async with ws:
                    await ws.send_all(websocket_upgrade("/test/flood"))
                    await ended["websocket"].wait()
                http = await open_stream(follower.port, receive_buffer=4096)
                async with http:
                    await http.send_all(b"GET /test/endless HTTP/1.1\r\nHost: t\r\n\r\n")
                    await ended["http"].wait()
                assert await still_serving(follower.base_url)
            assert await still_serving(leader.base_url)
