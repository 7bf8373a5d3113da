"""Admin actor inspection: the actor tree as JSON, one actor, and a live WebSocket view.

Reads go through ``ActorSystem.snapshot()`` / ``find()``, which are synchronous and never wait
for an actor, so inspection works even when an actor is stuck on a message. The WebSocket
sends the whole tree on connect and again whenever the tree changes, at most
``1 / MIN_PUSH_INTERVAL`` times per second: changes that happen in between are coalesced
into the next message (each message is the same document ``GET .../admin/actors`` returns).

All three are admin-group routes (``web.auth``): open behind the ingress, which enforces the
scope, and ``exec:admin`` bearer tokens only in direct mode.
"""

from __future__ import annotations

from typing import Any

import trio
from quart import Blueprint, Response

from actors.runtime import ActorSystem
from web.auth import RouteGroup, require_group
from web.errors import UnknownActorError
from web.state import current_state
from web.streams import send_text, serve_websocket_stream

__all__ = ["CHANGE_WAIT", "MIN_PUSH_INTERVAL", "admin_actors"]

admin_actors = Blueprint("admin_actors", __name__)
"""Registered with ``url_prefix=config.path_prefix``."""

MIN_PUSH_INTERVAL = 0.25
"""Seconds between two pushes of the tree on the WebSocket (at most 4 per second)."""

CHANGE_WAIT = 30.0
"""Deadline of one wait for a tree change; the wait is simply renewed when it passes."""


def _json_response(text: str) -> Response:
    return Response(text, status=200, content_type="application/json")


@admin_actors.get("/admin/actors")
async def get_actor_tree() -> Response:
    """The whole actor tree."""
    await require_group(RouteGroup.ADMIN)
    return _json_response(current_state().system.snapshot().model_dump_json())


@admin_actors.get("/admin/actors/<path:name>")
async def get_actor(name: str) -> Response:
    """One actor (and its children) by name; names may contain ``/`` (``lab/alice``)."""
    await require_group(RouteGroup.ADMIN)
    snapshot = current_state().system.find(name)
    if snapshot is None:
        raise UnknownActorError(f"Unknown actor {name}", loc=["path", "name"])
    return _json_response(snapshot.model_dump_json())


async def _push_tree_changes(system: ActorSystem) -> None:
    version = system.version
    await send_text(system.snapshot().model_dump_json())
    while True:
        await trio.sleep(MIN_PUSH_INTERVAL)
        changed: int | None = None
        with trio.move_on_after(CHANGE_WAIT):
            changed = await system.wait_changed(version)
        if changed is None:
            continue
        version = changed
        await send_text(system.snapshot().model_dump_json())


@admin_actors.websocket("/admin/actors/ws")
async def watch_actor_tree() -> Any:
    """Push the tree now and after every change until the client or the server leaves.

    Authorization is checked before the handshake is accepted, so a refused client gets an
    HTTP error response instead of a WebSocket.
    """
    await require_group(RouteGroup.ADMIN)
    state = current_state()
    await serve_websocket_stream(state.streams, lambda: _push_tree_changes(state.system))
