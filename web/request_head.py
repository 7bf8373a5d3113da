"""Bounds on the request head (target and headers), checked before the app sees a request.

The HTTP parser only limits a head that arrives in pieces (hypercorn's
``h11_max_incomplete_size``); a whole head read in one receive, up to 64 KiB, passes. Every
header is copied into the request object and the log context, so the bound is enforced here,
for HTTP requests and WebSocket handshakes alike, with the documented error shape:

* a target (path and query) longer than :data:`MAX_TARGET_BYTES` → 414 ``uri_too_long``;
* headers larger than :data:`MAX_HEADER_BYTES` in total, or more than
  :data:`MAX_HEADER_COUNT` of them → 431 ``request_header_too_large``.

The refusal closes the connection: a client that sends such a head is not worth keeping.
"""

from __future__ import annotations

import json

from web.asgi import ASGIApp, Receive, Scope, Send

__all__ = ["MAX_HEADER_BYTES", "MAX_HEADER_COUNT", "MAX_TARGET_BYTES", "RequestHeadLimits"]

MAX_TARGET_BYTES = 8 * 1024
"""Longest path plus query string; the controller's own URLs are under 200 bytes."""

MAX_HEADER_BYTES = 16 * 1024
"""Largest sum of header names and values (a Gafaelfawr token and cookies fit easily)."""

MAX_HEADER_COUNT = 100
"""Most header fields in one request."""


def _refusal(scope: Scope) -> tuple[int, str, str] | None:
    target = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
    if target > MAX_TARGET_BYTES:
        return 414, f"Request target longer than {MAX_TARGET_BYTES} bytes", "uri_too_long"
    headers = scope.get("headers") or ()
    if len(headers) > MAX_HEADER_COUNT:
        message = f"More than {MAX_HEADER_COUNT} header fields"
        return 431, message, "request_header_too_large"
    size = sum(len(name) + len(value) for name, value in headers)
    if size > MAX_HEADER_BYTES:
        message = f"Header fields larger than {MAX_HEADER_BYTES} bytes"
        return 431, message, "request_header_too_large"
    return None


class RequestHeadLimits:
    """ASGI middleware: refuse a request whose head passes the bounds, before the app runs."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self._app(scope, receive, send)
            return
        refusal = _refusal(scope)
        if refusal is None:
            await self._app(scope, receive, send)
            return
        status, message, error_type = refusal
        body = json.dumps({"detail": [{"msg": message, "type": error_type}]}).encode()
        prefix = "http" if scope["type"] == "http" else "websocket.http"
        await send(
            {
                "type": f"{prefix}.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": f"{prefix}.response.body", "body": body})
