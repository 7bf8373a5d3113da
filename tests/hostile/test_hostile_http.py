"""Malformed and abusive HTTP over raw sockets: every answer is bounded, the server lives on.

Each test sends what a broken or hostile client would, asserts the exact answer, and then
checks that a fresh client is still served. A server that raised out of one connection
would end ``running_controller`` with that exception, failing the test.
"""

from __future__ import annotations

import re

import trio

from tests.e2e.harness import RunningController, running_controller
from tests.hostile.rawhttp import (
    exchange,
    get,
    open_stream,
    read_until_closed,
    status_line,
    still_serving,
    websocket_upgrade,
)

CEILING = 60


async def test_websocket_upgrade_followed_by_a_pipelined_request_ends_only_that_connection() -> (
    None
):
    async with running_controller() as nublado:
        prefix = nublado.prefix
        paths = [
            "/",
            "/nope",
            f"{prefix}/spawner/v1/labs",
            f"{prefix}/spawner/v1/labs/alice/events",
            f"{prefix}/admin/actors/ws",
            f"{prefix}/admin/labs/events",
        ]
        with trio.fail_after(CEILING):
            for path in paths:
                answer = await exchange(nublado.server.port, websocket_upgrade(path) + get("/"))
                assert status_line(answer).startswith(b"HTTP/1.1 4"), (path, answer[:200])
                assert await still_serving(nublado.url), path
        assert not nublado.server.shutdown_requested


async def test_pipelined_requests_are_all_answered_in_order(nublado: RunningController) -> None:
    with trio.fail_after(CEILING):
        stream = await open_stream(nublado.server.port)
        async with stream:
            await stream.send_all(get("/nope") + get("/") + get("/", "Connection: close"))
            answer = await read_until_closed(stream)
    assert re.findall(rb"HTTP/1\.1 (\d{3}) ", answer) == [b"404", b"200", b"200"]


async def test_an_oversized_request_head_is_refused_with_431(nublado: RunningController) -> None:
    with trio.fail_after(CEILING):
        answer = await exchange(nublado.server.port, get("/", "X-Padding: " + "a" * 20_000))
        assert status_line(answer) == b"HTTP/1.1 431 "
        assert await still_serving(nublado.url)


async def test_garbage_instead_of_a_request_is_refused_with_400(
    nublado: RunningController,
) -> None:
    garbage = [
        b"GARBAGE\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(64)) + b"\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nBad Header\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",  # HTTP/1.1 without Host
    ]
    with trio.fail_after(CEILING):
        for request in garbage:
            answer = await exchange(nublado.server.port, request)
            assert status_line(answer) == b"HTTP/1.1 400 ", (request[:40], answer[:200])
        assert await still_serving(nublado.url)


async def test_bytes_that_are_not_http_get_an_empty_400_and_the_connection_closes(
    nublado: RunningController,
) -> None:
    """The HTTP parser refuses these before any route sees them: no JSON body, just 400."""
    path = b"/nublado/spawner/v1/labs/\xff\xfe%00%ZZ"
    request = b"GET " + path + b" HTTP/1.1\r\nHost: test\r\n\r\n"
    with trio.fail_after(CEILING):
        answer = await exchange(nublado.server.port, request)
        assert status_line(answer) == b"HTTP/1.1 400 "
        assert b"content-length: 0\r\n" in answer
        assert b"connection: close\r\n" in answer
        assert await still_serving(nublado.url)


async def test_a_client_that_disconnects_mid_request_leaves_nothing_behind(
    nublado: RunningController,
) -> None:
    body = b'{"options": {'
    head = (
        f"POST {nublado.prefix}/spawner/v1/labs/alice/create HTTP/1.1\r\nHost: test\r\n"
        "Authorization: Bearer alice-demo-token\r\nContent-Type: application/json\r\n"
        "Content-Length: 5000\r\n\r\n"
    ).encode()
    with trio.fail_after(CEILING):
        for _ in range(20):
            stream = await open_stream(nublado.server.port)
            async with stream:
                await stream.send_all(head + body)
        assert await still_serving(nublado.url)
        async with nublado.client("hub") as hub:
            status = await hub.get(f"{nublado.prefix}/spawner/v1/labs/alice")
    assert status.status_code == 404, "a half-sent create must not create a lab"
