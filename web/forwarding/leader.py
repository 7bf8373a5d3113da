"""Finding the leader and connecting to it, through a hand-off.

A connection refused by the leader's address usually means that leader just stopped (a
hand-off or a crash) and the route has not yet learnt who leads now. Nothing of the request
has left the follower at that point, so the connection is tried again, asking the route each
time, until the retry window closes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlsplit

import structlog
import trio

from web.asgi import Scope
from web.forwarding.refusals import Refusal
from web.forwarding.route import SERVE_HERE, ForwardingTuning, LeaderRoute

__all__ = ["ConnectFailed", "LeaderAddress", "ServeHere", "target", "with_leader"]

_log = structlog.stdlib.get_logger(__name__)

T = TypeVar("T")

RETRY_PAUSE = 0.1
"""Seconds between two connection attempts while the leader refuses them."""

LEADER_WAIT_CEILING = 30.0
"""Upper bound on one ``leader_url()`` call, whatever the route's own timeout is."""


class ConnectFailed(Exception):
    """No connection to the leader could be opened; the message is safe to show a client."""


class HandingOver(ConnectFailed):
    """The replica taken for the leader answered that it does not lead (any more): it held
    the request until it knew who leads now, so the retry window starts again (within
    :data:`LEADER_WAIT_CEILING` in all)."""


class ServeHere(Exception):
    """This replica leads now: the app answers the request (nothing was relayed yet)."""


class LeaderAddress:
    """The leader's base URL, split for the clients that need host and port apart."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname is None:
            # The route is the integrator's code; a bad URL is a bug, not a client error.
            raise ValueError(f"leader URL must be http://host:port, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.host = parts.hostname
        self.port = parts.port or 80


def target(scope: Scope) -> bytes:
    """The request target (path and query) exactly as the client wrote it."""
    path = scope.get("raw_path") or str(scope["path"]).encode("utf-8")
    query = scope.get("query_string") or b""
    return bytes(path) + (b"?" + bytes(query) if query else b"")


async def with_leader(
    route: LeaderRoute,
    tuning: ForwardingTuning,
    attempt: Callable[[LeaderAddress], Awaitable[T]],
) -> T:
    """``attempt(leader)``, retried while it raises ``ConnectFailed`` within the window.

    Raises ``Refusal`` (503) when no leader is known or none accepts connections in time,
    and ``ServeHere`` when this replica became the leader meanwhile.
    """
    started = trio.current_time()
    deadline = started + tuning.connect_retry_window
    while True:
        base_url: str | None = None
        with trio.move_on_after(LEADER_WAIT_CEILING):
            base_url = await route.leader_url()
        if base_url is None:
            raise Refusal.no_leader()
        if base_url == SERVE_HERE:
            raise ServeHere
        leader = LeaderAddress(base_url)
        try:
            return await attempt(leader)
        except ConnectFailed as error:
            if isinstance(error, HandingOver):
                # Not unreachable: it answered, after waiting for the hand-off to end.
                deadline = min(
                    trio.current_time() + tuning.connect_retry_window,
                    started + LEADER_WAIT_CEILING,
                )
            if trio.current_time() + RETRY_PAUSE >= deadline:
                _log.warning(
                    "Leader unreachable, request refused", leader=leader.base_url, error=str(error)
                )
                raise Refusal.unreachable(str(error)) from None
            _log.info("Leader unreachable, trying again", leader=leader.base_url, error=str(error))
            doubt = getattr(route, "doubt", None)
            if doubt is not None:
                doubt()  # who leads may have changed: have the route look again now
        await trio.sleep(RETRY_PAUSE)
