"""Spawn progress: server-sent events (``api.md`` §5.5), the same over a WebSocket, and an
admin WebSocket with every lab's events.

Both user protocols read one actor subscription, so they see identical sequences: the replay
of the current (or last) operation, then live events, then the end. The SSE stream ends by
finishing its body; the WebSocket closes with 1000 after the final event (see
``web.streams`` for the other close codes). A WebSocket upgrade
request on the events path gets the WebSocket; any other request gets SSE (``HEAD`` gets
its headers only). A subscription is released however its request ends, including a client
that leaves while the lab actor is asked for it or before the stream's first byte.

The WebSocket messages are JSON objects ``{"event": ..., "message": ..., "progress": ...}``
(``progress`` only where the SSE data has it). The admin feed adds ``"user"`` and is live
only (no replay): it is meant for dashboards watching everything as it happens.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import structlog
import trio
from quart import Blueprint, Response, request, websocket

from actors.labs.events import LabEvent
from actors.runtime import Subscription, SubscriptionDropped
from web.auth import RouteGroup, header_identity, require_group
from web.handoff import FollowedEvents
from web.replica_headers import FOLLOWS_HANDOFF_HEADER
from web.request_context import at_request_end
from web.routes.labs import lab_service
from web.sse import SSE_HEADERS, ServerSentEvent, event_stream_response
from web.state import current_state
from web.streams import push_subscription, serve_websocket_stream

__all__ = ["lab_events"]

_log = structlog.stdlib.get_logger(__name__)

lab_events = Blueprint("lab_events", __name__)
"""Registered with ``url_prefix=config.path_prefix``."""


def _message(event: LabEvent) -> dict[str, object]:
    return {"event": event.type.value, **event.data()}


async def _next_sse(
    subscription: Subscription[LabEvent] | FollowedEvents | None,
) -> LabEvent | None:
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


async def _subscribe(username: str) -> Subscription[LabEvent] | None:
    """The user's subscription, also when the client leaves while the actor is asked.

    The lab actor makes the subscription whether or not anyone still waits for its reply, so
    a wait cancelled by a client that left would leave it registered for good. The ask is
    bounded (the lab service's ask timeout), so it runs shielded; the caller releases the
    subscription however the request then ends.
    """
    with trio.CancelScope(shield=True):
        subscription = await lab_service().subscribe(username)
    return subscription  # noqa: RET504 (a return inside the scope reads as possibly missing)


def _followed(
    subscription: Subscription[LabEvent] | None, path: str, headers: Mapping[str, str]
) -> Subscription[LabEvent] | FollowedEvents | None:
    """With several replicas, the stream follows the lab to a new leader (``web.handoff``)."""
    state = current_state()
    replicas = state.replicas
    if subscription is None or replicas is None or not replicas.enabled:
        return subscription
    return FollowedEvents(
        subscription,
        view=replicas.view,
        relays=state.relays,
        path=path,
        headers=headers,
        wait=replicas.config.forward_timeout.total_seconds(),
    )


@lab_events.get("/spawner/v1/labs/<username>/events")
async def lab_events_sse(username: str) -> Response:
    """Spawn progress as server-sent events, JupyterHub's spawner's format (user)."""
    await header_identity(path_username=username)
    if request.method == "GET":
        followed = FOLLOWS_HANDOFF_HEADER in request.headers
        outcome = await lab_service().outcome_without_operation(username, followed=followed)
        if outcome is not None:
            return _single_event_response(outcome)
    subscription = _followed(await _subscribe(username), request.path, dict(request.headers))
    if request.method == "HEAD":
        # The GET's headers without its stream: hypercorn drops a HEAD response's body, so
        # a streamed one would hold the connection (and the subscription) for the whole
        # operation, or forever, while the client already has its complete answer.
        if subscription is not None:
            subscription.close()
        return _head_response()

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
    if subscription is not None:
        # The body releases the subscription when it ends, but a body that never started
        # never ends: a client that leaves between this return and the first byte of the
        # body cancels the request where quart still holds the response. The end of the
        # request covers that (closing twice is harmless).
        at_request_end(subscription.close)
    return response


class _OneEvent:
    """A finished stream of one event, for the WebSocket (see ``_single_event_response``)."""

    def __init__(self, event: LabEvent) -> None:
        self._event: LabEvent | None = event

    async def next(self) -> LabEvent | None:
        await trio.lowlevel.checkpoint()
        event, self._event = self._event, None
        return event

    def close(self) -> None:
        self._event = None


def _single_event_response(event: LabEvent) -> Response:
    """A finished stream of one event (see ``FOLLOWS_HANDOFF_HEADER``)."""
    response = Response(
        ServerSentEvent(event.type.value, event.data()).encode(),
        status=200,
        content_type="text/event-stream; charset=utf-8",
    )
    response.headers.update(SSE_HEADERS)
    return response


def _head_response() -> Response:
    response = Response(b"", status=200, content_type="text/event-stream; charset=utf-8")
    # No length: the GET's body is a stream of unknown length, not an empty one.
    del response.headers["Content-Length"]
    response.headers.update(SSE_HEADERS)
    response.headers["Connection"] = "keep-alive"
    return response


@lab_events.websocket("/spawner/v1/labs/<username>/events")
async def lab_events_ws(username: str) -> None:
    """Spawn progress over a WebSocket (user); closes normally after the final event."""
    await header_identity(path_username=username)
    outcome = await lab_service().outcome_without_operation(
        username, followed=FOLLOWS_HANDOFF_HEADER in websocket.headers
    )
    subscription: Subscription[LabEvent] | FollowedEvents | _OneEvent | None
    if outcome is not None:
        subscription = _OneEvent(outcome)
    else:
        subscription = _followed(
            await _subscribe(username), websocket.path, dict(websocket.headers)
        )

    def render(event: LabEvent) -> str:
        return json.dumps(_message(event))

    try:
        await serve_websocket_stream(
            current_state().streams, lambda: push_subscription(subscription, render)
        )
    finally:
        # Released by the stream when it runs; not if the client left before the handshake.
        if subscription is not None:
            subscription.close()


@lab_events.websocket("/admin/labs/events")
async def all_lab_events_ws() -> None:
    """Every lab's events as they happen (admin)."""
    await require_group(RouteGroup.ADMIN)
    subscription = lab_service().all_events.subscribe()

    def render(item: tuple[str, LabEvent]) -> str:
        username, event = item
        return json.dumps({"user": username, **_message(event)})

    try:
        await serve_websocket_stream(
            current_state().streams, lambda: push_subscription(subscription, render)
        )
    finally:
        subscription.close()  # the feed never ends: a stray subscriber would stay forever
