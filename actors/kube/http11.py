"""One HTTP/1.1 connection to the API server: h11 over a Trio stream, nothing else.

The controller talks to exactly one origin, always with small JSON requests, and keeps one
long-lived streaming response (a watch) open per lab. A general-purpose client spends most
of its time per request on what this traffic never needs (URL objects, header case
folding, auth and redirect generators, per-request pools, a chain of nested body
iterators per stream); ``bench/spawn_storm.py`` measured that layer as the largest part of
the controller's CPU per spawn, and its objects as a large part of each watch's memory.
This module keeps just the protocol: h11 parses and frames, the connection sends and
receives, and the caller decides what a response means.

Invariants:

* A connection carries one request at a time. After a response has been read to its end,
  :meth:`Http11Connection.finish_cycle` makes it ready for the next request if both sides
  allow keep-alive; otherwise (or after any error or cancellation) it must be closed.
* Every network failure surfaces as a subclass of :class:`HttpTransportError`, never as a
  bare ``OSError`` or h11 exception, so callers can classify it as "no usable response".
"""

from __future__ import annotations

import select
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11
import trio

__all__ = [
    "ConnectFailed",
    "ConnectionLost",
    "Http11Connection",
    "HttpTransportError",
    "LineStream",
    "Origin",
    "ProtocolViolation",
    "ResponseHead",
    "TimedOut",
]

_READ_SIZE = 16384
"""Bytes per socket read: API responses are small, and a watch event rarely exceeds this."""

_MAX_HEAD = 64 * 1024
"""Largest response head (or unterminated chunk header) h11 buffers before giving up."""


class HttpTransportError(Exception):
    """No usable response: the request may or may not have reached the server."""


class ConnectFailed(HttpTransportError):
    """The TCP connection (or the TLS handshake) could not be established."""


class ConnectionLost(HttpTransportError):
    """The connection broke while sending the request or reading the response."""


class ProtocolViolation(HttpTransportError):
    """The server sent something that is not valid HTTP/1.1."""


class TimedOut(HttpTransportError):
    """No complete answer within the allowed time."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where the API server is: scheme, host, port and the base path every request shares."""

    scheme: str
    host: str
    port: int
    base_path: str

    @classmethod
    def from_url(cls, url: str) -> Origin:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"API server URL must be http(s)://host[:port][/path]: {url!r}")
        default_port = 443 if parts.scheme == "https" else 80
        return cls(
            parts.scheme,
            parts.hostname,
            parts.port or default_port,
            parts.path.rstrip("/"),
        )

    @property
    def tls(self) -> bool:
        return self.scheme == "https"

    @property
    def host_header(self) -> bytes:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default_port = 443 if self.tls else 80
        value = host if self.port == default_port else f"{host}:{self.port}"
        return value.encode("ascii")


@dataclass(frozen=True, slots=True)
class ResponseHead:
    """Status line and headers of a response whose body has not been read yet."""

    status: int
    reason: str
    headers: list[tuple[bytes, bytes]]

    def header(self, name: bytes) -> str | None:
        """The first value of header ``name`` (lower case), decoded as Latin-1."""
        for key, value in self.headers:
            if key == name:
                return value.decode("latin-1")
        return None


class Http11Connection:
    """A client connection; see the module docstring for the one-request-at-a-time rule."""

    def __init__(self, stream: trio.abc.Stream, socket: trio.socket.SocketType) -> None:
        self._stream = stream
        self._socket = socket
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD)
        self._closed = False
        self._eof = False
        self.idle_since = trio.current_time()

    @classmethod
    async def open(cls, origin: Origin, ssl_context: ssl.SSLContext | None) -> Http11Connection:
        """Connect (and handshake TLS) to ``origin``; the caller bounds the time taken."""
        try:
            tcp = await trio.open_tcp_stream(origin.host, origin.port)
        except OSError as exc:
            raise ConnectFailed(f"cannot connect to {origin.host}:{origin.port}: {exc}") from exc
        tcp.setsockopt(trio.socket.IPPROTO_TCP, trio.socket.TCP_NODELAY, True)
        if not origin.tls:
            return cls(tcp, tcp.socket)
        context = ssl_context if ssl_context is not None else ssl.create_default_context()
        tls = trio.SSLStream(tcp, context, server_hostname=origin.host, https_compatible=True)
        try:
            await tls.do_handshake()
        except (trio.BrokenResourceError, ssl.SSLError, OSError) as exc:
            await trio.aclose_forcefully(tls)
            cause = exc.__cause__ if isinstance(exc, trio.BrokenResourceError) else exc
            raise ConnectFailed(f"TLS handshake with {origin.host} failed: {cause}") from exc
        except BaseException:
            await trio.aclose_forcefully(tls)
            raise
        return cls(tls, tcp.socket)

    async def send_request(
        self, method: str, target: str, headers: list[tuple[bytes, bytes]], body: bytes = b""
    ) -> ResponseHead:
        """Send a whole request and wait for the response head (skipping ``1xx`` answers)."""
        all_headers = list(headers)
        if body or method in ("POST", "PUT", "PATCH"):
            all_headers.append((b"content-length", str(len(body)).encode("ascii")))
        try:
            data = self._h11.send(h11.Request(method=method, target=target, headers=all_headers))
            if body:
                data = (data or b"") + (self._h11.send(h11.Data(data=body)) or b"")
            data = (data or b"") + (self._h11.send(h11.EndOfMessage()) or b"")
        except h11.LocalProtocolError as exc:
            raise ValueError(f"invalid request: {exc}") from exc
        await self._send(data)
        while True:
            event = await self._next_event()
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                return ResponseHead(
                    event.status_code,
                    event.reason.decode("latin-1"),
                    list(event.headers),
                )
            raise ProtocolViolation(f"unexpected {type(event).__name__} before a response")

    async def receive_data(self) -> bytes:
        """The next piece of the response body; ``b""`` once the body is complete."""
        while True:
            event = await self._next_event()
            if isinstance(event, h11.Data):
                if event.data:
                    return bytes(event.data)
                continue
            if isinstance(event, h11.EndOfMessage):
                return b""
            raise ProtocolViolation(f"unexpected {type(event).__name__} in a response body")

    async def read_body(self) -> bytes:
        """The rest of the response body."""
        parts: list[bytes] = []
        while chunk := await self.receive_data():
            parts.append(chunk)
        return b"".join(parts)

    def finish_cycle(self) -> bool:
        """After a complete response: prepare for another request; ``False`` if not reusable."""
        if self._closed or self._h11.our_state is not h11.DONE:
            return False
        if self._h11.their_state is not h11.DONE:
            return False
        try:
            self._h11.start_next_cycle()
        except h11.LocalProtocolError:
            return False
        self.idle_since = trio.current_time()
        return True

    def looks_alive(self) -> bool:
        """Whether an idle connection can carry a request: the server has neither closed it
        nor sent anything unsolicited (a readable idle socket means one of the two)."""
        if self._closed:
            return False
        # poll, not select: a controller with thousands of watch connections has descriptors
        # above select's limit of 1024, where select fails for every connection.
        poller = select.poll()
        try:
            poller.register(self._socket.fileno(), select.POLLIN)
            return not poller.poll(0)
        except (OSError, ValueError):
            return False

    def close_now(self) -> None:
        """Close the connection at once (no TLS close-notify exchange); safe to call twice.

        Closing the socket also wakes a task blocked reading it, which then sees
        :class:`ConnectionLost`.
        """
        if not self._closed:
            self._closed = True
            self._socket.close()

    async def aclose(self) -> None:
        """:meth:`close_now`, as an awaitable that never blocks (even when cancelled)."""
        self.close_now()
        await trio.lowlevel.cancel_shielded_checkpoint()

    async def _send(self, data: bytes) -> None:
        try:
            await self._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            raise ConnectionLost(f"sending the request failed: {_describe(exc)}") from exc

    async def _next_event(self) -> h11.Event | type[h11.PAUSED]:
        while True:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:
                if self._eof:
                    raise ConnectionLost("the server closed the connection mid-response") from exc
                raise ProtocolViolation(f"invalid response: {exc}") from exc
            if event is h11.PAUSED or isinstance(event, h11.Event):
                if isinstance(event, h11.ConnectionClosed):
                    raise ConnectionLost("the server closed the connection before responding")
                return event
            try:
                chunk = await self._stream.receive_some(_READ_SIZE)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                raise ConnectionLost(f"reading the response failed: {_describe(exc)}") from exc
            self._eof = not chunk
            try:
                self._h11.receive_data(bytes(chunk))
            except h11.RemoteProtocolError as exc:
                raise ProtocolViolation(f"invalid response: {exc}") from exc


def _describe(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    text = str(exc) or type(exc).__name__
    return f"{text} ({cause})" if cause is not None and str(cause) else text


class LineStream:
    """A streaming response read line by line; owns its connection and closes it.

    A watch body is newline-delimited JSON that arrives in arbitrary pieces; lines are cut
    here from one small buffer, so an open watch holds one connection, one parser and the
    unread bytes of at most one partial line.
    """

    def __init__(self, connection: Http11Connection, head: ResponseHead) -> None:
        self.head = head
        self._connection = connection
        self._buffer = b""
        self._ended = False

    async def next_line(self) -> str | None:
        """The next complete line without its newline; ``None`` once the body has ended."""
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line, self._buffer = self._buffer[:newline], self._buffer[newline + 1 :]
                return line.decode("utf-8", errors="replace")
            if self._ended:
                if self._buffer:
                    line, self._buffer = self._buffer, b""
                    return line.decode("utf-8", errors="replace")
                return None
            chunk = await self._connection.receive_data()
            if chunk:
                self._buffer += chunk
            else:
                self._ended = True

    async def read_all(self) -> bytes:
        """The rest of the body (for error responses, whose Status explains the failure)."""
        rest = self._buffer + await self._connection.read_body()
        self._buffer = b""
        self._ended = True
        return rest

    async def aclose(self) -> None:
        await self._connection.aclose()
