"""A fake Slack incoming webhook that records what it is sent.

Served under ``/slack``:

- ``POST /slack/services/<anything>``: a webhook post. A JSON object with a non-empty
  ``text`` or ``blocks`` is recorded and answered ``200 ok`` (``text/plain``, as Slack does);
  anything else gets Slack's ``400 invalid_payload`` / ``no_text``.
- ``GET /slack/posts``: every recorded post, oldest first, as
  ``[{"path": ..., "body": {...}}]`` — how a person (or a test in another process) reads
  back the alerts of a simulated controller.
- ``DELETE /slack/posts``: forget them.

Faults, set on the handler in-process (tests) or by ``PUT /slack/faults`` with
``{"delay": seconds, "status": code-or-null, "retry_after": seconds-or-null}``:
``delay`` holds every post that long before answering (a slow Slack); ``status`` answers
every post with that status instead of recording it (a failing Slack; 429 adds
``Retry-After: retry_after``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import trio

from kubesim.http import Request, Response

__all__ = ["API_PREFIX", "FakeSlack", "Post", "install"]

API_PREFIX = "/slack"
WEBHOOK_PREFIX = f"{API_PREFIX}/services/"


@dataclass(frozen=True)
class Post:
    """One accepted webhook post."""

    path: str
    body: dict[str, Any]


def _text(status: int, text: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, text.encode(), [("content-type", "text/plain"), *(headers or [])])


class FakeSlack:
    """HTTP handler of the fake webhook; mount it at :data:`API_PREFIX`."""

    def __init__(self) -> None:
        self.posts: list[Post] = []
        self.attempts = 0
        self.delay = 0.0
        self.status: int | None = None
        self.retry_after: float | None = None

    async def __call__(self, request: Request) -> Response:
        path = request.path
        if path.rstrip("/") == f"{API_PREFIX}/posts":
            return self._posts(request)
        if path.rstrip("/") == f"{API_PREFIX}/faults":
            return self._faults(request)
        if not path.startswith(WEBHOOK_PREFIX) or path == WEBHOOK_PREFIX:
            return _text(404, "no_service")
        if request.method != "POST":
            return _text(405, "invalid_method")
        self.attempts += 1
        if self.delay > 0:
            await trio.sleep(self.delay)
        if self.status is not None:
            headers = []
            if self.status == 429 and self.retry_after is not None:
                headers.append(("Retry-After", f"{self.retry_after:g}"))
            return _text(self.status, "fault_injected", headers)
        try:
            body = request.json()
        except ValueError:
            return _text(400, "invalid_payload")
        if not isinstance(body, dict):
            return _text(400, "invalid_payload")
        if not body.get("text") and not body.get("blocks"):
            return _text(400, "no_text")
        self.posts.append(Post(path, body))
        return _text(200, "ok")

    def _posts(self, request: Request) -> Response:
        if request.method == "GET":
            return Response.json(200, [{"path": p.path, "body": p.body} for p in self.posts])
        if request.method == "DELETE":
            self.posts.clear()
            return Response.json(200, [])
        return _text(405, "invalid_method")

    def _faults(self, request: Request) -> Response:
        if request.method != "PUT":
            return _text(405, "invalid_method")
        try:
            data = json.loads(request.body or b"{}")
            if not isinstance(data, dict) or set(data) - {"delay", "status", "retry_after"}:
                raise ValueError("expected {delay, status, retry_after}")
            delay = float(data.get("delay", 0.0))
            status = data.get("status")
            retry_after = data.get("retry_after")
            if delay < 0 or (status is not None and not 400 <= int(status) <= 599):
                raise ValueError("delay must be >= 0 and status an HTTP error status")
        except (TypeError, ValueError) as error:
            return Response.json(400, {"detail": str(error)})
        self.delay = delay
        self.status = None if status is None else int(status)
        self.retry_after = None if retry_after is None else float(retry_after)
        return Response.json(
            200, {"delay": self.delay, "status": self.status, "retry_after": self.retry_after}
        )


def install(site: Any) -> FakeSlack:
    """Mount a fake Slack webhook on ``site`` at ``/slack`` and return it."""
    fake = FakeSlack()
    site.mount(API_PREFIX, fake)
    return fake
