"""Two real servers for the forwarding tests: a leader and a follower that relays to it.

The leader is the real app (``create_app`` on a small actor tree) with a few extra routes
the tests steer through ``LeaderControls``: an echo of what arrived, a held response, an
event stream fed by the test. The follower is the real app too, served with a
``FakeRoute`` that says it does not lead and where the leader is.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import trio
from quart import Response, request, websocket

from actors.config import ControllerConfig
from actors.errors import PermissionDeniedError
from tests.web.conftest import minimal_config_data, run_server
from tests.web.trees import small_system
from web.app import create_app
from web.forwarding import ForwardingTuning
from web.server import RunningServer, ServerTuning
from web.sse import ServerSentEvent, event_stream_response
from web.state import app_state

__all__ = [
    "FakeRoute",
    "LeaderControls",
    "Pair",
    "closed_port_url",
    "forwarding_pair",
    "leader_app",
]


class FakeRoute:
    """A ``LeaderRoute`` the test steers: who leads is whatever the test last said."""

    def __init__(
        self, leader_urls: list[str | None] | str | None, *, identity: str = "follower-1"
    ) -> None:
        self.identity = identity
        self.local = False
        # Answers in turn; the last one repeats (a hand-off: first a dead leader, then a live one).
        self._answers = list(leader_urls) if isinstance(leader_urls, list) else [leader_urls]
        self.asked = 0

    def serves_locally(self) -> bool:
        return self.local

    async def leader_url(self) -> str | None:
        await trio.lowlevel.checkpoint()
        answer = self._answers[min(self.asked, len(self._answers) - 1)]
        self.asked += 1
        return answer


@dataclass
class LeaderControls:
    """What the leader's test routes saw, and the handles the test feeds them with."""

    echoes: int = 0
    release: trio.Event = field(default_factory=trio.Event)
    held_cancelled: trio.Event = field(default_factory=trio.Event)
    stream_closed: trio.Event = field(default_factory=trio.Event)
    events: tuple[trio.MemorySendChannel[ServerSentEvent | None], Any] = field(
        default_factory=lambda: trio.open_memory_channel[ServerSentEvent | None](10)
    )

    async def emit(self, name: str, **data: Any) -> None:
        await self.events[0].send(ServerSentEvent(name, data))

    async def end_stream(self) -> None:
        await self.events[0].send(None)


def config(**overrides: Any) -> ControllerConfig:
    return ControllerConfig.model_validate(minimal_config_data(**overrides))


def leader_app(controls: LeaderControls) -> Any:
    """The real app plus the test routes under ``/t/``."""
    app = create_app(config(), small_system())

    @app.route("/t/echo", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    async def echo() -> Response:
        body = await request.get_data()
        controls.echoes += 1  # counted once the whole body arrived
        seen = {
            "method": request.method,
            "target": request.full_path if request.query_string else request.path,
            "raw_query": request.query_string.decode(),
            "headers": [[k.lower(), v] for k, v in request.headers.items()],
            "body_length": len(body),
            "body_head": body[:64].decode("latin-1"),
            "scheme": request.scheme,
            "host": request.host,
        }
        status = int(request.args.get("status", "200"))
        response = Response(json.dumps(seen), status=status, content_type="application/json")
        response.headers["X-Leader"] = "yes"
        response.headers["Keep-Alive"] = "timeout=99"
        response.headers["Set-Cookie"] = "session=abc; Path=/; HttpOnly"
        if status in (201, 303):
            response.headers["Location"] = f"{request.scheme}://{request.host}/t/echo?made=1"
        return response

    @app.websocket("/t/ws-refused")
    async def refused() -> None:
        # The app's error handlers answer the upgrade with the JSON error body.
        raise PermissionDeniedError("Permission denied: not for you")

    @app.get("/t/held")
    async def held() -> Response:
        try:
            await controls.release.wait()
        except trio.Cancelled:
            controls.held_cancelled.set()
            raise
        return Response("released", content_type="text/plain")

    @app.get("/t/events")
    async def events() -> Response:
        receive = controls.events[1]
        return event_stream_response(
            app_state(app).streams, receive.receive, on_close=controls.stream_closed.set
        )

    return app


@dataclass
class Pair:
    """The leader and the follower, both serving."""

    leader: RunningServer
    follower: RunningServer
    route: FakeRoute
    controls: LeaderControls

    @property
    def url(self) -> str:
        """Where clients go: the follower."""
        return self.follower.base_url


def closed_port_url() -> str:
    """``http://127.0.0.1:<port>`` where nothing listens (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@asynccontextmanager
async def serve_follower(
    route: FakeRoute,
    forwarding: ForwardingTuning | None = None,
    tuning: ServerTuning | None = None,
    *,
    identity: str | None = None,
    **config_overrides: Any,
) -> AsyncIterator[RunningServer]:
    """A follower (the real app) relaying through ``route``."""
    if identity is not None:
        route.identity = identity
    follower_config = config(**config_overrides)
    system = small_system()
    app = create_app(follower_config, system)

    @app.post("/t/where")
    async def where() -> Response:
        # Answered only when the follower serves a request itself.
        body = await request.get_data()
        return Response(f"follower read {len(body)} bytes", content_type="text/plain")

    @app.websocket("/t/where")
    async def where_ws() -> None:
        await websocket.accept()
        await websocket.send("follower")
        await websocket.close(1000)

    async with run_server(
        follower_config,
        system,
        app=app,
        tuning=tuning,
        leader=route,
        forwarding=forwarding or ForwardingTuning(connect_retry_window=0.5),
    ) as running:
        yield running


@asynccontextmanager
async def forwarding_pair(
    forwarding: ForwardingTuning | None = None, tuning: ServerTuning | None = None
) -> AsyncIterator[Pair]:
    """A leader with the test routes and a follower relaying to it."""
    controls = LeaderControls()
    leader_config = config()
    app = leader_app(controls)
    async with run_server(leader_config, app_state(app).system, app=app) as leader:
        route = FakeRoute(leader.base_url)
        async with serve_follower(route, forwarding, tuning) as follower:
            yield Pair(leader, follower, route, controls)
