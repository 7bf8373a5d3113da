"""The answers a follower gives itself when it cannot relay a request.

They have the body every other error of the API has (``{"detail": [{"msg", "type"}]}``), so
clients need no special case, and they never quote the leader's address or the request's
headers. The statuses:

* 503 ``no_leader``: no leader became known in time; ``Retry-After`` asks to come back.
* 503 ``leader_unreachable``: the leader refused connections for the whole retry window
  (typically a leader that just died, before its Lease expired); retrying is safe because
  the leader never saw the request.
* 503 ``not_leader``: the request was already forwarded once, by another replica that
  believed this one leads, and this one does not (a hand-off in progress).
* 502 ``leader_failed``: the leader closed the connection part-way through its answer to a
  request that could not be sent again (one that changes something). It may or may not have taken
  effect, so this is not a 503 inviting a blind retry.
* 504 ``leader_timeout``: the leader did not answer within the response timeout.
* 413 ``request_too_large``: the body passes the limit the app itself applies.
"""

from __future__ import annotations

import json

from web.asgi import Scope, Send
from web.bounds import MAX_BODY_BYTES
from web.errors import error_body

__all__ = ["NOT_SERVED_HEADER", "Refusal", "send_refusal"]

RETRY_AFTER_SECONDS = 1

from web.replica_headers import NOT_SERVED_HEADER  # noqa: E402 - re-exported


class Refusal(Exception):
    """Raised inside the relay when the client gets an error from the follower itself."""

    def __init__(
        self, status: int, msg: str, error_type: str, *, retry: bool = False, close: bool = False
    ) -> None:
        super().__init__(msg)
        self.status = status
        self.msg = msg
        self.error_type = error_type
        self.retry = retry
        self.close = close

    @classmethod
    def no_leader(cls) -> Refusal:
        return cls(
            503, "No leader: no replica leads right now, retry shortly", "no_leader", retry=True
        )

    @classmethod
    def unreachable(cls, reason: str) -> Refusal:
        msg = f"The leader cannot be reached ({reason}), retry shortly"
        return cls(503, msg, "leader_unreachable", retry=True)

    @classmethod
    def not_leader(cls, forwarded_by: str) -> Refusal:
        msg = (
            f"Request forwarded by replica {forwarded_by!r} to a replica that does not"
            " lead either (leadership is changing), retry shortly"
        )
        return cls(503, msg, "not_leader", retry=True)

    @classmethod
    def failed(cls) -> Refusal:
        msg = (
            "The leader closed the connection before answering;"
            " the request may or may not have taken effect"
        )
        return cls(502, msg, "leader_failed")

    @classmethod
    def timeout(cls, seconds: float) -> Refusal:
        return cls(504, f"The leader did not answer within {seconds:g} s", "leader_timeout")

    @classmethod
    def too_large(cls) -> Refusal:
        msg = f"Request body is larger than {MAX_BODY_BYTES} bytes"
        return cls(413, msg, "request_too_large", close=True)


async def send_refusal(scope: Scope, send: Send, refusal: Refusal) -> None:
    """Answer ``refusal`` as an HTTP response (or as the refusal of a WebSocket upgrade)."""
    loc = ["body"] if refusal.error_type == "request_too_large" else None
    body = json.dumps(error_body(refusal.msg, refusal.error_type, loc)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if refusal.retry:
        headers.append((b"retry-after", str(RETRY_AFTER_SECONDS).encode()))
        headers.append((NOT_SERVED_HEADER.encode(), refusal.error_type.encode()))
    if refusal.close:
        headers.append((b"connection", b"close"))
    prefix = "http" if scope["type"] == "http" else "websocket.http"
    await send({"type": f"{prefix}.response.start", "status": refusal.status, "headers": headers})
    await send({"type": f"{prefix}.response.body", "body": body})
