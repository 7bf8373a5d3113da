"""``GafaelfawrClient``: the user-info and token-info lookups, over httpx under Trio, cached.

Behaviour every caller relies on:

* 401 or 403 from Gafaelfawr → :class:`GafaelfawrTokenRejected`. A token that could not be a
  bearer credential at all (empty, spaces, non-ASCII, absurdly long) is rejected without a
  request: it could only be refused, and sending it could inject header bytes.
* Anything else that is not a 200 with a decodable body (5xx, another status, a network
  error, the 20 s timeout) → :class:`GafaelfawrUnavailable`, logged as a warning with the
  reason and without the token.
* Successful answers are cached per token for ``cache_seconds`` (never past the token's own
  expiry for token-info), at most ``max_cache_entries`` of them. Failures are never cached:
  a rejected token might be a race with its creation, and an outage must not outlive itself.
* The cache key is a keyed BLAKE2b hash of the token with a per-process random key, so the
  raw token is not held by the cache and a memory dump does not allow offline guessing.

The client owns an ``httpx.AsyncClient``, opened on the first lookup; close it with
``aclose()`` (or ``async with``) when the server stops. Concurrent misses for the same token
each ask Gafaelfawr (no coalescing): that is rare and harmless.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable
from types import TracebackType
from typing import Literal, Self, TypeVar

import httpx
import structlog
import trio
from pydantic import BaseModel, ValidationError

from actors.common.models import UserInfo

from .cache import TtlLruCache
from .errors import GafaelfawrTokenRejected, GafaelfawrUnavailable
from .models import TokenInfo

__all__ = ["API_PATH", "DEFAULT_MAX_CACHE_ENTRIES", "DEFAULT_TIMEOUT", "GafaelfawrClient"]

_log = structlog.stdlib.get_logger(__name__)

API_PATH = "/auth/api/v1"
"""Where Gafaelfawr serves its API below its base URL."""

DEFAULT_TIMEOUT = 20.0
"""Seconds one Gafaelfawr request may take (connect, each read, write, pool wait)."""

DEFAULT_MAX_CACHE_ENTRIES = 10_000
"""Bound of the answer cache (both kinds of answer together)."""

MAX_CONNECTIONS = 32
"""Connections to Gafaelfawr, and so lookups in flight; more wait their turn in a FIFO.

The wait is ours, not httpx's: httpcore's pool compares every queued request with every
connection each time one starts or ends, so a storm of 1,000 first-time users queued inside
it cost most of the controller's CPU (about 60 % of a 1,000-spawn storm's samples)."""

MAX_TOKEN_LENGTH = 4096
"""Longer strings are not tokens; they are refused without asking Gafaelfawr."""

_TOKEN_SHAPE = re.compile(r"^[\x21-\x7e]+$")
"""Visible ASCII only: what an ``Authorization: Bearer`` credential may contain."""

_Kind = Literal["user-info", "token-info"]
_Answer = TypeVar("_Answer", bound=BaseModel)


class GafaelfawrClient:
    """Looks tokens up in the Gafaelfawr at ``base_url`` (``https://host``; the API path is
    appended). ``clock`` (monotonic seconds) drives cache expiry; tests pass a fake one."""

    def __init__(
        self,
        base_url: str,
        *,
        cache_seconds: float = 60.0,
        max_cache_entries: int = DEFAULT_MAX_CACHE_ENTRIES,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.cache_seconds = cache_seconds
        self._cache: TtlLruCache[tuple[_Kind, bytes], BaseModel] = TtlLruCache(
            max_entries=max_cache_entries, clock=clock
        )
        self._hash_key = secrets.token_bytes(32)
        self._timeout = timeout
        self._http: httpx.AsyncClient | None = None
        self._slots = trio.Semaphore(MAX_CONNECTIONS)

    def __repr__(self) -> str:
        return f"<GafaelfawrClient {self.base_url} cache={len(self._cache)}>"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def connected(self) -> bool:
        """True between the first lookup and ``aclose()``: a connection pool is open."""
        return self._http is not None

    async def aclose(self) -> None:
        """Close the HTTP connections (if any were opened). Idempotent.

        A later lookup opens a fresh connection pool, so closing is always safe; the server
        closes the client when it stops serving, after the last request.
        """
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()

    def _connection_pool(self) -> httpx.AsyncClient:
        # Opened on first use: an app that is built but never serves (tests, the CLI's
        # client commands) holds no sockets and needs no closing.
        if self._http is None:
            self._http = httpx.AsyncClient(
                base_url=self.base_url + API_PATH,
                # The time a lookup waits for a free connection is not Gafaelfawr's fault:
                # in a burst of first-time users it is unbounded here, while every request
                # itself still gets the full timeout.
                timeout=httpx.Timeout(self._timeout, pool=None),
                limits=httpx.Limits(
                    max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS
                ),
                headers={"Accept": "application/json"},
            )
        return self._http

    async def user_info(self, token: str) -> UserInfo:
        """The user record of the token's owner (``api.md`` §2.4)."""
        return await self._lookup("user-info", token, UserInfo)

    async def token_info(self, token: str) -> TokenInfo:
        """Owner, scopes and expiry of the token."""
        return await self._lookup("token-info", token, TokenInfo)

    def _cache_key(self, kind: _Kind, token: str) -> tuple[_Kind, bytes]:
        digest = hashlib.blake2b(token.encode("ascii"), key=self._hash_key, digest_size=32)
        return (kind, digest.digest())

    def _lifetime(self, answer: BaseModel) -> float:
        """How long an answer may be reused: the cache lifetime, but never past the
        token's expiry when the answer tells it."""
        lifetime = self.cache_seconds
        if isinstance(answer, TokenInfo) and answer.expires is not None:
            lifetime = min(lifetime, answer.expires.timestamp() - time.time())
        return lifetime

    async def _lookup(self, kind: _Kind, token: str, model: type[_Answer]) -> _Answer:
        if len(token) > MAX_TOKEN_LENGTH or not _TOKEN_SHAPE.match(token):
            raise GafaelfawrTokenRejected("not a well-formed bearer token")
        key = self._cache_key(kind, token)
        cached = self._cache.get(key)
        if isinstance(cached, model):
            return cached
        answer = await self._fetch(kind, token, model)
        self._cache.put(key, answer, self._lifetime(answer))
        return answer

    async def _fetch(self, kind: _Kind, token: str, model: type[_Answer]) -> _Answer:
        try:
            async with self._slots:
                response = await self._connection_pool().get(
                    f"/{kind}", headers={"Authorization": f"Bearer {token}"}
                )
        except httpx.HTTPError as error:
            # httpx messages name the URL, never the headers, so they are safe to log.
            raise self._unavailable(kind, f"{type(error).__name__}: {error}") from None
        if response.status_code in (401, 403):
            raise GafaelfawrTokenRejected(f"Gafaelfawr {kind} answered {response.status_code}")
        if response.status_code != 200:
            raise self._unavailable(kind, f"HTTP status {response.status_code}")
        try:
            return model.model_validate_json(response.content)
        except ValidationError as error:
            # Only the error types: the input may be a reply that echoes request data.
            types = sorted({item["type"] for item in error.errors()})
            raise self._unavailable(kind, f"undecodable reply ({', '.join(types)})") from None

    def _unavailable(self, kind: _Kind, reason: str) -> GafaelfawrUnavailable:
        _log.warning("Gafaelfawr unavailable", api=kind, url=self.base_url, reason=reason)
        return GafaelfawrUnavailable(f"Gafaelfawr {kind} failed: {reason}")
