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
