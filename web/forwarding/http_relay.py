"""Relaying one HTTP request to the leader and its response back, streamed both ways.

The body goes up as the client sends it (bounded like the app bounds it) and the response
comes back chunk by chunk as the leader writes it, so an event stream reaches the client
event by event. Three things end a relay early:

* the client leaves: the upstream request is cancelled at once (its connection closed, so
  the leader sees the disconnect and ends the stream it was feeding);
* the leader fails mid-response (connection lost, or silent for longer than the timeout):
  the client's connection is cut without completing the response, so a truncated body can
  never pass for a whole one;
* the server shuts down: a relayed event stream ends as the app's own streams do, at an
  event boundary (other responses finish within the server's grace period).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx
import structlog
import trio

from web.asgi import Message, Receive, Scope, Send
from web.bounds import MAX_BODY_BYTES
from web.forwarding.headers import header, request_headers, response_headers
from web.forwarding.leader import (
    ConnectFailed,
    HandingOver,
    LeaderAddress,
    ServeHere,
    target,
    with_leader,
)
from web.forwarding.refusals import NOT_SERVED_HEADER, Refusal, send_refusal
from web.forwarding.route import ForwardingTuning, LeaderRoute
from web.request_context import current_request_id
from web.streams import StreamRegistry

__all__ = ["HTTPRelay", "upstream_client"]

_log = structlog.stdlib.get_logger(__name__)

_END = object()

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods whose request may be sent again when the leader dropped it unanswered."""

_EVENT_BOUNDARIES = (b"\n\n", b"\r\n\r\n", b"\r\r")
"""How a server-sent event ends (a blank line, with any of the three line endings)."""


def upstream_client(tuning: ForwardingTuning) -> httpx.AsyncClient:
    """The one client every relayed request goes through.

    ``trust_env=False``: a proxy configured in the environment must not capture traffic
    between replicas. The cookie jar refuses everything: ``Set-Cookie`` is for the browser
    (dashboard sessions), and httpx would otherwise keep every session cookie it relays.
    Read timeouts are the relay's own (they differ between ordinary responses and event
    streams), so httpx's is off.
    """
    return httpx.AsyncClient(
        timeout=httpx.Timeout(
            connect=tuning.connect_timeout,
            read=None,
            write=tuning.write_timeout,
            pool=tuning.pool_timeout,
        ),
        limits=httpx.Limits(max_connections=tuning.max_connections, max_keepalive_connections=64),
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        trust_env=False,
        follow_redirects=False,
    )


async def _finish(chunks: AsyncIterator[bytes]) -> None:
    """Run httpx's chain of body generators to its end when the relay stops early.

    Closing only the outermost generator would leave the inner ones (httpcore's) suspended,
    to be finalized, with a warning, by the garbage collector. Stepping the chain inside a
    cancelled scope makes its next network read raise ``Cancelled`` at the bottom, which
    ends every generator of the chain; buffered chunks are skipped on the way.
    """
    with trio.CancelScope() as scope:
        scope.cancel()
        with contextlib.suppress(StopAsyncIteration, httpx.TransportError):
            while True:
                await anext(chunks)


class _ClientGone(Exception):
    """The client disconnected while sending its body."""


class _RequestBody:
    """The client's body as an async iterator for httpx, bounded like the app's own.

    What was read is kept (at most the 1 MiB limit) so that another attempt can send it
    again: a replica that was about to stop leading may turn a request away unread
    (``NOT_SERVED_HEADER``), and the request then goes to whoever leads next.
    """

    def __init__(self, receive: Receive, has_body: bool) -> None:
        self._receive = receive
        self.has_body = has_body
        self.consumed = trio.Event()
        self._read_so_far = bytearray()
        self._made: list[AsyncGenerator[bytes]] = []
        if not has_body:
            self.consumed.set()

    def chunks(self) -> AsyncGenerator[bytes]:
        """A fresh iterator for one attempt: what was read already, then the rest."""
        made = self._read()
        self._made.append(made)
        return made

    async def aclose(self) -> None:
        """Close what httpx may have left unfinished (a leader that answered early)."""
        for made in self._made:
            await made.aclose()

    async def _read(self) -> AsyncGenerator[bytes]:
        if self._read_so_far:
            yield bytes(self._read_so_far)
        while not self.consumed.is_set():
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk = bytes(message.get("body", b""))
            if len(self._read_so_far) + len(chunk) > MAX_BODY_BYTES:
                raise Refusal.too_large()
            self._read_so_far += chunk
            if not message.get("more_body", False):
                self.consumed.set()
            if chunk:
                yield chunk


def _has_body(scope: Scope) -> bool:
    headers = scope.get("headers", ())
    if header(headers, b"transfer-encoding") is not None:
        return True
    length = header(headers, b"content-length")
    return length is not None and length.strip() not in (b"", b"0")


def _declared_length(scope: Scope) -> int | None:
    length = header(scope.get("headers", ()), b"content-length")
    if length is None or not length.strip().isdigit():
        return None
    return int(length)


def _connect_reason(error: httpx.TransportError) -> str:
    # httpx's messages can name the leader's address; the client gets a fixed phrase.
    return "connect timed out" if isinstance(error, httpx.ConnectTimeout) else "connection failed"


class HTTPRelay:
    """Forwards HTTP requests to the leader for one ``LeaderForwarder``."""

    def __init__(
        self,
        route: LeaderRoute,
        tuning: ForwardingTuning,
        streams: StreamRegistry,
        client: httpx.AsyncClient,
    ) -> None:
        self._route = route
        self._tuning = tuning
        self._streams = streams
        self._client = client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = _declared_length(scope)
        if declared is not None and declared > MAX_BODY_BYTES:
            await send_refusal(scope, send, Refusal.too_large())
            return
        body = _RequestBody(receive, _has_body(scope))
        serve_here = False
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(
                    self._end_when_client_leaves, receive, body, nursery.cancel_scope
                )
                try:
                    await self._exchange(scope, body, send)
                except Refusal as refusal:
                    await send_refusal(scope, send, refusal)
                except _ClientGone:
                    pass
                except ServeHere:
                    serve_here = True
                nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True):
                await body.aclose()
        if serve_here:
            # Outside the nursery, so that it is not wrapped in an exception group.
            raise ServeHere

    @staticmethod
    async def _end_when_client_leaves(
        receive: Receive, body: _RequestBody, relay: trio.CancelScope
    ) -> None:
        # Only once the body is read: before that, the body iterator owns ``receive``.
        await body.consumed.wait()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                relay.cancel()
                return

    async def _exchange(self, scope: Scope, body: _RequestBody, send: Send) -> None:
        headers = request_headers(
            scope.get("headers", ()),
            client_host=(scope.get("client") or (None,))[0],
            scheme=str(scope.get("scheme", "http")),
            request_id=current_request_id(),
            identity=self._route.identity,
        )

        async def attempt(leader: LeaderAddress) -> httpx.Response:
            url = httpx.URL(leader.base_url).copy_with(raw_path=target(scope))
            request = httpx.Request(
                str(scope["method"]),
                url,
                headers=headers,
                content=body.chunks() if body.has_body else None,
            )
            return await self._send(request, body, leader)

        response = await with_leader(self._route, self._tuning, attempt)
        try:
            await self._relay_response(response, send)
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(self._tuning.close_timeout):
                await response.aclose()

    async def _send(
        self, request: httpx.Request, body: _RequestBody, leader: LeaderAddress
    ) -> httpx.Response:
        timeout = self._tuning.response_timeout
        with trio.move_on_after(timeout):
            try:
                response = await self._client.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                raise ConnectFailed(_connect_reason(error)) from None
            except httpx.PoolTimeout:
                _log.warning("All connections to the leader in use", leader=leader.base_url)
                raise Refusal(
                    503,
                    "Too many requests in flight to the leader, retry shortly",
                    "forwarding_busy",
                    retry=True,
                ) from None
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as error:
                if request.method in _SAFE_METHODS and not body.has_body:
                    # A leader stopping closes its idle connections; one may have been
                    # reused just then. Asking again cannot change anything.
                    raise ConnectFailed("the leader closed the connection") from None
                if _never_answered(error):
                    # Closed with not a byte of answer: a replica stopping gracefully
                    # answers every request it has read, so this one was not read (its
                    # idle connection was closed as the request went out). Even if the
                    # replica had died after reading it, the API's writes may be sent
                    # again: a create meets the lab its first attempt began (409, which
                    # JupyterHub's spawner handles), a delete is a delete.
                    raise ConnectFailed("the leader closed the connection") from None
                _log.warning(
                    "Leader failed before answering",
                    leader=leader.base_url,
                    error=type(error).__name__,
                )
                raise Refusal.failed() from None
            except httpx.TransportError as error:
                _log.warning(
                    "Leader failed before answering",
                    leader=leader.base_url,
                    error=type(error).__name__,
                )
                raise Refusal.failed() from None
            if response.status_code == 503 and NOT_SERVED_HEADER in response.headers:
                # The replica we took for the leader turned the request away unread (it is
                # handing off): ask again who leads.
                await response.aclose()
                raise HandingOver("it is handing over to another replica")
            return response
        _log.warning("Leader did not answer in time", leader=leader.base_url, timeout=timeout)
        raise Refusal.timeout(timeout)

    async def _relay_response(self, response: httpx.Response, send: Send) -> None:
        content_type = response.headers.get("content-type", "")
        is_stream = content_type.startswith("text/event-stream")
        start: Message = {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": response_headers(response.headers.raw),
        }
        await send(start)
        tracked = self._streams.track("sse") if is_stream else contextlib.nullcontext()
        chunks = response.aiter_raw()
        try:
            async with tracked:
                await self._relay_body(chunks, send, is_stream=is_stream)
        finally:
            await _finish(chunks)

    async def _relay_body(
        self, chunks: AsyncIterator[bytes], send: Send, *, is_stream: bool
    ) -> None:
        idle = self._tuning.stream_idle_timeout if is_stream else self._tuning.response_timeout
        at_boundary = True
        while True:
            chunk: Any = _END
            failed: str | None = None
            wait = (
                self._streams.interruptible_wait(trio.current_time() + idle)
                if is_stream
                else trio.move_on_after(idle)
            )
            with wait as waited:
                try:
                    chunk = await anext(chunks, _END)
                except httpx.TransportError as error:
                    failed = type(error).__name__
            if is_stream and self._streams.closing:
                if at_boundary:
                    await send({"type": "http.response.body", "body": b""})
                return
            if waited.cancelled_caught:
                _log.warning("Leader silent mid-response, connection cut", timeout=idle)
                return
            if failed is not None:
                _log.warning("Leader failed mid-response, connection cut", error=failed)
                return
            if chunk is _END:
                await send({"type": "http.response.body", "body": b""})
                return
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            at_boundary = bytes(chunk).endswith(_EVENT_BOUNDARIES)


def _never_answered(error: httpx.HTTPError) -> bool:
    """Whether the connection closed before any byte of a response (httpcore's words)."""
    return isinstance(error, httpx.RemoteProtocolError) and "without sending a response" in str(
        error
    )
