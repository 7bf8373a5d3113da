"""A small HTTP/1.1 server on h11 and Trio, built for kubesim's throughput needs.

Why not a framework: kubesim must answer >= 1,500 simple GETs per second on one core while
also holding hundreds of open watch streams, and the Kubernetes protocol needs very little
beyond "method + path + query + JSON body". One Trio task serves each connection:

* plain requests get a :class:`Response` (``Content-Length``), the connection is kept alive;
* a :class:`StreamingResponse` is sent with chunked transfer encoding (watches). While it
  streams, a sibling task reads the socket so that a client disconnect is noticed at once;
  the server then closes the chunk iterator (``aclose()`` when it has one), which is how a
  watch learns that nobody listens any more. Streaming responses close the connection when
  they end.
* an iterator that raises :class:`DropConnection` makes the server cut the TCP connection
  without terminating the chunked body, like a network failure (used by fault injection);
  a handler that raises it gets the connection closed without any response (the partition
  fault).

Handlers raise :class:`kubesim.errors.ApiError` to produce a ``Status`` error body; any
other exception becomes a 500 ``InternalError`` (logged with its traceback).
"""

from __future__ import annotations

import functools
import json
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import parse_qsl, unquote

import h11
import trio

from kubesim.errors import ApiError

__all__ = [
    "DropConnection",
    "Handler",
    "Request",
    "Response",
    "StreamingResponse",
    "serve_http",
]

log = logging.getLogger("kubesim.http")

#: An idle keep-alive connection is closed after this many seconds.
KEEPALIVE_IDLE_SECONDS = 120.0
#: Largest request body accepted (Kubernetes objects are small; this bounds memory).
MAX_BODY_BYTES = 8 * 1024 * 1024


@dataclass
class Request:
    """One parsed HTTP request.

    ``path`` is percent-decoded as a whole (what prefix routing and the fakes compare);
    ``raw_path`` is the path as it arrived, for handlers that must split it before decoding
    (:attr:`segments`).
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""
    raw_path: str | None = None
    scheme: str = "http"
    """``https`` when the request came through a TLS listener."""

    @property
    def segments(self) -> list[str]:
        """The path's segments, split at its literal ``/`` and only then percent-decoded.

        So an encoded ``/`` (``%2F``) or ``?`` (``%3F``) stays inside the one segment it was
        sent in: a name can only ever be a name, never more path. Leading and trailing
        slashes are ignored (``/api/v1/`` is ``["api", "v1"]``).
        """
        raw = self.raw_path if self.raw_path is not None else self.path
        return [unquote(segment) for segment in raw.strip("/").split("/")]

    def json(self) -> Any:
        """Parse the body as JSON; raises ``ValueError`` for an empty or malformed body."""
        if not self.body:
            raise ValueError("empty request body")
        return json.loads(self.body)


@dataclass
class Response:
    """A complete response sent with ``Content-Length``."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(cls, status: int, data: Any, headers: list[tuple[str, str]] | None = None) -> Response:
        body = json.dumps(data, separators=(",", ":")).encode()
        return cls(status, body, [("content-type", "application/json"), *(headers or [])])


@dataclass
class StreamingResponse:
    """A chunked response whose body is produced by ``chunks`` (watch streams)."""

    status: int
    headers: list[tuple[str, str]]
    chunks: AsyncIterator[bytes]


Handler = Callable[[Request], Awaitable[Response | StreamingResponse]]


class DropConnection(Exception):
    """Raised by a chunk iterator to make the server cut the connection abruptly."""


def _parse_target(target: bytes) -> tuple[str, str, dict[str, str]]:
    """The decoded path, the raw path and the query of a request target."""
    raw = target.decode("latin-1")
    path, _, query = raw.partition("?")
    return unquote(path), path, dict(parse_qsl(query, keep_blank_values=True))


async def _read_request(
    conn: h11.Connection, stream: trio.abc.Stream, scheme: str = "http"
) -> Request | None:
    """Read one request; ``None`` when the client closed the connection cleanly."""
    request: h11.Request | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            timeout = KEEPALIVE_IDLE_SECONDS if request is None else 30.0
            with trio.move_on_after(timeout) as scope:
                data = await stream.receive_some(65536)
            if scope.cancelled_caught:
                return None
            # Both transports hand out bytes; the Stream ABC only promises a bytes-like.
            conn.receive_data(cast(bytes, data))
            continue
        if isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY_BYTES:
                raise h11.RemoteProtocolError("request body too large", error_status_hint=413)
        elif isinstance(event, h11.EndOfMessage):
            assert request is not None
            path, raw_path, query = _parse_target(request.target)
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers}
            method = request.method.decode("ascii")
            return Request(method, path, query, headers, bytes(body), raw_path, scheme)
        elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
            return None


@functools.cache
def _reason_phrase(status: int) -> bytes:
    """Standard reason phrase (clients such as ``kubernetes`` expose it as ``reason``).

    Cached: a handful of status codes, looked up on every response.
    """
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


def _error_response(status: int, reason: str, message: str) -> Response:
    return Response.json(status, ApiError(status, reason, message).status_body())


async def _call(handler: Handler, request: Request) -> Response | StreamingResponse:
    try:
        return await handler(request)
    except DropConnection:
        raise
    except ApiError as exc:
        return Response.json(exc.status, exc.status_body(), exc.headers)
    except Exception:
        log.exception("kubesim handler failed for %s %s", request.method, request.path)
        return _error_response(500, "InternalError", "an internal error occurred in kubesim")


def _h11_headers(
    headers: list[tuple[str, str]], extra: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    return [*headers, *extra]


async def _send_response(
    conn: h11.Connection, stream: trio.abc.Stream, resp: Response, *, head: bool = False
) -> None:
    """Send a whole response; for HEAD, the headers a GET would get and no body (RFC 9110)."""
    headers = _h11_headers(resp.headers, [("content-length", str(len(resp.body)))])
    data = conn.send(
        h11.Response(status_code=resp.status, headers=headers, reason=_reason_phrase(resp.status))
    )
    if resp.body and not head:
        data += conn.send(h11.Data(data=resp.body))
    data += conn.send(h11.EndOfMessage())
    await stream.send_all(data)


async def _send_stream(
    conn: h11.Connection, stream: trio.abc.Stream, resp: StreamingResponse
) -> None:
    headers = _h11_headers(resp.headers, [("connection", "close")])
    chunks = resp.chunks
    try:
        await stream.send_all(
            conn.send(
                h11.Response(
                    status_code=resp.status, headers=headers, reason=_reason_phrase(resp.status)
                )
            )
        )
        async with trio.open_nursery() as nursery:

            async def notice_disconnect() -> None:
                try:
                    while await stream.receive_some(4096):
                        pass
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    pass
                nursery.cancel_scope.cancel()

            nursery.start_soon(notice_disconnect)
            try:
                async for chunk in chunks:
                    if chunk:
                        await stream.send_all(conn.send(h11.Data(data=chunk)))
                await stream.send_all(conn.send(h11.EndOfMessage()))
            except DropConnection:
                pass
            nursery.cancel_scope.cancel()
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            with trio.CancelScope(shield=True):
                await aclose()


async def _serve_connection(
    stream: trio.abc.Stream, handler: Handler, scheme: str = "http"
) -> None:
    conn = h11.Connection(h11.SERVER)
    try:
        while True:
            try:
                request = await _read_request(conn, stream, scheme)
            except h11.RemoteProtocolError as exc:
                if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                    error = _error_response(exc.error_status_hint, "BadRequest", str(exc))
                    await _send_response(conn, stream, error)
                return
            if request is None:
                return
            try:
                resp = await _call(handler, request)
            except DropConnection:
                return  # no answer at all: the finally below closes the connection

            if isinstance(resp, StreamingResponse):
                await _send_stream(conn, stream, resp)
                return
            await _send_response(conn, stream, resp, head=request.method == "HEAD")
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                return
            conn.start_next_cycle()
    except* (trio.BrokenResourceError, trio.ClosedResourceError, h11.LocalProtocolError):
        # The client went away (possibly while a watch was streaming inside a nursery, which
        # wraps the error in a group): that ends this connection, never the server.
        pass
    finally:
        with trio.CancelScope(shield=True):
            await stream.aclose()


async def serve_http(
    handler: Handler,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    ssl_context: ssl.SSLContext | None = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``handler`` until cancelled; reports the bound port through ``task_status``.

    With ``ssl_context`` the listener speaks HTTPS and requests carry ``scheme="https"``; a
    client that fails the TLS handshake only loses its own connection.
    """
    tcp_listeners = await trio.open_tcp_listeners(port, host=host)
    bound = tcp_listeners[0].socket.getsockname()[1]
    listeners: list[trio.abc.Listener[Any]] = list(tcp_listeners)
    scheme = "http"
    if ssl_context is not None:
        scheme = "https"
        listeners = [
            trio.SSLListener(listener, ssl_context, https_compatible=True)
            for listener in tcp_listeners
        ]

    async def on_connection(stream: trio.abc.Stream) -> None:
        await _serve_connection(stream, handler, scheme)

    async with trio.open_nursery() as nursery:
        await nursery.start(trio.serve_listeners, on_connection, listeners)
        task_status.started(bound)
