"""The stack pool reuses connections, bounds them, and never reuses a broken one."""

from __future__ import annotations

import json

import pytest
import trio

from actors.kube.http11 import ConnectFailed, ConnectionLost, Origin
from actors.kube.pool import StackPool
from kubesim.site import Site

from .rawserver import RawServer, serve_raw

_GET = [(b"host", b"kubesim")]


def pool_for(site: Site, **limits: int) -> StackPool:
    assert site.url is not None
    return StackPool(Origin.from_url(site.url), **limits)


async def test_sequential_requests_reuse_one_connection(site: Site) -> None:
    pool = pool_for(site)
    with trio.fail_after(5):
        for _ in range(5):
            reply = await pool.request("GET", "/api/v1/namespaces", _GET)
            assert reply.status == 200
            assert json.loads(reply.body)["kind"] == "NamespaceList"
            assert pool.idle_connections == 1
    await pool.aclose()
    assert pool.idle_connections == 0


async def test_concurrent_requests_never_share_and_idle_connections_are_bounded(
    site: Site,
) -> None:
    pool = pool_for(site, max_idle=3)
    statuses: list[int] = []

    async def get() -> None:
        statuses.append((await pool.request("GET", "/api/v1/namespaces", _GET)).status)

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            for _ in range(20):
                nursery.start_soon(get)
    assert statuses == [200] * 20
    assert pool.idle_connections == 3
    await pool.aclose()


async def test_a_refused_connection_is_connect_failed() -> None:
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there any more
    pool = StackPool(Origin.from_url(f"http://127.0.0.1:{port}"))
    with trio.fail_after(5), pytest.raises(ConnectFailed):
        await pool.request("GET", "/", _GET)


async def test_requests_beyond_the_connection_limit_wait_their_turn() -> None:
    in_flight = 0
    most = 0

    async def slow(server: RawServer, stream: trio.SocketStream) -> None:
        nonlocal in_flight, most
        while await server.read_request(stream):
            in_flight += 1
            most = max(most, in_flight)
            await trio.sleep(0.05)
            in_flight -= 1
            await stream.send_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")

    async with serve_raw(slow) as server:
        pool = StackPool(server.origin, max_connections=2)
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                for _ in range(6):
                    nursery.start_soon(pool.request, "GET", "/", _GET)
        await pool.aclose()
    assert most == 2


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    async def answer_once(server: RawServer, stream: trio.SocketStream) -> None:
        await server.read_request(stream)
        await stream.send_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
        # keep-alive was allowed, but the server hangs up right after answering

    async with serve_raw(answer_once) as server:
        pool = StackPool(server.origin)
        with trio.fail_after(5):
            assert (await pool.request("GET", "/", _GET)).status == 200
            await trio.sleep(0.05)  # the close reaches us
            assert (await pool.request("POST", "/", _GET, b"{}")).status == 200
        assert server.connections == 2
        await pool.aclose()


async def test_an_idempotent_request_is_resent_once_when_its_reused_connection_breaks() -> None:
    answered = 0

    async def answer_then_die(server: RawServer, stream: trio.SocketStream) -> None:
        nonlocal answered
        await server.read_request(stream)
        answered += 1
        await stream.send_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
        if answered == 1:
            # Read the second request, then drop the connection without answering it.
            await server.read_request(stream)

    async with serve_raw(answer_then_die) as server:
        pool = StackPool(server.origin)
        with trio.fail_after(5):
            assert (await pool.request("GET", "/", _GET)).status == 200
            assert (await pool.request("GET", "/", _GET)).status == 200
        assert server.connections == 2
        await pool.aclose()


async def test_a_post_on_a_broken_reused_connection_is_not_resent() -> None:
    async def answer_then_die(server: RawServer, stream: trio.SocketStream) -> None:
        await server.read_request(stream)
        await stream.send_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
        await server.read_request(stream)

    async with serve_raw(answer_then_die) as server:
        pool = StackPool(server.origin)
        with trio.fail_after(5):
            await pool.request("POST", "/", _GET, b"{}")
            with pytest.raises(ConnectionLost):
                await pool.request("POST", "/", _GET, b"{}")
        assert server.connections == 1
        await pool.aclose()


async def test_a_cancelled_request_closes_its_connection_instead_of_pooling_it() -> None:
    async def never_answer(server: RawServer, stream: trio.SocketStream) -> None:
        await server.read_request(stream)
        assert not await server.read_request(stream)  # only the client's close comes next

    async with serve_raw(never_answer) as server:
        pool = StackPool(server.origin)
        with trio.move_on_after(0.2) as waited:
            await pool.request("GET", "/", _GET)
        assert waited.cancelled_caught
        assert pool.idle_connections == 0
        with trio.fail_after(5):
            await server.wait_closed_by_client()
