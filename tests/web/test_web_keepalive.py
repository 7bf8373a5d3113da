"""Regression: idle keep-alive connections are closed on time (quart-trio + hypercorn bug).

Without ``web.asgi.ShieldFinalBody`` the final body send is cancelled by quart-trio, hypercorn
never starts the connection's idle timer, and the connection stays open: forever while
serving, and for the whole ``graceful_timeout`` on shutdown.
"""

from __future__ import annotations

import re

import httpx
import trio

from actors.config import ControllerConfig
from actors.runtime import ActorSystem
from tests.web.conftest import minimal_config_data, run_server
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


async def _read_response(stream: trio.SocketStream) -> bytes:
    """One whole response (head and ``Content-Length`` body), or ``b""`` if the server closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = await stream.receive_some(65536)
        except trio.BrokenResourceError:
            return b""
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: (\d+)", head, re.IGNORECASE)[1])  # type: ignore[index]
    while len(body) < length:
        body += await stream.receive_some(65536)
    return head + b"\r\n\r\n" + body


async def _second_request_after_idle(port: int, idle: float) -> bytes:
    """Two requests on one connection with ``idle`` seconds between them; the second answer."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        assert (await _read_response(stream)).startswith(b"HTTP/1.1 200")
        await trio.sleep(idle)
        try:
            await stream.send_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        except trio.BrokenResourceError:
            return b""
        return await _read_response(stream)


async def test_by_default_an_idle_connection_outlives_the_idle_expiry_of_httpx(
    config: ControllerConfig, system: ActorSystem
) -> None:
    """The keep-alive race: JupyterHub's httpx client reuses a connection idle for up to 5 s;
    a server that closed after 5 s too lost requests sent in that instant. The server's idle
    timeout (from the default configuration) must be the longer one."""
    client_expiry = httpx.Limits().keepalive_expiry
    assert client_expiry is not None
    with trio.fail_after(client_expiry + 10):
        async with run_server(config, system) as server:
            second = await _second_request_after_idle(server.port, client_expiry + 0.5)
    assert second.startswith(b"HTTP/1.1 200"), "the server closed a connection httpx would reuse"


async def test_the_keep_alive_timeout_is_configurable(system: ActorSystem) -> None:
    config = ControllerConfig.model_validate(minimal_config_data(server={"keepAliveTimeout": 1}))
    with trio.fail_after(10):
        async with run_server(config, system) as server:
            second = await _second_request_after_idle(server.port, 1.5)
    assert second == b"", "the idle connection outlived server.keepAliveTimeout"
