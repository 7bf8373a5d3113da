"""Event streams that outlive a hand-off: the old leader relays its streams to the new one.

A client following a spawn (SSE for JupyterHub's spawner, or the WebSocket) is attached to
a lab actor on the replica that led when it connected. When that replica's term ends (it
is shutting down, or it lost the lease), its lab actors stop, saying nothing to their
subscribers: the next leader carries the operation on from Kubernetes. The stream then
follows the lab there: it opens the same events route on the new leader, with the client's
own credentials, and passes its events on. The client sees one stream with a note in it:

* one ``info`` event saying the controller changed hands;
* then the new leader's events, whose progress never goes below what the client already saw
  (the new leader restarts its account of the operation at 1);
* and the end when that stream ends (``complete`` or ``failed``), or when the old replica's
  graceful timeout ends the relay.

The upstream is read by a task in the :class:`RelayPool`'s nursery, which ``serve`` owns,
not by the response body: the SSE body may be cancelled at any keep-alive and must not lose
half an event, so it only ever receives from a channel.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx
import structlog
import trio

from actors.labs.events import LabEvent, LabEventType
from actors.replicas.view import LeaderView
from actors.runtime import Subscription
from web.replica_headers import FOLLOWS_HANDOFF_HEADER, FORWARDED_BY_HEADER

__all__ = ["FORWARDED_BY_HEADER", "FollowedEvents", "RelayPool", "relay_headers"]

_log = structlog.stdlib.get_logger(__name__)


TERM_RECHECK = 0.5
"""Seconds between checks that this replica still leads, while a stream waits."""

RELAY_CONNECT_TIMEOUT = 5.0
RELAY_BUFFER = 64
"""Events read ahead from the new leader; a client slower than that slows the relay."""

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-authorization",
        "proxy-authenticate",
        "content-length",
        "host",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
    }
)


def relay_headers(headers: Mapping[str, str], identity: str) -> dict[str, str]:
    """The client's headers for the same request on the leader (credentials included),
    minus those of the connection itself."""
    relayed = {name: value for name, value in headers.items() if name.lower() not in _HOP_BY_HOP}
    relayed[FORWARDED_BY_HEADER] = identity
    relayed[FOLLOWS_HANDOFF_HEADER] = "1"
    relayed["Accept"] = "text/event-stream"
    return relayed


class RelayPool:
    """The nursery the relays run in; ``serve`` runs it for as long as it serves."""

    def __init__(self) -> None:
        self._nursery: trio.Nursery | None = None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            try:
                await trio.sleep_forever()
            finally:
                self._nursery = None

    def start(
        self, url: str, headers: dict[str, str]
    ) -> tuple[trio.MemoryReceiveChannel[LabEvent], trio.CancelScope] | None:
        """Relay the event stream at ``url``; ``None`` when relays cannot run here."""
        if self._nursery is None:
            return None
        send, receive = trio.open_memory_channel[LabEvent](RELAY_BUFFER)
        scope = trio.CancelScope()
        self._nursery.start_soon(_relay, url, headers, send, scope)
        return receive, scope


async def _relay(
    url: str,
    headers: dict[str, str],
    send: trio.MemorySendChannel[LabEvent],
    scope: trio.CancelScope,
) -> None:
    """Read the leader's SSE stream into ``send`` until it ends (or ``scope`` is cancelled)."""
    timeout = httpx.Timeout(RELAY_CONNECT_TIMEOUT, read=None)
    with scope:
        async with send, httpx.AsyncClient(timeout=timeout) as client:
            try:
                async with client.stream("GET", url, headers=headers) as response:
                    if response.status_code != 200:
                        _log.warning(
                            "Leader refused the relayed stream", status=response.status_code
                        )
                        return
                    event_type: str | None = None
                    async for line in response.aiter_lines():
                        if line.startswith("event:"):
                            event_type = line.removeprefix("event:").strip()
                        elif line.startswith("data:") and event_type is not None:
                            event = _decode(event_type, line.removeprefix("data:").strip())
                            event_type = None
                            if event is not None:
                                await send.send(event)
            except (httpx.HTTPError, trio.BrokenResourceError) as error:
                _log.warning("Relay of the event stream ended", error=type(error).__name__)


def _decode(event_type: str, data: str) -> LabEvent | None:
    try:
        kind = LabEventType(event_type)
        payload: Any = json.loads(data)
    except ValueError:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("message"), str):
        return None
    progress = payload.get("progress")
    return LabEvent(kind, payload["message"], progress if isinstance(progress, int) else None)


class FollowedEvents:
    """A user's lab events: the local subscription, then, if the term ended under it, the
    same stream on the new leader (see module docstring). Same interface as
    :class:`~actors.runtime.Subscription` (``next``, ``close``)."""

    def __init__(
        self,
        local: Subscription[LabEvent],
        *,
        view: LeaderView | None,
        relays: RelayPool,
        path: str,
        headers: Mapping[str, str],
        wait: float,
    ) -> None:
        self._local: Subscription[LabEvent] | None = local
        self._view = view
        self._relays = relays
        self._path = path
        self._headers = dict(headers)
        self._wait = wait
        self._last: LabEvent | None = None
        self._progress = 0
        self._relayed: trio.MemoryReceiveChannel[LabEvent] | None = None
        self._relay_scope: trio.CancelScope | None = None
        self._closed = False

    async def next(self) -> LabEvent | None:
        """The next event; ``None`` at the end."""
        if self._local is not None:
            event = await self._next_local(self._local)
            if event is not None:
                return self._seen(event)
            self._local.close()
            self._local = None
            note = await self._follow()
            if note is not None:
                return self._seen(note)
        if self._relayed is None:
            return None
        try:
            event = await self._relayed.receive()
        except trio.EndOfChannel:
            return None
        if event.progress is not None and event.progress < self._progress:
            event = LabEvent(event.type, event.message, self._progress)
        return self._seen(event)

    async def _next_local(self, local: Subscription[LabEvent]) -> LabEvent | None:
        """The next local event; ``None`` when the local stream ended, or when this
        replica's term is over while the stream waits for an operation that will now start
        on another replica (an operation in progress ends with the term by itself)."""
        view = self._view
        if view is None or not view.enabled:
            return await local.next()
        received: list[LabEvent | None] = []
        async with trio.open_nursery() as nursery:

            async def receive() -> None:
                received.append(await local.next())
                nursery.cancel_scope.cancel()

            async def term_over() -> None:
                while view.terms.leading:
                    since = view.version
                    with trio.move_on_after(TERM_RECHECK):
                        await view.wait_changed(since)
                nursery.cancel_scope.cancel()

            nursery.start_soon(receive)
            nursery.start_soon(term_over)
        return received[0] if received else None

    def _seen(self, event: LabEvent) -> LabEvent:
        self._last = event
        if event.progress is not None:
            self._progress = max(self._progress, event.progress)
        return event

    async def _follow(self) -> LabEvent | None:
        """Start relaying if the stream was cut by the end of a term; the note, if so."""
        view = self._view
        if view is None or not view.enabled or self._closed:
            return None
        if self._last is not None and self._last.type.is_final:
            return None
        if view.serves_locally():
            return None  # ended here for another reason (a dropped subscriber, a crash)
        url = await view.wait_route(self._wait)
        if not url:
            return None
        started = self._relays.start(
            f"{url}{self._path}", relay_headers(self._headers, view.identity)
        )
        if started is None:
            return None
        self._relayed, self._relay_scope = started
        _log.info("Relaying an event stream to the new leader", leader=url)
        progress = self._progress if self._progress else None
        return LabEvent.info(
            "The lab controller changed hands; following on the new leader", progress
        )

    def close(self) -> None:
        """Release the subscription or stop the relay; idempotent."""
        self._closed = True
        if self._local is not None:
            self._local.close()
            self._local = None
        if self._relay_scope is not None:
            self._relay_scope.cancel()
        if self._relayed is not None:
            self._relayed.close()
