"""WebSocket clients that misbehave: never read, fall behind, or send frames they should not.

The server must disconnect a client that stops reading, end every stream with a close code
that says why, keep its shutdown within its bounds whatever a client does, and survive frame
abuse. Streams here are fed by test routes that use the same streaming functions as the real
event and inspection routes (``web.streams``), so their sizes and timing are under control.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import AsyncIterator

import pytest
import trio
from quart_trio import QuartTrio
from trio_websocket import ConnectionClosed, WebSocketConnection

from actors.config import ControllerConfig
from actors.runtime import ActorSystem, EventStream
from tests.hostile.rawhttp import open_stream, still_serving, websocket_upgrade
from tests.web.conftest import LogCapture, run_server
from tests.web.wsclient import connect
from web.app import create_app
from web.server import ServerTuning
from web.state import current_state
from web.streams import push_subscription, send_text, serve_websocket_stream

FLOOD_MESSAGE = "x" * 65536
BIG_BODY = b"y" * (2 * 1024 * 1024)
CEILING = 30


class Routes:
    """What the test routes report back to the test."""

    def __init__(self) -> None:
        self.flood_ended = trio.Event()
        self.feed: EventStream[int] = EventStream(subscriber_buffer=2)
        self.subscribed = trio.Event()


@pytest.fixture
def routes() -> Routes:
    return Routes()


@pytest.fixture
def app(config: ControllerConfig, system: ActorSystem, routes: Routes) -> QuartTrio:
    app = create_app(config, system)

    @app.websocket("/test/flood")
    async def flood() -> None:
        async def push() -> None:
            while True:
                await send_text(FLOOD_MESSAGE)

        try:
            await serve_websocket_stream(current_state().streams, push)
        finally:
            routes.flood_ended.set()

    @app.get("/test/big")
    async def big() -> bytes:
        return BIG_BODY

    @app.websocket("/test/feed")
    async def feed() -> None:
        subscription = routes.feed.subscribe()
        routes.subscribed.set()
        # Fall behind before reading anything: the stream drops the subscriber.
        for number in range(5):
            routes.feed.publish(number)
        await serve_websocket_stream(
            current_state().streams, lambda: push_subscription(subscription, str)
        )

    return app


async def _handshake(port: int, path: str) -> trio.SocketStream:
    """A WebSocket whose client never reads after the handshake (tiny receive buffer)."""
    stream = await open_stream(port, receive_buffer=4096)
    await stream.send_all(websocket_upgrade(path))
    head = b""
    while b"\r\n\r\n" not in head:
        head += await stream.receive_some(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return stream


async def test_a_websocket_client_that_never_reads_is_disconnected(
    config: ControllerConfig, system: ActorSystem, app: QuartTrio, routes: Routes, logs: LogCapture
) -> None:
    tuning = ServerTuning(write_timeout=0.5)
    with trio.fail_after(CEILING):
        async with run_server(config, system, app=app, tuning=tuning) as server:
            stream = await _handshake(server.port, "/test/flood")
            async with stream:
                await routes.flood_ended.wait()
            assert await still_serving(server.base_url)
    assert any(r["event"] == "Client stopped reading, connection reset" for r in logs.records())


async def test_a_slow_client_that_keeps_reading_gets_the_whole_response(
    config: ControllerConfig, system: ActorSystem, app: QuartTrio, logs: LogCapture
) -> None:
    """The write bound is on progress: 2 MiB read 16 KiB at a time with pauses outlasts it."""
    tuning = ServerTuning(write_timeout=0.3)
    received = b""
    with trio.fail_after(CEILING):
        async with run_server(config, system, app=app, tuning=tuning) as server:
            stream = await open_stream(server.port, receive_buffer=16384)
            async with stream:
                await stream.send_all(
                    b"GET /test/big HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                )
                while chunk := await stream.receive_some(65536):
                    received += chunk
                    await trio.sleep(0.02)
    assert received.startswith(b"HTTP/1.1 200")
    assert received.endswith(BIG_BODY)
    assert not any("stopped reading" in r["event"] for r in logs.records())


async def test_shutdown_ends_within_its_bounds_while_a_client_never_reads(
    config: ControllerConfig, system: ActorSystem, app: QuartTrio
) -> None:
    # The write timeout alone would hold the shutdown for a minute: the grace period ends it.
    tuning = ServerTuning(write_timeout=60, graceful_timeout=1, stream_close_timeout=0.5)
    with trio.fail_after(CEILING):
        async with run_server(config, system, app=app, tuning=tuning) as server:
            stream = await _handshake(server.port, "/test/flood")
            await trio.sleep(0.5)  # let the flood fill every buffer on the way
        await stream.aclose()


async def test_a_subscriber_that_fell_behind_is_closed_with_1013_and_logged(
    server_url: str, logs: LogCapture
) -> None:
    with trio.fail_after(CEILING):
        async with connect(server_url.replace("http://", "ws://") + "/test/feed") as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await _read_forever(ws)
    assert closed.value.reason.code == 1013
    assert any("fell behind" in r["event"] for r in logs.records())


async def _read_forever(ws: WebSocketConnection) -> None:
    while True:
        await ws.get_message()


@pytest.fixture
async def server_url(
    config: ControllerConfig, system: ActorSystem, app: QuartTrio
) -> AsyncIterator[str]:
    async with run_server(config, system, app=app) as server:
        yield server.base_url


def _frame(opcode: int, payload: bytes, *, masked: bool = True, fin: bool = True) -> bytes:
    """One client frame (RFC 6455 section 5.2), masked as a client's must be unless told."""
    first = (0x80 if fin else 0) | opcode
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", first, (0x80 if masked else 0) | length)
    elif length < 65536:
        header = struct.pack("!BBH", first, (0x80 if masked else 0) | 126, length)
    else:
        header = struct.pack("!BBQ", first, (0x80 if masked else 0) | 127, length)
    if not masked:
        return header + payload
    mask = os.urandom(4)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _close_code(data: bytes) -> int | None:
    """The code of the close frame among the server's frames, if one has arrived whole."""
    offset = 0
    while offset + 2 <= len(data):
        opcode, length = data[offset] & 0x0F, data[offset + 1] & 0x7F
        header = 2
        if length == 126:
            (length,), header = struct.unpack("!H", data[offset + 2 : offset + 4]), 4
        elif length == 127:
            (length,), header = struct.unpack("!Q", data[offset + 2 : offset + 10]), 10
        if offset + header + length > len(data):
            return None
        if opcode == 0x8 and length >= 2:
            code: int = struct.unpack("!H", data[offset + header : offset + header + 2])[0]
            return code
        offset += header + length
    return None


async def _answer_to_frames(port: int, frames: list[bytes]) -> tuple[bytes, bool]:
    """What the server sends after ``frames``: until its close frame or its end of stream.

    Returns the bytes after the handshake and whether the server closed the connection.
    """
    stream = await open_stream(port)
    async with stream:
        await stream.send_all(websocket_upgrade("/nublado/admin/actors/ws"))
        received = b""
        while b"\r\n\r\n" not in received:
            received += await stream.receive_some(65536)
        head, _, received = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        for frame in frames:
            await stream.send_all(frame)
        while _close_code(received) is None:
            try:
                chunk = await stream.receive_some(65536)
            except trio.BrokenResourceError:
                return received, True
            if not chunk:
                return received, True
            received += chunk
    return received, False


@pytest.mark.parametrize(
    "frames",
    [
        pytest.param([_frame(0x1, b"hello", masked=False)], id="unmasked"),
        pytest.param([_frame(0x3, b"x")], id="reserved-opcode"),
        pytest.param([_frame(0x1, b"\xff\xfe")], id="text-not-utf8"),
        pytest.param([_frame(0x9, b"p" * 200)], id="control-frame-over-125"),
        pytest.param([_frame(0x1, b"a", fin=False), _frame(0x1, b"b")], id="bad-fragment"),
    ],
)
async def test_a_websocket_protocol_violation_drops_the_connection(
    server_url: str, frames: list[bytes]
) -> None:
    """RFC 6455 lets the server fail such a connection without a closing handshake."""
    port = int(server_url.rsplit(":", 1)[1])
    with trio.fail_after(CEILING):
        _, closed = await _answer_to_frames(port, frames)
        assert closed
        assert await still_serving(server_url)


async def test_a_websocket_message_over_the_limit_is_closed_with_1009(server_url: str) -> None:
    port = int(server_url.rsplit(":", 1)[1])
    with trio.fail_after(CEILING):
        received, _ = await _answer_to_frames(port, [_frame(0x1, b"a" * 70_000)])
        assert _close_code(received) == 1009
        assert await still_serving(server_url)


async def test_a_websocket_that_sends_text_is_still_served(server_url: str) -> None:
    """Inbound messages are read and dropped; a chatty client does not wedge its stream."""
    with trio.fail_after(CEILING):
        url = server_url.replace("http://", "ws://") + "/nublado/admin/actors/ws"
        async with connect(url) as ws:
            for _ in range(50):
                await ws.send_message("hello")
            tree = json.loads(await ws.get_message())
    assert tree["name"] == "root"
