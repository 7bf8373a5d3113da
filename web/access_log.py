"""One access line per request, written when the request is over.

Hypercorn's own access log writes a second line, without a status, for most requests: the
client closes its side as soon as it has read the response, and hypercorn logs the closed
stream before it marks the response complete. It also cannot say what happened to a
WebSocket after the handshake. So hypercorn's access log is off and this middleware writes
the line: it sees every message the app sends, and it runs inside ``RequestContext`` so the
line carries the request's ``request_id`` and ``user``.

Fields: ``method``, ``path`` (never the query string, which may hold tokens), ``status``
(the response status; 101 for an accepted WebSocket), ``duration_ms``, ``client``, and
``outcome`` when the request did not simply complete: ``client disconnected`` (the response
was not finished), ``closed <code>`` (a WebSocket's close code).
"""

from __future__ import annotations

import structlog
import trio

from web.asgi import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ACCESS_LOGGER_NAME", "AccessLog"]

ACCESS_LOGGER_NAME = "web.access"

MAX_LOGGED_PATH = 256
"""Characters of the path written to the access line (the controller's own paths are shorter;
a hostile client's may be 8 KiB)."""

_log = structlog.stdlib.get_logger(ACCESS_LOGGER_NAME)


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    if not client:
        return None
    host, port = client[0], client[1]
    return f"{host}:{port}"


class _Outcome:
    """What the app sent, as far as the access line cares."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.finished = False
        self.close_code: int | None = None

    def saw(self, message: Message) -> None:
        kind = message["type"]
        if kind in ("http.response.start", "websocket.http.response.start"):
            self.status = int(message["status"])
        elif kind in ("http.response.body", "websocket.http.response.body"):
            if not message.get("more_body", False):
                self.finished = True
        elif kind == "websocket.accept":
            self.status = 101
        elif kind == "websocket.close":
            self.close_code = int(message.get("code", 1000))
            if self.status is None:
                self.status = 403  # what a close before accept answers (web.asgi)
            self.finished = True


class AccessLog:
    """ASGI middleware: one access line per HTTP request or WebSocket, at its end."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self._app(scope, receive, send)
            return
        outcome = _Outcome()
        started = trio.current_time()

        async def observing_send(message: Message) -> None:
            await send(message)
            outcome.saw(message)

        try:
            await self._app(scope, receive, observing_send)
        finally:
            self._write(scope, outcome, trio.current_time() - started)

    @staticmethod
    def _write(scope: Scope, outcome: _Outcome, elapsed: float) -> None:
        method = scope.get("method", "GET") if scope["type"] == "http" else "WEBSOCKET"
        path = scope.get("path", "")[:MAX_LOGGED_PATH]
        status = "-" if outcome.status is None else str(outcome.status)
        fields: dict[str, object] = {
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(elapsed * 1000, 1),
        }
        client = _client(scope)
        if client is not None:
            fields["client"] = client
        if outcome.close_code is not None and outcome.status == 101:
            fields["outcome"] = f"closed {outcome.close_code}"
        elif not outcome.finished:
            fields["outcome"] = "client disconnected"
        # The path is decoded: %0A or %1B in it must not start a line or reach a terminal
        # in the development format, which writes the event text as it is.
        shown = path.encode("unicode_escape").decode("ascii")
        _log.info(f"{method} {shown} {status}", **fields)
