"""Regression: idle keep-alive connections are closed on time (quart-trio + hypercorn bug).

Without ``web.asgi.ShieldFinalBody`` the final body send is cancelled by quart-trio, hypercorn
never starts the connection's idle timer, and the connection stays open: forever while
serving, and for the whole ``graceful_timeout`` on shutdown.
"""

from __future__ import annotations

import httpx
import trio

from actors.config import ControllerConfig
from actors.runtime import ActorSystem
from tests.web.conftest import run_server
from web.server import ServerTuning

KEEP_ALIVE = 0.3


async def test_idle_keep_alive_connection_is_closed_within_keep_alive_timeout(
    config: ControllerConfig, system: ActorSystem
) -> None:
    tuning = ServerTuning(keep_alive_timeout=KEEP_ALIVE)
    received: list[bytes] = []
    with trio.fail_after(10):
        async with run_server(config, system, tuning=tuning) as server:
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            async with stream:
                await stream.send_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
                with trio.move_on_after(KEEP_ALIVE + 1.0) as waiting:
                    while chunk := await stream.receive_some(65536):
                        received.append(chunk)
    assert b"".join(received).startswith(b"HTTP/1.1 200")
    assert not waiting.cancelled_caught, "the server kept the idle connection open"


async def test_shutdown_does_not_wait_for_idle_keep_alive_connections(
    config: ControllerConfig, system: ActorSystem
) -> None:
    tuning = ServerTuning(keep_alive_timeout=60.0, graceful_timeout=5.0)
    with trio.fail_after(10):
        async with httpx.AsyncClient() as client:
            async with run_server(config, system, tuning=tuning) as server:
                response = await client.get(f"{server.base_url}/")
                idle_since = trio.current_time()
            shutdown_took = trio.current_time() - idle_since
    assert response.status_code == 200
    assert shutdown_took < 1.0
