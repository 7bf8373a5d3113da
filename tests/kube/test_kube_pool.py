"""The stack pool reuses connections, bounds its idle ones and reports errors as httpx does."""

from __future__ import annotations

import httpx
import pytest
import trio

from actors.kube.pool import StackPool
from kubesim.site import Site


async def test_sequential_requests_reuse_one_connection(site: Site) -> None:
    pool = StackPool()
    async with httpx.AsyncClient(base_url=site.url or "", transport=pool) as client:
        with trio.fail_after(5):
            for _ in range(5):
                response = await client.get("/api/v1/namespaces")
                assert response.status_code == 200
                assert pool.idle_connections == 1


async def test_concurrent_requests_never_queue_and_idle_connections_are_bounded(
    site: Site,
) -> None:
    pool = StackPool(max_idle=3)
    statuses: list[int] = []
    async with httpx.AsyncClient(base_url=site.url or "", transport=pool) as client:

        async def get() -> None:
            statuses.append((await client.get("/api/v1/namespaces")).status_code)

        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                for _ in range(20):
                    nursery.start_soon(get)
    assert statuses == [200] * 20
    assert pool.idle_connections == 0  # closed with the client


async def test_streamed_bodies_return_their_connection_when_closed(site: Site) -> None:
    pool = StackPool()
    async with httpx.AsyncClient(base_url=site.url or "", transport=pool) as client:
        with trio.fail_after(5):
            async with client.stream("GET", "/api/v1/namespaces") as response:
                body = await response.aread()
            assert b"NamespaceList" in body
            assert pool.idle_connections == 1


async def test_a_refused_connection_is_an_httpx_connect_error() -> None:
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there any more
    async with httpx.AsyncClient(transport=StackPool()) as client:
        with trio.fail_after(5), pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_requests_beyond_the_connection_limit_wait_their_turn(site: Site) -> None:
    pool = StackPool(max_connections=2)
    in_flight = 0
    most = 0
    async with httpx.AsyncClient(base_url=site.url or "", transport=pool) as client:

        async def get() -> None:
            nonlocal in_flight, most
            async with client.stream("GET", "/api/v1/namespaces") as response:
                in_flight += 1
                most = max(most, in_flight)
                await trio.sleep(0.05)
                await response.aread()
                in_flight -= 1

        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                for _ in range(6):
                    nursery.start_soon(get)
    assert most == 2
