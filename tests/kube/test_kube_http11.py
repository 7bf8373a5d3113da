"""One HTTP/1.1 connection: framing, streamed lines and how failures are reported."""

from __future__ import annotations

import os
import resource
import socket

import pytest
import trio

from actors.kube.http11 import (
    ConnectionLost,
    Http11Connection,
    LineStream,
    Origin,
    ProtocolViolation,
)

from .rawserver import RawServer, serve_raw

_HEADERS = [(b"host", b"test")]


def test_origin_keeps_the_base_path_and_fills_default_ports() -> None:
    assert Origin.from_url("https://k8s.example.com/k8s/clusters/c-1/") == Origin(
        "https", "k8s.example.com", 443, "/k8s/clusters/c-1"
    )
    assert Origin.from_url("http://127.0.0.1:6443") == Origin("http", "127.0.0.1", 6443, "")
    assert Origin.from_url("https://[::1]:6443").host_header == b"[::1]:6443"
    assert Origin.from_url("https://api.example.com").host_header == b"api.example.com"
    with pytest.raises(ValueError, match="http"):
        Origin.from_url("ftp://example.com")


async def test_chunked_lines_split_across_reads_arrive_whole() -> None:
    async def watch_like(server: RawServer, stream: trio.SocketStream) -> None:
        await server.read_request(stream)
        await stream.send_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for piece in (b'{"a":', b'1}\n{"b"', b":2}\n", b'{"c":3}'):
            await stream.send_all(b"%x\r\n%s\r\n" % (len(piece), piece))
            await trio.sleep(0.01)
        await stream.send_all(b"0\r\n\r\n")

    async with serve_raw(watch_like) as server:
        with trio.fail_after(5):
            connection = await Http11Connection.open(server.origin, None)
            head = await connection.send_request("GET", "/watch", _HEADERS)
            lines = LineStream(connection, head)
            received = [await lines.next_line() for _ in range(4)]
            await lines.aclose()
    assert head.status == 200
    assert head.header(b"transfer-encoding") == "chunked"
    assert received == ['{"a":1}', '{"b":2}', '{"c":3}', None]
    assert server.requests[0].startswith(b"GET /watch HTTP/1.1\r\n")


async def test_a_request_body_is_sent_with_its_length() -> None:
    async def echo_length(server: RawServer, stream: trio.SocketStream) -> None:
        await server.read_request(stream)
        await stream.send_all(b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n")

    async with serve_raw(echo_length) as server:
        with trio.fail_after(5):
            connection = await Http11Connection.open(server.origin, None)
            head = await connection.send_request("POST", "/x", _HEADERS, b'{"k": "v"}')
            assert await connection.read_body() == b""
            assert connection.finish_cycle()
            await connection.aclose()
    assert head.status == 201
    assert b"content-length: 10\r\n" in server.requests[0]
    assert server.requests[0].endswith(b'\r\n\r\n{"k": "v"}')


async def test_a_response_cut_short_is_connection_lost() -> None:
    async def hang_up_mid_body(server: RawServer, stream: trio.SocketStream) -> None:
        await server.read_request(stream)
        await stream.send_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{partial")

    async with serve_raw(hang_up_mid_body) as server:
        with trio.fail_after(5):
            connection = await Http11Connection.open(server.origin, None)
            await connection.send_request("GET", "/", _HEADERS)
            with pytest.raises(ConnectionLost):
                await connection.read_body()
            assert not connection.finish_cycle()
            await connection.aclose()


async def test_garbage_instead_of_a_response_is_a_protocol_violation() -> None:
    async def garbage(server: RawServer, stream: trio.SocketStream) -> None:
        await server.read_request(stream)
        await stream.send_all(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

    async with serve_raw(garbage) as server:
        with trio.fail_after(5):
            connection = await Http11Connection.open(server.origin, None)
            with pytest.raises(ProtocolViolation):
                await connection.send_request("GET", "/", _HEADERS)
            await connection.aclose()


async def test_a_connection_the_server_will_close_is_not_reusable() -> None:
    async def close_after(server: RawServer, stream: trio.SocketStream) -> None:
        await server.read_request(stream)
        await stream.send_all(
            b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}"
        )

    async with serve_raw(close_after) as server:
        with trio.fail_after(5):
            connection = await Http11Connection.open(server.origin, None)
            await connection.send_request("GET", "/", _HEADERS)
            assert await connection.read_body() == b"{}"
            assert not connection.finish_cycle()
            await connection.aclose()


async def test_closing_wakes_a_reader_blocked_on_a_silent_stream() -> None:
    async def silent(server: RawServer, stream: trio.SocketStream) -> None:
        await server.read_request(stream)
        await stream.send_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        await server.read_request(stream)  # returns at the client's close

    async with serve_raw(silent) as server:
        with trio.fail_after(5):
            connection = await Http11Connection.open(server.origin, None)
            lines = LineStream(connection, await connection.send_request("GET", "/", _HEADERS))
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_expect_lost, lines)
                await trio.sleep(0.05)
                connection.close_now()
            await server.wait_closed_by_client()


async def _expect_lost(lines: LineStream) -> None:
    with pytest.raises(ConnectionLost):
        await lines.next_line()


async def test_liveness_check_works_above_select_descriptor_limit() -> None:
    # A controller with thousands of watches has descriptors beyond select()'s 1024.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    high = 1500
    assert hard == resource.RLIM_INFINITY or hard > high, "needs a descriptor above 1024"
    if soft != resource.RLIM_INFINITY and soft <= high:
        resource.setrlimit(resource.RLIMIT_NOFILE, (high + 1, hard))
    ours, theirs = socket.socketpair()
    os.dup2(ours.fileno(), high)
    ours.close()
    sock = trio.socket.from_stdlib_socket(socket.socket(fileno=high))
    connection = Http11Connection(trio.SocketStream(sock), sock)
    try:
        assert connection.looks_alive()
        theirs.close()  # the peer hangs up: the idle socket turns readable (EOF)
        assert not connection.looks_alive()
    finally:
        await connection.aclose()
        theirs.close()
        if soft != resource.RLIM_INFINITY and soft <= high:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
