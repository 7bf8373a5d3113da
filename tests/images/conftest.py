"""Helpers for the image tests: serve kubesim handlers over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import trio

from kubesim.http import Handler, Request, Response, StreamingResponse, serve_http


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int


@dataclass
class Recorder:
    """Wraps a handler and records each request with the status it got."""

    handler: Handler
    requests: list[Recorded] = field(default_factory=list)

    async def __call__(self, request: Request) -> Response | StreamingResponse:
        response = await self.handler(request)
        self.requests.append(
            Recorded(request.method, request.path, request.query, request.headers, response.status)
        )
        return response

    def statuses(self) -> list[int]:
        return [r.status for r in self.requests]


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[str]:
    """Serve ``handler`` on 127.0.0.1 (port 0) for the block; yield its base URL."""
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_http, handler, "127.0.0.1", 0)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            nursery.cancel_scope.cancel()


@asynccontextmanager
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client
