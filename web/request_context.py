"""Per-request log context: a request id and the caller, bound to every log line of a request.

``RequestContext`` is ASGI middleware that runs in the task hypercorn spawns for one request
(or WebSocket). It binds ``request_id`` (from a well-formed incoming ``X-Request-Id`` or a fresh
one) and, when the ingress told us, ``user`` (``X-Auth-Request-User``) with
``structlog.contextvars``. Trio copies the context into every task the app spawns below it, so
route handlers, error handlers and anything they log see the same bindings, and no binding
leaks to another request (each request runs in its own task with its own context copy).

The request id is echoed in the ``X-Request-Id`` response header of every HTTP response,
errors included, and in the handshake response of WebSockets. Nothing else from the request
headers is bound: tokens never reach the log context.

It also runs what a route asked to run once the request is over (:func:`at_request_end`),
however it ends: a streamed body that finished, or a client that left before the body began
(the request's task is then cancelled, and this middleware's ``finally`` is the one place
that still runs for sure; releasing with the response object's garbage collection was late
or never on Python 3.13).
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

import structlog

from web.asgi import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "REQUEST_ID_HEADER",
    "USER_HEADER",
    "RequestContext",
    "at_request_end",
    "current_request_id",
]

REQUEST_ID_HEADER = "x-request-id"
USER_HEADER = "x-auth-request-user"

MAX_LOGGED_USER = 128
"""Characters of ``X-Auth-Request-User`` bound to the log context (real names are shorter)."""

_ACCEPTABLE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
"""Incoming ids we reuse; anything else (control characters, huge values) is replaced."""


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.encode("latin-1")
    for key, value in scope.get("headers", ()):
        if key.lower() == wanted:
            return bytes(value).decode("latin-1")
    return None


_AT_END: ContextVar[list[Callable[[], None]] | None] = ContextVar("at_request_end", default=None)


def at_request_end(release: Callable[[], None]) -> None:
    """Call ``release()`` when the current request is over, however it ends.

    Outside a request (a handler called directly, as some tests do) it is called at once: a
    release that never comes would be the leak this exists to prevent.
    """
    pending = _AT_END.get()
    if pending is None:
        release()
    else:
        pending.append(release)


def current_request_id() -> str | None:
    """The request id bound for the current task, if it runs inside a request."""
    value = structlog.contextvars.get_contextvars().get("request_id")
    return value if isinstance(value, str) else None


class RequestContext:
    """ASGI middleware binding ``request_id`` / ``user`` to the log context and echoing the id."""

    def __init__(self, app: ASGIApp, *, trust_user_header: bool = True) -> None:
        """``trust_user_header``: bind ``X-Auth-Request-User`` (ingress mode, where the
        ingress sets it). In direct mode anybody could send it, and the log would name
        whoever the caller chose, so it is not bound there."""
        self._app = app
        self._trust_user_header = trust_user_header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self._app(scope, receive, send)
            return

        incoming = _header(scope, REQUEST_ID_HEADER)
        if incoming is not None and _ACCEPTABLE_REQUEST_ID.fullmatch(incoming):
            request_id = incoming
        else:
            request_id = uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        user = _header(scope, USER_HEADER) if self._trust_user_header else None
        if user:
            structlog.contextvars.bind_contextvars(user=user[:MAX_LOGGED_USER])
        id_header = (REQUEST_ID_HEADER.encode(), request_id.encode())

        async def send_with_request_id(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                headers = [
                    (bytes(k), bytes(v))
                    for k, v in message.get("headers", ())
                    if bytes(k).lower() != REQUEST_ID_HEADER.encode()
                ]
                message = {**message, "headers": [*headers, id_header]}
            await send(message)

        pending: list[Callable[[], None]] = []
        _AT_END.set(pending)
        try:
            await self._app(scope, receive, send_with_request_id)
        finally:
            for release in reversed(pending):
                with contextlib.suppress(Exception):
                    release()
