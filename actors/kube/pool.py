"""A connection pool whose cost per request does not grow with the number of connections.

httpcore's pool compares every queued request with every connection whenever a request is
queued or finishes. With a thousand concurrent spawns that comparison took a large share of
the controller's CPU (``bench/spawn_storm.py`` showed it), and raising or lowering its limits
only traded it against reconnecting. The API server is one origin and the controller's calls
are short, so the pool can be trivial: idle connections on a stack, the most recently used on
top (still warm, least likely to have been closed by the server). A request takes the top
idle connection or opens a new one; a finished response puts its connection back if it can
be reused. At most ``max_connections`` requests are in flight; the others wait their turn on
a semaphore, whose cost does not depend on how many wait.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from contextlib import contextmanager

import httpcore
import httpx
import trio

__all__ = ["StackPool"]

_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
)
"""httpcore's errors and the httpx errors callers catch, most specific first."""


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as error:
        for core_error, httpx_error in _ERRORS:
            if isinstance(error, core_error):
                raise httpx_error(str(error)) from error
        raise


class StackPool(httpx.AsyncBaseTransport):
    """HTTP/1.1 connections to one server, reused most-recent-first, never queued."""

    def __init__(
        self,
        ssl_context: ssl.SSLContext | None = None,
        *,
        max_connections: int = 256,
        max_idle: int = 128,
        keepalive_expiry: float = 30.0,
    ) -> None:
        self._ssl_context = ssl_context
        self._max_idle = max_idle
        self._keepalive_expiry = keepalive_expiry
        self._idle: list[httpcore.AsyncHTTPConnection] = []
        # Bounds the connections open at once (a burst of spawns must not open thousands of
        # sockets at the server together); waiting for a slot is first come, first served,
        # and costs the same whatever the number of waiters.
        self._slots = trio.Semaphore(max_connections)

    @property
    def idle_connections(self) -> int:
        return len(self._idle)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self._slots.acquire()
        try:
            return await self._send(request)
        except BaseException:
            self._slots.release()
            raise

    async def _send(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.raw_scheme
        port = url.port or (443 if scheme == b"https" else 80)
        connection = await self._reusable(httpcore.Origin(scheme, url.raw_host, port))
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=scheme, host=url.raw_host, port=port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            with _as_httpx_errors():
                response = await connection.handle_async_request(core_request)
        except BaseException:
            with trio.CancelScope(shield=True):
                await connection.aclose()
            raise
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ReturningStream(response.stream, connection, self),
            extensions=response.extensions,
        )

    async def _reusable(self, origin: httpcore.Origin) -> httpcore.AsyncHTTPConnection:
        while self._idle:
            connection = self._idle.pop()
            reusable = connection.can_handle_request(origin) and connection.is_idle()
            if reusable and not connection.has_expired():
                return connection
            await connection.aclose()
        return httpcore.AsyncHTTPConnection(
            origin=origin,
            ssl_context=self._ssl_context,
            keepalive_expiry=self._keepalive_expiry,
            http1=True,
            http2=False,
        )

    async def _finished(self, connection: httpcore.AsyncHTTPConnection) -> None:
        try:
            if connection.is_idle() and len(self._idle) < self._max_idle:
                self._idle.append(connection)
            else:
                await connection.aclose()
        finally:
            self._slots.release()

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        with trio.CancelScope(shield=True):
            for connection in idle:
                await connection.aclose()


class _ReturningStream(httpx.AsyncByteStream):
    """A response body that hands its connection back to the pool when closed."""

    def __init__(
        self,
        stream: AsyncIterable[bytes],
        connection: httpcore.AsyncHTTPConnection,
        pool: StackPool,
    ) -> None:
        self._stream = stream
        self._connection = connection
        self._pool = pool
        self._closed = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return _MappedChunks(self._stream.__aiter__())

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            close = getattr(self._stream, "aclose", None)
            if close is not None:
                with _as_httpx_errors():
                    await close()
        finally:
            with trio.CancelScope(shield=True):
                await self._pool._finished(self._connection)


class _MappedChunks:
    """The body's chunks, with httpcore's read errors turned into httpx ones."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks

    def __aiter__(self) -> _MappedChunks:
        return self

    async def __anext__(self) -> bytes:
        with _as_httpx_errors():
            return await self._chunks.__anext__()
