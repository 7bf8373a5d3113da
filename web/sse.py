"""Server-sent event responses (``text/event-stream``) that end cleanly.

The wire format is api.md §5.5.2: ``event: <type>`` / ``data: <one-line JSON>`` / blank line,
CRLF line endings, and a ``: ping - <timestamp>`` comment every ``keepalive`` seconds.

Pitfalls handled here, so routes cannot get them wrong:

* Quart cuts responses at ``RESPONSE_TIMEOUT`` (60 s): the response's timeout is disabled.
* An async generator body must never ``yield`` inside a cancel scope or nursery: the wait for
  the next event happens inside a scope (with the keep-alive deadline, cancelled by a server
  shutdown), the scope is left, and only then does the generator yield.
* A graceful shutdown ends the stream (the body simply finishes), before hypercorn drains.
* A client disconnect cancels the body (and the pending ``next_event``); the stream is
  deregistered from the ``StreamRegistry`` either way.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import trio
from quart import Response

from web.streams import StreamRegistry

__all__ = ["KEEPALIVE_INTERVAL", "ServerSentEvent", "event_stream_response"]

KEEPALIVE_INTERVAL = 15.0
"""Seconds between keep-alive comments when no event is sent."""

SSE_HEADERS: Mapping[str, str] = {
    "Cache-Control": "no-store",
    "X-Accel-Buffering": "no",
}


@dataclass(frozen=True)
class ServerSentEvent:
    """One event: its type and a JSON-serialisable payload (rendered on one line)."""

    event: str
    data: Mapping[str, Any]

    def encode(self) -> bytes:
        """The event on the wire (the reference's ``", "`` / ``": "`` JSON separators)."""
        payload = json.dumps(dict(self.data), separators=(", ", ": "))
        return f"event: {self.event}\r\ndata: {payload}\r\n\r\n".encode()


def _keepalive_comment() -> bytes:
    now = datetime.now(tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return f": ping - {now}\r\n\r\n".encode()


def event_stream_response(
    registry: StreamRegistry,
    next_event: Callable[[], Awaitable[ServerSentEvent | None]],
    *,
    keepalive: float = KEEPALIVE_INTERVAL,
    on_close: Callable[[], None] | None = None,
) -> Response:
    """A 200 ``text/event-stream`` response fed by ``next_event`` until it returns ``None``.

    ``next_event`` waits for the next event (for instance a subscription's receive); it is
    cancelled, not abandoned, when the keep-alive is due or the server shuts down, so it must
    not lose an event when cancelled (Trio channel receives do not). ``on_close`` runs when
    the stream ends for any reason (end of events, shutdown, client gone), to release what
    fed it.
    """

    async def body() -> AsyncIterator[bytes]:
        try:
            async with registry.track("sse"):
                while True:
                    event: ServerSentEvent | None = None
                    with registry.interruptible_wait(trio.current_time() + keepalive) as wait:
                        event = await next_event()
                    if registry.closing:
                        return
                    if wait.cancelled_caught:
                        yield _keepalive_comment()
                        continue
                    if event is None:
                        return
                    yield event.encode()
        finally:
            if on_close is not None:
                on_close()

    response = Response(body(), status=200, content_type="text/event-stream; charset=utf-8")
    response.headers.update(SSE_HEADERS)
    response.timeout = None
    return response
