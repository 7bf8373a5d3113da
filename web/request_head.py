"""Bounds on the request head (target and headers), checked before the app sees a request.

The HTTP parser only limits a head that arrives in pieces (hypercorn's
``h11_max_incomplete_size``); a whole head read in one receive, up to 64 KiB, passes. Every
header is copied into the request object and the log context, so the bound is enforced here,
for HTTP requests and WebSocket handshakes alike, with the documented error shape:

* a target (path and query) longer than :data:`MAX_TARGET_BYTES` → 414 ``uri_too_long``;
* headers larger than :data:`MAX_HEADER_BYTES` in total, or more than
  :data:`MAX_HEADER_COUNT` of them → 431 ``request_header_too_large``;
* a target without a path (``GET ?x``), or a WebSocket extension offer the handshake cannot
  parse → 400 ``bad_request``.

The refusal closes the connection: a client that sends such a head is not worth keeping.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from wsproto.extensions import PerMessageDeflate
from wsproto.handshake import server_extensions_handshake
from wsproto.utilities import split_comma_header

from web.asgi import ASGIApp, Receive, Scope, Send

__all__ = ["MAX_HEADER_BYTES", "MAX_HEADER_COUNT", "MAX_TARGET_BYTES", "RequestHeadLimits"]

MAX_TARGET_BYTES = 8 * 1024
"""Longest path plus query string; the controller's own URLs are under 200 bytes."""

MAX_HEADER_BYTES = 16 * 1024
"""Largest sum of header names and values (a Gafaelfawr token and cookies fit easily)."""

MAX_HEADER_COUNT = 100
"""Most header fields in one request."""


def _refusal(scope: Scope) -> tuple[int, str, str] | None:
    if not str(scope.get("path", "")).startswith("/"):
        # "GET ?x": quart cannot build a request without a path (it crashed with a 500).
        return 400, "The request target has no path", "bad_request"
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
    if scope["type"] == "websocket" and not _extension_offers_parse(headers):
        return 400, "The WebSocket extension offer cannot be parsed", "bad_request"
    return None


def _extension_offers_parse(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether the handshake will be able to read ``Sec-WebSocket-Extensions``.

    Hypercorn negotiates the offer itself when the app accepts, with wsproto's parser, and a
    malformed offer (``client_max_window_bits=abc``) then raises inside the server: the
    client got no answer and the log two tracebacks. The same parser runs here first.
    """
    offers: list[str] = []
    for name, value in headers:
        if name.lower() == b"sec-websocket-extensions":
            offers.extend(split_comma_header(value))
    if not offers:
        return True
    try:
        server_extensions_handshake(offers, [PerMessageDeflate()])
    except ValueError:
        return False
    return True


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
