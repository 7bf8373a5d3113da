"""Relaying one WebSocket to the leader: handshake first, then messages both ways.

The client's socket is accepted only once the leader has accepted the upstream one, with the
subprotocol the leader chose; a leader that refuses the handshake (401, 403, 404 ...) has its
refusal passed on as the answer to the client's upgrade; one that hangs up during the
handshake is tried again like a refused connection. Then two tasks copy messages, one
per direction, in a nursery of this connection's own, so the relay ends as a whole:

* the leader closes: the client gets the same close code and reason (a connection lost
  without a close frame becomes 1012, "service restart": reconnecting will find a leader);
* the client closes: the leader gets a normal closure (1000). Hypercorn 0.18 does not tell
  the app which code a client closed with (it reports every client close as 1006), so a
  client's own code cannot be passed on; a code it does report is;
* the server shuts down: both get 1001, like the app's own streams.

Inbound messages are bounded by the server (its WebSocket message limit); messages from the
leader by ``ForwardingTuning.max_websocket_message`` (1009 beyond, on both sockets).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import cast

import structlog
import trio
from trio_websocket import (
    ConnectionClosed,
    ConnectionRejected,
    WebSocketConnection,
    wrap_client_stream,
)

from web.asgi import Message, Receive, Scope, Send
from web.forwarding.headers import header, response_headers, websocket_request_headers
from web.forwarding.leader import ConnectFailed, HandingOver, LeaderAddress, target, with_leader
from web.forwarding.refusals import NOT_SERVED_HEADER, Refusal, send_refusal
from web.forwarding.route import ForwardingTuning, LeaderRoute
from web.request_context import current_request_id
from web.streams import GOING_AWAY, StreamRegistry

__all__ = ["WebSocketRelay"]

_log = structlog.stdlib.get_logger(__name__)

SERVICE_RESTART = 1012
"""Close code for a leader connection lost without a close frame."""

_NOT_SENDABLE = {1005: 1000, 1006: SERVICE_RESTART, 1015: SERVICE_RESTART}
"""Codes that describe a missing close frame and may not be sent in one (RFC 6455 §7.4.1)."""


def _sendable(code: int) -> int:
    """A code from the leader as the client may receive it."""
    if code in _NOT_SENDABLE:
        return _NOT_SENDABLE[code]
    return code if 1000 <= code <= 4999 else 1000


def _from_client(code: int) -> int:
    """A client's close code (as hypercorn reports it) as the leader gets it."""
    return code if 1000 <= code <= 4999 and code not in _NOT_SENDABLE else 1000


@dataclass
class _Ending:
    """How the relay ended, decided by whichever side ended it first."""

    decided: bool = False
    client_gone: bool = False
    code: int = 1000
    reason: str | None = None

    def decide(self, code: int, reason: str | None, *, client_gone: bool = False) -> None:
        """Record the first ending only (closing one side makes the other report one too)."""
        if not self.decided:
            self.decided = True
            self.code, self.reason, self.client_gone = code, reason, client_gone


async def _open_stream(leader: LeaderAddress, seconds: float) -> trio.SocketStream:
    try:
        with trio.fail_after(seconds):
            return await trio.open_tcp_stream(leader.host, leader.port)
    except trio.TooSlowError:
        raise ConnectFailed("connect timed out") from None
    except OSError:
        raise ConnectFailed("connection failed") from None


class _EndWatchingStream(trio.abc.Stream):
    """A stream that says when its peer has closed it (or it broke), for the handshake."""

    def __init__(self, inner: trio.SocketStream) -> None:
        self._inner = inner
        self.ended = trio.Event()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        try:
            data = await self._inner.receive_some(max_bytes)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self.ended.set()
            raise
        if not data:
            self.ended.set()
        return data

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._inner.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        await self._inner.aclose()


def _rejection_messages(rejected: ConnectionRejected) -> list[Message]:
    body = rejected.body or b""
    headers = [(k, v) for k, v in response_headers(rejected.headers) if k != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    return [
        {
            "type": "websocket.http.response.start",
            "status": rejected.status_code,
            "headers": headers,
        },
        {"type": "websocket.http.response.body", "body": body},
    ]


def _first_leaf(group: BaseExceptionGroup[ConnectionRejected]) -> ConnectionRejected:
    leaf: BaseException = group
    while isinstance(leaf, BaseExceptionGroup):
        leaf = leaf.exceptions[0]
    assert isinstance(leaf, ConnectionRejected)
    return leaf


class WebSocketRelay:
    """Forwards WebSocket connections to the leader for one ``LeaderForwarder``."""

    def __init__(
        self, route: LeaderRoute, tuning: ForwardingTuning, streams: StreamRegistry
    ) -> None:
        self._route = route
        self._tuning = tuning
        self._streams = streams

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        connect = await receive()
        if connect["type"] != "websocket.connect":
            return
        refusal: Refusal | list[Message] | None
        try:
            refusal = await with_leader(
                self._route, self._tuning, partial(self._attempt, scope, receive, send)
            )
        except Refusal as refused:
            refusal = refused
        if isinstance(refusal, Refusal):
            await send_refusal(scope, send, refusal)
        elif refusal is not None:
            for message in refusal:
                await send(message)

    async def _attempt(
        self, scope: Scope, receive: Receive, send: Send, leader: LeaderAddress
    ) -> list[Message] | None:
        """One try with ``leader``: the handshake, then (accepted) the whole relay.

        Returns the leader's refusal of the upgrade, to be passed on, or ``None`` once the
        relay is over. Before the client's socket is accepted, a leader that hangs up, or
        that turns the upgrade away unread because it is handing over, is a
        ``ConnectFailed``: the upgrade is tried again on whoever leads by then.
        """
        seconds = self._tuning.connect_timeout
        stream = await _open_stream(leader, seconds)
        watched = _EndWatchingStream(stream)
        rejected: ConnectionRejected | None = None
        upstream: WebSocketConnection | None = None
        try:
            async with trio.open_nursery() as nursery:
                upstream = await self._handshake(nursery, watched, scope)
                if upstream is not None:
                    await send({"type": "websocket.accept", "subprotocol": upstream.subprotocol})
                    await self._relay(upstream, receive, send)
                nursery.cancel_scope.cancel()
        except* ConnectionRejected as group:
            rejected = _first_leaf(group)
        finally:
            await trio.aclose_forcefully(stream)
        if rejected is not None:
            if any(name.lower() == NOT_SERVED_HEADER.encode() for name, _ in rejected.headers):
                raise HandingOver("it is handing over to another replica")
            return _rejection_messages(rejected)
        if upstream is not None:
            return None
        if watched.ended.is_set():
            raise ConnectFailed("the leader closed the connection during the handshake")
        _log.warning("Leader did not complete the WebSocket handshake in time")
        raise Refusal.timeout(seconds)

    async def _handshake(
        self, nursery: trio.Nursery, watched: _EndWatchingStream, scope: Scope
    ) -> WebSocketConnection | None:
        """Open the upstream WebSocket, its reader task in ``nursery``; ``None`` when the
        leader hung up or did not answer in time. A refusal of the upgrade is raised by the
        reader task into ``nursery`` (``ConnectionRejected``)."""
        headers = scope.get("headers", ())
        host = header(headers, b"host")
        extra = websocket_request_headers(
            headers,
            client_host=(scope.get("client") or (None,))[0],
            scheme=str(scope.get("scheme", "ws")),
            request_id=current_request_id(),
            identity=self._route.identity,
        )
        upstream: WebSocketConnection | None = None
        with trio.move_on_after(self._tuning.connect_timeout) as handshake:
            async with trio.open_nursery() as race:

                async def give_up_when_the_leader_hangs_up() -> None:
                    await watched.ended.wait()
                    handshake.cancel()

                race.start_soon(give_up_when_the_leader_hangs_up)
                upstream = await wrap_client_stream(
                    nursery,
                    cast(trio.SocketStream, watched),
                    host.decode("latin-1") if host else "localhost",
                    target(scope).decode("latin-1"),
                    subprotocols=scope.get("subprotocols") or None,
                    extra_headers=extra,
                    max_message_size=self._tuning.max_websocket_message,
                )
                race.cancel_scope.cancel()
        return upstream

    async def _relay(self, upstream: WebSocketConnection, receive: Receive, send: Send) -> None:
        ending = _Ending()
        close_timeout = self._tuning.close_timeout
        async with self._streams.track("websocket"), trio.open_nursery() as relay:

            async def from_client() -> None:
                while True:
                    message = await receive()
                    if message["type"] == "websocket.disconnect":
                        code = _from_client(int(message.get("code", 1000)))
                        ending.decide(code, None, client_gone=True)
                        with trio.move_on_after(close_timeout):
                            await upstream.aclose(code)
                        relay.cancel_scope.cancel()
                        return
                    if message["type"] != "websocket.receive":
                        continue
                    data = message.get("text")
                    if data is None:
                        data = message.get("bytes") or b""
                    try:
                        await upstream.send_message(data)
                    except ConnectionClosed:
                        # The other task is closing the client; keep draining until then.
                        continue

            async def from_leader() -> None:
                while True:
                    try:
                        data = await upstream.get_message()
                    except ConnectionClosed as closed:
                        code = closed.reason.code if closed.reason is not None else 1006
                        reason = closed.reason.reason if closed.reason is not None else None
                        if code == 1006 and not ending.decided:
                            reason = "lost the connection to the leader"
                            _log.warning("Leader WebSocket lost without a close frame")
                        ending.decide(_sendable(code), reason)
                        relay.cancel_scope.cancel()
                        return
                    key = "text" if isinstance(data, str) else "bytes"
                    await send({"type": "websocket.send", key: data})
                    # Sends to a vanished client return without yielding (web.streams).
                    await trio.lowlevel.checkpoint()

            async def end_on_shutdown() -> None:
                await self._streams.wait_closing()
                ending.decide(GOING_AWAY, None)
                with trio.move_on_after(close_timeout):
                    await upstream.aclose(GOING_AWAY)
                relay.cancel_scope.cancel()

            relay.start_soon(from_client)
            relay.start_soon(from_leader)
            relay.start_soon(end_on_shutdown)
        with trio.move_on_after(close_timeout):
            await upstream.aclose(ending.code)
        if not ending.client_gone:
            with trio.move_on_after(close_timeout):
                await send(
                    {"type": "websocket.close", "code": ending.code, "reason": ending.reason or ""}
                )
