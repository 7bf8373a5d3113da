"""A connection pool whose cost per request does not grow with the number of connections.

The API server is one origin and the controller's calls are short, so the pool can be
trivial: idle connections on a stack, the most recently used on top (still warm, least likely
to have been closed by the server). A request takes the top idle connection that still looks
alive or opens a new one; a response read to its end puts its connection back if both sides
allow keep-alive. At most ``max_connections`` requests are in flight; the others wait their
turn on a semaphore, whose cost does not depend on how many wait (a burst of a thousand
spawns must not open a thousand sockets at the server together).

A general-purpose pool compares every queued request with every connection whenever one is
queued or finishes; with a thousand concurrent spawns that comparison alone took a large
share of the controller's CPU (``bench/spawn_storm.py`` showed it).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import trio

from .http11 import ConnectionLost, Http11Connection, Origin, ResponseHead

__all__ = ["Reply", "StackPool"]

_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Reply:
    """A complete response."""

    status: int
    reason: str
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: bytes) -> str | None:
        """The first value of header ``name`` (lower case)."""
        return ResponseHead(self.status, self.reason, self.headers).header(name)


class StackPool:
    """HTTP/1.1 connections to one origin, reused most-recent-first."""

    def __init__(
        self,
        origin: Origin,
        ssl_context: ssl.SSLContext | None = None,
        *,
        max_connections: int = 256,
        max_idle: int = 128,
        keepalive_expiry: float = 30.0,
    ) -> None:
        self.origin = origin
        self._ssl_context = ssl_context
        self._max_idle = max_idle
        self._keepalive_expiry = keepalive_expiry
        self._idle: list[Http11Connection] = []
        self._slots = trio.Semaphore(max_connections)

    @property
    def idle_connections(self) -> int:
        return len(self._idle)

    async def request(
        self,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes = b"",
    ) -> Reply:
        """Send one request and read its whole response (the caller's deadline bounds both).

        A request on a reused connection that the server had closed meanwhile is sent once
        more on a new connection when that cannot apply it twice (idempotent method). A
        request cancelled half-way closes its connection: it can not carry another.
        """
        async with self._slots:
            connection = self._take_idle()
            reused = connection is not None
            try:
                return await self._exchange(connection, method, target, headers, body)
            except ConnectionLost:
                if not (reused and method in _IDEMPOTENT):
                    raise
            return await self._exchange(None, method, target, headers, body)

    async def _exchange(
        self,
        connection: Http11Connection | None,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> Reply:
        try:
            if connection is None:
                connection = await Http11Connection.open(self.origin, self._ssl_context)
            head = await connection.send_request(method, target, headers, body)
            content = await connection.read_body()
        except BaseException:
            if connection is not None:
                connection.close_now()
            raise
        self._put_back(connection)
        return Reply(head.status, head.reason, head.headers, content)

    async def open_stream(
        self,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
    ) -> tuple[Http11Connection, ResponseHead]:
        """Send a request on a new, unpooled connection and return it with the response head.

        For watches: they hold their connection for minutes, so they neither take a pool slot
        nor come back to the pool. The caller owns the connection and must close it.
        """
        connection: Http11Connection | None = None
        try:
            connection = await Http11Connection.open(self.origin, self._ssl_context)
            head = await connection.send_request(method, target, headers)
        except BaseException:
            if connection is not None:
                connection.close_now()
            raise
        return connection, head

    def _take_idle(self) -> Http11Connection | None:
        now = trio.current_time()
        while self._idle:
            connection = self._idle.pop()
            fresh = now - connection.idle_since < self._keepalive_expiry
            if fresh and connection.looks_alive():
                return connection
            connection.close_now()
        return None

    def _put_back(self, connection: Http11Connection) -> None:
        if len(self._idle) < self._max_idle and connection.finish_cycle():
            self._idle.append(connection)
        else:
            connection.close_now()

    async def aclose(self) -> None:
        """Close every idle connection (requests in flight close theirs when they finish)."""
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close_now()
        await trio.lowlevel.checkpoint()
