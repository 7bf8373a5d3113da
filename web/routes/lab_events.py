"""Spawn progress: server-sent events (``api.md`` §5.5), the same over a WebSocket, and an
admin WebSocket with every lab's events.

Both user protocols read one actor subscription, so they see identical sequences: the replay
of the current (or last) operation, then live events, then the end. The SSE stream ends by
finishing its body; the WebSocket closes with 1000 after the final event (see
``web.streams`` for the other close codes). A WebSocket upgrade
request on the events path gets the WebSocket; any other request gets SSE.

The WebSocket messages are JSON objects ``{"event": ..., "message": ..., "progress": ...}``
(``progress`` only where the SSE data has it). The admin feed adds ``"user"`` and is live
only (no replay): it is meant for dashboards watching everything as it happens.
"""

from __future__ import annotations

import json

import structlog
import trio
from quart import Blueprint, Response

from actors.labs.events import LabEvent
from actors.runtime import Subscription, SubscriptionDropped
from web.auth import RouteGroup, header_identity, require_group
from web.routes.labs import lab_service
from web.sse import ServerSentEvent, event_stream_response
from web.state import current_state
from web.streams import push_subscription, serve_websocket_stream

__all__ = ["lab_events"]

_log = structlog.stdlib.get_logger(__name__)

lab_events = Blueprint("lab_events", __name__)
"""Registered with ``url_prefix=config.path_prefix``."""


def _message(event: LabEvent) -> dict[str, object]:
    return {"event": event.type.value, **event.data()}


async def _next_sse(subscription: Subscription[LabEvent] | None) -> LabEvent | None:
    """The next event, ``None`` at the end; a registered user with no operation waits.

    A subscriber dropped for falling behind ends its stream (logged); reconnecting replays.
    """
    if subscription is None:
        await trio.sleep_forever()
    assert subscription is not None
    try:
        return await subscription.next()
    except SubscriptionDropped:
        _log.warning("Event stream client fell behind the events and was dropped")
        return None


@lab_events.get("/spawner/v1/labs/<username>/events")
async def lab_events_sse(username: str) -> Response:
    """Spawn progress as server-sent events, JupyterHub's spawner's format (user)."""
    await header_identity(path_username=username)
    subscription = await lab_service().subscribe(username)

    async def next_event() -> ServerSentEvent | None:
        event = await _next_sse(subscription)
        if event is None:
            return None
        return ServerSentEvent(event.type.value, event.data())

    response = event_stream_response(
        current_state().streams,
        next_event,
        on_close=subscription.close if subscription is not None else None,
    )
    response.headers["Connection"] = "keep-alive"
    return response


@lab_events.websocket("/spawner/v1/labs/<username>/events")
async def lab_events_ws(username: str) -> None:
    """Spawn progress over a WebSocket (user); closes normally after the final event."""
    await header_identity(path_username=username)
    subscription = await lab_service().subscribe(username)

    def render(event: LabEvent) -> str:
        return json.dumps(_message(event))

    await serve_websocket_stream(
        current_state().streams, lambda: push_subscription(subscription, render)
    )


@lab_events.websocket("/admin/labs/events")
async def all_lab_events_ws() -> None:
    """Every lab's events as they happen (admin)."""
    await require_group(RouteGroup.ADMIN)
    subscription = lab_service().all_events.subscribe()

    def render(item: tuple[str, LabEvent]) -> str:
        username, event = item
        return json.dumps({"user": username, **_message(event)})

    await serve_websocket_stream(
        current_state().streams, lambda: push_subscription(subscription, render)
    )
