"""The ``discovery`` singleton actor and :class:`DiscoveryService`, which builds it.

The actor fetches Repertoire's discovery document (``GET <repertoireBaseUrl>/discovery``)
when it starts and then every ``discovery.refreshInterval``, turns it into the labs' view
(``document.py``) and publishes that to the :class:`DiscoveryView` labs read. A failed fetch
(Repertoire down, slow, or answering nonsense) keeps the previous document, logs a warning
and is retried after ``min(refreshInterval, RETRY_AFTER_FAILURE)``; inspection shows the
age of the copy in use and the last error.

``DiscoveryService.ready`` is set after the first fetch *attempt*, successful or not, so an
outage at startup delays the controller by at most one fetch timeout.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
import trio

from actors.config import ControllerConfig
from actors.runtime import Actor, ActorRef, Request, RestartPolicy, describe_error

from .document import DiscoveryDocumentError, nublado_view
from .view import DiscoveryView

__all__ = ["DiscoveryActor", "DiscoveryService", "RefreshDiscovery"]

log = structlog.get_logger(__name__)

RETRY_AFTER_FAILURE = 30.0
"""Longest pause before retrying a failed fetch (shorter if the interval is shorter)."""

MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
"""A larger answer is refused: it could not fit in a ConfigMap (1 MiB) anyway."""


class RefreshDiscovery(Request[trio.Event]):
    """Fetch now; the reply is an event set when that fetch has ended."""

    __slots__ = ()


class DiscoveryFetchError(Exception):
    """A fetch failed; the message is safe to log (no body beyond a short excerpt)."""


async def fetch_view(http: httpx.AsyncClient, url: str, timeout: float) -> dict[str, Any]:  # noqa: ASYNC109
    """GET the discovery document at ``url`` and return its Nublado view."""
    try:
        with trio.fail_after(timeout):
            body = await _get_bounded(http, url, timeout)
    except trio.TooSlowError:
        raise DiscoveryFetchError(f"no answer within {timeout:g} s") from None
    except httpx.HTTPError as error:
        raise DiscoveryFetchError(describe_error(error)) from None
    try:
        document = json.loads(body)
    except ValueError as error:
        raise DiscoveryFetchError(f"answer is not JSON: {error}") from None
    try:
        return nublado_view(document)
    except DiscoveryDocumentError as error:
        raise DiscoveryFetchError(f"answer is not a discovery document: {error}") from None


async def _get_bounded(http: httpx.AsyncClient, url: str, timeout: float) -> bytes:  # noqa: ASYNC109
    """The body of a 200 answer; one announced larger than :data:`MAX_DOCUMENT_BYTES` is
    refused before it is read (Repertoire always sends ``Content-Length``)."""
    headers = {"Accept": "application/json"}
    async with http.stream("GET", url, headers=headers, timeout=timeout) as response:
        if response.status_code != 200:
            raise DiscoveryFetchError(f"HTTP {response.status_code} {response.reason_phrase}")
        announced = response.headers.get("content-length", "")
        if announced.isdigit() and int(announced) > MAX_DOCUMENT_BYTES:
            raise DiscoveryFetchError(f"answer larger than {MAX_DOCUMENT_BYTES} bytes")
        body = await response.aread()
    if len(body) > MAX_DOCUMENT_BYTES:
        raise DiscoveryFetchError(f"answer larger than {MAX_DOCUMENT_BYTES} bytes")
    return body


class DiscoveryActor(Actor):
    """Keeps the published discovery document fresh (see module docstring)."""

    kind = "discovery"

    def __init__(
        self,
        config: ControllerConfig,
        http: httpx.AsyncClient,
        view: DiscoveryView,
        *,
        ready: trio.Event,
    ) -> None:
        self.interval = config.discovery.refresh_interval.total_seconds()
        self.timeout = config.discovery.timeout.total_seconds()
        self.http = http
        self.view = view
        self.url = f"{view.url}/discovery"
        self._ready = ready
        self._wake = trio.Event()
        self._next_done = trio.Event()
        self.fetches = 0
        self.failures = 0
        self.last_success: float | None = None
        self.last_error: str | None = None
        self._fetching = False

    async def on_start(self) -> None:
        self.context.start_soon(self._refresh_forever)

    async def handle(self, message: object) -> object:
        if isinstance(message, RefreshDiscovery):
            self._wake.set()
            return self._next_done
        return await super().handle(message)

    @property
    def phase(self) -> str:
        if self._fetching:
            return "fetching"
        if self.last_error is not None:
            return "degraded" if self.view.available else "unavailable"
        return "ready" if self.view.available else "starting"

    def inspect(self) -> dict[str, Any]:
        published = self.view.published_at
        return {
            "url": self.url,
            "fetches": self.fetches,
            "failures": self.failures,
            "last_success": (
                None
                if self.last_success is None
                else datetime.fromtimestamp(self.last_success, UTC).isoformat()
            ),
            "document_age_seconds": (
                None if published is None else round(trio.current_time() - published, 1)
            ),
            "last_error": self.last_error,
        }

    async def _refresh_forever(self) -> None:
        while True:
            done, self._next_done = self._next_done, trio.Event()
            self._wake = trio.Event()
            ok = await self._fetch_once()
            done.set()
            self._ready.set()
            delay = self.interval if ok else min(self.interval, RETRY_AFTER_FAILURE)
            with trio.move_on_after(delay):
                await self._wake.wait()

    async def _fetch_once(self) -> bool:
        self._fetching = True
        self.context.changed()
        try:
            view = await fetch_view(self.http, self.url, self.timeout)
        except DiscoveryFetchError as error:
            self.failures += 1
            self.last_error = str(error)
            if self.view.available:
                log.warning(
                    "Service discovery fetch failed; labs keep getting the last good copy",
                    url=self.url,
                    error=self.last_error,
                    copy_age_seconds=round(trio.current_time() - (self.view.published_at or 0)),
                )
            else:
                log.warning(
                    "Service discovery fetch failed and no copy was ever fetched;"
                    " spawns are refused until one is",
                    url=self.url,
                    error=self.last_error,
                )
            return False
        finally:
            self._fetching = False
            self.context.changed()
        self.view.publish(view, trio.current_time())
        self.fetches += 1
        if self.last_error is not None or self.last_success is None:
            log.info("Fetched the service discovery document", url=self.url)
        self.last_success = time.time()
        self.last_error = None
        return True


class DiscoveryService:
    """Builds the ``discovery`` actor; ``view`` is what labs are given."""

    def __init__(self, config: ControllerConfig, http: httpx.AsyncClient, base_url: str) -> None:
        self.ready = trio.Event()
        self.view = DiscoveryView(base_url.rstrip("/"))
        self.actor = ActorRef(
            "discovery", lambda: DiscoveryActor(config, http, self.view, ready=self.ready)
        )
        self.children: list[tuple[ActorRef, RestartPolicy]] = [
            (self.actor, RestartPolicy.PERMANENT)
        ]
        self._ask_timeout = 10.0

    async def refresh(self, *, timeout: float = 60.0) -> None:  # noqa: ASYNC109
        """Fetch now and return when that fetch has ended (operators and tests)."""
        done = await self.actor.ask(RefreshDiscovery(), timeout=self._ask_timeout)
        with trio.fail_after(timeout):
            await done.wait()
