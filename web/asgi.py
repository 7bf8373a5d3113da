"""ASGI plumbing between hypercorn and the quart-trio app: types and the shielded final send.

Quart-trio cancels a request's nursery as soon as it sees ``http.disconnect`` (or as soon as the
response is sent). When that cancellation lands while the final ``http.response.body`` message
is being handed to hypercorn, hypercorn never learns that the response is complete: its
keep-alive idle timer for the connection is never started, so idle keep-alive connections are
never closed and a graceful shutdown waits for the whole ``graceful_timeout``.
``ShieldFinalBody`` runs that one send inside a shielded cancel scope (with its own deadline so
a stuck client cannot hold a task forever) and fixes both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import trio

__all__ = [
    "FINAL_SEND_TIMEOUT",
    "ASGIApp",
    "CloseAfterRefusedUpgrade",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "ShieldFinalBody",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FINAL_SEND_TIMEOUT = 10.0
"""Seconds the shielded final send may take; hypercorn only buffers, so it is normally instant."""


def is_final_body(message: Message) -> bool:
    """True for the ``http.response.body`` message that completes a response."""
    return message["type"] == "http.response.body" and not message.get("more_body", False)


class ShieldFinalBody:
    """ASGI middleware: the final ``http.response.body`` send is never cut by cancellation."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def send_final_shielded(message: Message) -> None:
            if is_final_body(message):
                with trio.move_on_after(FINAL_SEND_TIMEOUT, shield=True):
                    await send(message)
            else:
                await send(message)

        await self._app(scope, receive, send_final_shielded)


class CloseAfterRefusedUpgrade:
    """ASGI middleware: a refused WebSocket upgrade closes its connection.

    Hypercorn 0.18 wraps the connection's HTTP/1.1 state machine for a WebSocket as soon as it
    sees an upgrade request, and keeps the wrapper after the upgrade is refused with an HTTP
    response; the next request on that keep-alive connection then raises ``LocalProtocolError``
    out of the server and stops it. So a refusal always says ``Connection: close``:
    the app's own HTTP refusals get the header, and a ``websocket.close`` before
    ``websocket.accept`` (which hypercorn would turn into a bare 403) becomes an explicit 403
    response with it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self._app(scope, receive, send)
            return
        accepted = False
        refused = False

        async def send_closing_refusals(message: Message) -> None:
            nonlocal accepted, refused
            kind = message["type"]
            if kind == "websocket.accept":
                accepted = True
            elif kind == "websocket.http.response.start":
                refused = True
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"connection"
                ]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            elif kind == "websocket.close" and not accepted and not refused:
                refused = True
                await send(
                    {
                        "type": "websocket.http.response.start",
                        "status": 403,
                        "headers": [(b"content-length", b"0"), (b"connection", b"close")],
                    }
                )
                await send({"type": "websocket.http.response.body", "body": b""})
                return
            await send(message)

        await self._app(scope, receive, send_closing_refusals)
