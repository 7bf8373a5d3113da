"""``LeaderForwarder``: the ASGI middleware that sends a follower's requests to the leader.

It wraps the quart-trio app. For each HTTP request or WebSocket it asks the ``LeaderRoute``:
if this replica serves locally, the app answers; otherwise the request is relayed to the
leader (``web.forwarding.http_relay`` / ``websocket_relay``). Per-replica routes (the probe
``/``, ``/health``, ``/metrics``) are always answered here: they describe this process.

Leadership can change while a request waits for a leader: if this replica is elected
meanwhile, the app answers after all (what the relay had read is given to it again). A
request another replica relayed here is never relayed again: it is answered here once this
replica serves, or turned away unread so that its sender asks again who leads.

The upstream HTTP client is opened lazily and closed when the ASGI lifespan ends (after the
server has drained its connections), so whoever serves the app needs no extra step.
"""

from __future__ import annotations

import re

import httpx
import structlog
import trio

from web.asgi import ASGIApp, Message, Receive, Scope, Send
from web.bounds import MAX_BODY_BYTES
from web.forwarding.headers import header
from web.forwarding.http_relay import HTTPRelay, upstream_client
from web.forwarding.leader import LEADER_WAIT_CEILING, ServeHere
from web.forwarding.refusals import Refusal, send_refusal
from web.forwarding.route import FORWARDED_BY_HEADER, SERVE_HERE, ForwardingTuning, LeaderRoute
from web.forwarding.websocket_relay import WebSocketRelay
from web.replica_headers import NOT_SERVED_HEADER
from web.streams import StreamRegistry

__all__ = ["LOCAL_PATHS", "LeaderForwarder"]

_log = structlog.stdlib.get_logger(__name__)

LOCAL_PATHS = frozenset({"/", "/health", "/metrics"})
"""Paths every replica answers itself: Kubernetes probes and Prometheus ask each pod."""


_REPLICA_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")


def _replica_name(value: bytes) -> str:
    """The forwarding replica's name as logged and shown: anyone can send the header, and
    what is not a pod name (a token pasted by mistake, say) must not reach the log."""
    text = value.decode("latin-1")
    return text if _REPLICA_NAME.fullmatch(text) else "(not a replica name)"


class _Kept:
    """The client's ``receive``, keeping what was read so that the app (or the relay) can
    read the request again from its start: :meth:`replay`. Subclasses say what is kept."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._kept: list[Message] = []
        self.complete = True
        """Whether everything read is kept (the request can be read again in full)."""

    async def __call__(self) -> Message:
        message = await self._receive()
        self._keep(message)
        return message

    def _keep(self, message: Message) -> None:
        raise NotImplementedError

    def replay(self) -> Receive:
        pending = list(self._kept)

        async def receive() -> Message:
            if pending:
                await trio.lowlevel.checkpoint()
                return pending.pop(0)
            return await self._receive()

        return receive


class _KeptConnect(_Kept):
    """A WebSocket's ``receive`` while the relay finds the leader: only its ``connect`` is
    kept (nothing else is read before a leader is found), so a long relay holds no
    history; should the app serve it after all, it reads the ``connect`` again."""

    def _keep(self, message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.connect" and not self._kept:
            self._kept.append(message)
        elif kind != "websocket.disconnect":
            self.complete = False


class _KeptBody(_Kept):
    """An HTTP request's ``receive``, keeping its body (at most the app's own limit, which
    the app enforces): the request can be sent on whole if this replica turns out not to
    serve it (a relay that ends here after all, or a term that ends under the request)."""

    def __init__(self, receive: Receive) -> None:
        super().__init__(receive)
        self._size = 0

    def _keep(self, message: Message) -> None:
        if message["type"] != "http.request":
            return
        self._size += len(message.get("body", b""))
        if self._size <= MAX_BODY_BYTES:
            self._kept.append(message)
        else:
            self.complete = False


class _PassOnWhenNotServed:
    """The app's ``send``, holding back a 503 that says "not done here" (the app's
    ``leader_changed``: its term ended under the request) instead of sending it."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.held_back = False
        self._started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start" and not self._started:
            self._started = True
            if message.get("status") == 503 and any(
                name.lower() == NOT_SERVED_HEADER.encode() for name, _ in message.get("headers", ())
            ):
                self.held_back = True
                return
        if self.held_back:
            return
        await self._send(message)


class LeaderForwarder:
    """ASGI middleware: serve locally when leading, otherwise relay to the leader."""

    def __init__(
        self,
        app: ASGIApp,
        route: LeaderRoute,
        streams: StreamRegistry,
        tuning: ForwardingTuning | None = None,
    ) -> None:
        self._app = app
        self._route = route
        self._tuning = tuning or ForwardingTuning()
        self._streams = streams
        self._client: httpx.AsyncClient | None = None
        self._websockets = WebSocketRelay(route, self._tuning, streams)

    def _http(self) -> HTTPRelay:
        if self._client is None:
            self._client = upstream_client(self._tuning)
        return HTTPRelay(self._route, self._tuning, self._streams, self._client)

    async def aclose(self) -> None:
        """Close the upstream client's connections (bounded; called at lifespan end)."""
        client, self._client = self._client, None
        if client is not None:
            with trio.CancelScope(shield=True), trio.move_on_after(self._tuning.close_timeout):
                await client.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._app(scope, receive, self._closing_at_shutdown(send))
            return
        if kind not in ("http", "websocket") or scope.get("path") in LOCAL_PATHS:
            await self._app(scope, receive, send)
            return
        if self._route.serves_locally():
            if kind == "http":
                await self._serve_here(scope, receive, send)
            else:
                await self._app(scope, receive, send)
            return
        forwarded_by = header(scope.get("headers", ()), FORWARDED_BY_HEADER.encode())
        if forwarded_by is not None:
            await self._answer_forwarded(scope, receive, send, _replica_name(forwarded_by))
            return
        recorded: _Kept = _KeptBody(receive) if kind == "http" else _KeptConnect(receive)
        try:
            if kind == "http":
                await self._http()(scope, recorded, send)
            else:
                await self._websockets(scope, recorded, send)
        except ServeHere:
            # This replica leads now. A request another replica turned away (a hand-off) may
            # come back here after its body was read: the body was kept for that.
            if not recorded.complete:
                await send_refusal(scope, send, Refusal.no_leader())
                return
            _log.info("This replica leads now, answering the request itself")
            await self._app(scope, recorded.replay(), send)

    async def _serve_here(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer here; if this replica's term ends under the request before anything was
        done (the app answers ``leader_changed``), send it on to the next leader instead."""
        kept = _KeptBody(receive)
        held = _PassOnWhenNotServed(send)
        await self._app(scope, kept, held)
        if not held.held_back:
            return
        if not kept.complete:
            await send_refusal(scope, send, Refusal.no_leader())
            return
        _log.info("This replica stopped leading under a request, passing it on")
        try:
            await self._http()(scope, kept.replay(), send)
        except ServeHere:
            await self._app(scope, kept.replay(), send)  # it leads again by now

    async def _answer_forwarded(
        self, scope: Scope, receive: Receive, send: Send, sender: str
    ) -> None:
        """A request another replica relayed here, taking this one for the leader.

        It is never relayed again (no loops). If this replica is about to serve (elected,
        its services still rebuilding their state) it waits for that, as far as the route
        waits, and answers; otherwise it turns the request away unread, so that the sender
        asks again who leads.
        """
        route: str | None = None
        with trio.move_on_after(LEADER_WAIT_CEILING):
            route = await self._route.leader_url()
        if route == SERVE_HERE:
            await self._app(scope, receive, send)
            return
        _log.info("Relayed request reached a replica that does not lead", sender=sender)
        if scope["type"] == "websocket":
            await receive()  # the websocket.connect message
        await send_refusal(scope, send, Refusal.not_leader(sender))

    def _closing_at_shutdown(self, send: Send) -> Send:
        async def send_after_closing(message: Message) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await self.aclose()
            await send(message)

        return send_after_closing
