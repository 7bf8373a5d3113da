"""Run the controller: the actor system and hypercorn side by side in one nursery.

Life cycle (``serve``):

1. The actor system starts first (``nursery.start(system.run)``): routes never see a
   half-built tree.
2. Hypercorn's Trio worker binds and starts serving; ``task_status.started`` hands the caller
   a ``RunningServer`` with the bound URLs (port 0 works).
3. On SIGTERM/SIGINT (or ``RunningServer.request_shutdown()``) the shutdown runs in order:
   the app ends its SSE/WebSocket streams (WebSockets close with 1001), then hypercorn's
   shutdown trigger is set so it stops accepting and drains open requests (at most
   ``graceful_timeout``), and only when hypercorn has returned are the actors cancelled.
   A second signal skips the waiting and cancels everything at once.
4. If the actor system fails (the root supervisor escalates), the nursery cancels hypercorn
   and ``serve`` raises an exception group containing ``ActorSystemFailed``; the CLI logs it
   and exits non-zero. The process must not keep answering HTTP without its actors.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial

import structlog
import trio
from hypercorn.config import Config as HypercornConfig
from quart_trio import QuartTrio

from actors.config import ControllerConfig
from actors.config.server import ServerConfig
from actors.replicas.service import ReplicaService
from actors.runtime import ActorSystem
from web.app import asgi_stack, create_app
from web.asgi import ASGIApp
from web.forwarding import ForwardingTuning, LeaderRoute
from web.forwarding.view_route import LeaderViewRoute
from web.http_server import CannotListen, open_listeners, serve_http
from web.logging import ERROR_LOGGER_NAME
from web.state import app_state

__all__ = [
    "ActorSystemFailed",
    "CannotListen",
    "RunningServer",
    "ServerTuning",
    "freeze_import_time_objects",
    "serve",
]

_log = structlog.stdlib.get_logger(__name__)

DEFAULT_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)

CLIENT_CLOSE_TIMEOUT = 5.0
"""Seconds the app's outbound clients (Gafaelfawr) get to close once serving has ended."""


class ActorSystemFailed(Exception):
    """The actor system stopped on its own (its root supervisor failed); ``__cause__`` says why."""


@dataclass(frozen=True)
class ServerTuning:
    """Timeouts of the HTTP server (seconds)."""

    keep_alive_timeout: float = 75.0
    """An idle keep-alive connection is closed after this long.

    Longer than the idle timeout of common HTTP clients (httpx, which JupyterHub uses, drops
    idle connections after 5 s; browsers and proxies after 60 s or less), so that it is always
    the client that drops an idle connection: a request sent just as the server closed the
    connection would otherwise fail with "server disconnected without a response".
    """

    write_timeout: float = 10.0
    """One write to a client may take this long; a client that reads nothing for so long is
    disconnected (its connection is reset)."""

    graceful_timeout: float = 10.0
    """Open requests get this long to finish once the server shuts down."""

    stream_close_timeout: float = 5.0
    """Streams get this long to end after being asked to, before hypercorn's drain starts."""

    actor_stop_timeout: float = 10.0
    """Actors get this long to stop after the HTTP server is done; then they are cancelled."""

    @classmethod
    def from_config(cls, server: ServerConfig) -> ServerTuning:
        """The tuning the configuration's ``server`` section asks for."""
        return cls(
            keep_alive_timeout=server.keep_alive_timeout.total_seconds(),
            graceful_timeout=server.graceful_timeout.total_seconds(),
            write_timeout=server.write_timeout.total_seconds(),
        )


@dataclass
class _Lifecycle:
    """The steps of one ``serve`` run, as events the tasks wait on."""

    http_shutdown_trigger: trio.Event = field(default_factory=trio.Event)
    http_done: trio.Event = field(default_factory=trio.Event)
    actors_done: trio.Event = field(default_factory=trio.Event)
    stopping_actors: bool = False


class RunningServer:
    """Handle on a running ``serve``: where it listens, and a way to stop it gracefully."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        """Filled in once hypercorn has bound its sockets (before ``serve`` reports started)."""
        self._shutdown_requested = trio.Event()

    @property
    def base_url(self) -> str:
        """The first plain-HTTP URL the server is bound to (``http://host:port``)."""
        return next(url for url in self.urls if url.startswith("http://"))

    @property
    def port(self) -> int:
        """The bound TCP port (useful with port 0)."""
        return int(self.base_url.rsplit(":", 1)[1])

    @property
    def shutdown_requested(self) -> bool:
        """True once a graceful shutdown was asked for."""
        return self._shutdown_requested.is_set()

    def request_shutdown(self) -> None:
        """Start the graceful shutdown (what SIGTERM does). Idempotent."""
        self._shutdown_requested.set()

    async def wait_shutdown_requested(self) -> None:
        """Return once a graceful shutdown was asked for."""
        await self._shutdown_requested.wait()


LISTEN_BACKLOG = 2048
"""JupyterHub opens a connection per spawning user; a burst of spawns must queue in the
kernel rather than be reset (hypercorn's default backlog is 100)."""

WEBSOCKET_MAX_INBOUND_MESSAGE = 64 * 1024
"""Bytes of one inbound WebSocket message; a larger one closes the socket with 1009."""


def hypercorn_config(tuning: ServerTuning) -> HypercornConfig:
    """Hypercorn's protocol settings: our timeouts, and our Logger objects (not ``"-"``)."""
    config = HypercornConfig()
    config.keep_alive_timeout = tuning.keep_alive_timeout
    config.graceful_timeout = tuning.graceful_timeout
    # Inbound WebSocket messages are read and discarded (the feeds only send); a client has
    # no reason to send more than a ping's worth.
    config.websocket_max_message_size = WEBSOCKET_MAX_INBOUND_MESSAGE
    # A Logger object is used as given; a string would make hypercorn add its own handler
    # and every line would be logged twice, once outside our format. The access log is
    # ``web.access_log``'s (one line per request).
    config.errorlog = logging.getLogger(ERROR_LOGGER_NAME)
    config.accesslog = None
    return config


@asynccontextmanager
async def _closing_outbound_clients(app: QuartTrio) -> AsyncIterator[None]:
    """Close the app's Gafaelfawr client when serving ends, whichever way it ends.

    It runs after hypercorn has drained the last request. Shielded so that a cancelled serve
    still closes its sockets; bounded so that closing cannot hang the shutdown.
    """
    try:
        yield
    finally:
        deadline = trio.current_time() + CLIENT_CLOSE_TIMEOUT
        with trio.CancelScope(shield=True, deadline=deadline):
            await app_state(app).gafaelfawr.aclose()


async def _run_actor_system(
    system: ActorSystem,
    lifecycle: _Lifecycle,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    try:
        await system.run(task_status=task_status)
    except Exception as error:
        raise ActorSystemFailed("the actor system's root supervisor failed") from error
    finally:
        lifecycle.actors_done.set()
    if not lifecycle.stopping_actors:
        raise ActorSystemFailed("the actor system stopped although nobody stopped it")


async def _serve_http(
    app: ASGIApp,
    config: HypercornConfig,
    listeners: list[trio.SocketListener],
    tuning: ServerTuning,
    lifecycle: _Lifecycle,
    server: RunningServer,
    *,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    try:
        await serve_http(
            app,
            config,
            listeners,
            shutdown_trigger=lifecycle.http_shutdown_trigger.wait,
            write_timeout=tuning.write_timeout,
            task_status=task_status,
        )
    finally:
        lifecycle.http_done.set()
    # Normally after our trigger; if hypercorn ever stops by itself, shut the rest down too.
    server.request_shutdown()


async def _watch_signals(
    signals: Sequence[signal.Signals],
    server: RunningServer,
    stop_everything: trio.CancelScope,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    with trio.open_signal_receiver(*signals) as received:
        task_status.started()
        async for signum in received:
            name = signal.Signals(signum).name
            if not server.shutdown_requested:
                _log.info("Signal received, shutting down gracefully", signal=name)
                server.request_shutdown()
            else:
                _log.warning("Second signal received, stopping immediately", signal=name)
                stop_everything.cancel()


def freeze_import_time_objects() -> None:
    """Exclude everything that exists before serving from the garbage collector's scans.

    By then the process holds about 300,000 objects that live as long as it does (modules,
    the official models' validators and schemas). Every full collection scanned them all
    again; during a burst of spawns those collections cost the controller several
    milliseconds of CPU per spawn (``bench/spawn_storm.py``). Call once, in the process
    entry point, before the event loop starts: objects frozen later could never be
    collected if they became cyclic garbage.
    """
    gc.collect()
    gc.freeze()


async def serve(
    config: ControllerConfig,
    *,
    system: ActorSystem,
    host: str = "127.0.0.1",
    port: int = 0,
    task_status: trio.TaskStatus[RunningServer] = trio.TASK_STATUS_IGNORED,
    app: QuartTrio | None = None,
    tuning: ServerTuning | None = None,
    shutdown_signals: Sequence[signal.Signals] = DEFAULT_SIGNALS,
    ready: Callable[[], Awaitable[None]] | None = None,
    listeners: list[trio.SocketListener] | None = None,
    replicas: ReplicaService | None = None,
    leader: LeaderRoute | None = None,
    forwarding: ForwardingTuning | None = None,
) -> None:
    """Run ``system`` and the HTTP server until a graceful shutdown completes.

    ``app`` defaults to ``create_app(config, system)`` (tests pass one with extra routes; it
    must have been built with the same ``system``). ``shutdown_signals`` are handled only
    while serving (pass ``()`` to leave signals alone, e.g. in tests). ``ready`` is awaited
    after the actors start and before the port opens (startup reconciliation: the controller
    must know every lab before it answers about any). ``listeners`` are sockets the caller
    already bound (the CLI binds before it even connects to Kubernetes); without them
    ``host:port`` is bound first thing, so a port in use raises ``CannotListen`` at once.
    ``replicas`` (leader election) learns the bound address for the lease, and on shutdown
    hands leadership off first (if it leads): then the open streams are not ended but keep
    following the leader until they end or the graceful timeout does.
    ``leader`` makes this replica relay to the leader whatever it does not serve itself
    (``web.forwarding``), with ``forwarding``'s timeouts (by default
    ``ForwardingTuning.for_config(config)``); with leader election on, it defaults to the
    route ``replicas`` keeps.
    Returns normally after a graceful shutdown; raises (an exception group containing
    ``ActorSystemFailed``) when the actor system fails.
    """
    tuning = tuning or ServerTuning.from_config(config.server)
    if listeners is None:
        listeners = await open_listeners(host, port, LISTEN_BACKLOG)
    app = app if app is not None else create_app(config, system)
    if leader is None and replicas is not None and replicas.enabled:
        leader = LeaderViewRoute.of(replicas)
    streams = app_state(app).streams
    lifecycle = _Lifecycle()
    server = RunningServer()

    async with _closing_outbound_clients(app), trio.open_nursery() as nursery:
        if shutdown_signals:
            await nursery.start(_watch_signals, shutdown_signals, server, nursery.cancel_scope)
        await nursery.start(_run_actor_system, system, lifecycle)
        await nursery.start(app_state(app).relays.run)
        if ready is not None:
            _log.info("Waiting for the actors to rebuild their state before serving")
            await ready()
        server.urls = await nursery.start(
            partial(
                _serve_http,
                asgi_stack(app, leader=leader, forwarding=forwarding),
                hypercorn_config(tuning),
                listeners,
                tuning,
                lifecycle,
                server,
            )
        )
        _log.info("Controller serving", urls=server.urls, name=config.name)
        if replicas is not None:
            replicas.set_address(server.base_url, os.environ)
        task_status.started(server)

        await server.wait_shutdown_requested()
        if replicas is not None and replicas.enabled:
            _log.info("Shutting down: handing leadership off")
            await replicas.hand_off()
            # Whatever this replica was, its streams now come from the leader: a leader's
            # follow the lab to its successor (``web.handoff``), a follower's are relayed
            # from the leader (``web.forwarding``). The drain below lets them run until
            # they end or the graceful timeout does, instead of cutting progress streams
            # short in the middle of a rolling upgrade.
            _log.info("Shutting down: relaying open streams", open_streams=streams.open_streams)
        else:
            _log.info("Shutting down: closing streams", open_streams=streams.open_streams)
            await streams.close_all(tuning.stream_close_timeout)
        _log.info("Shutting down: draining HTTP requests")
        lifecycle.http_shutdown_trigger.set()
        await lifecycle.http_done.wait()
        _log.info("Shutting down: stopping the actors")
        lifecycle.stopping_actors = True
        system.stop()
        with trio.move_on_after(tuning.actor_stop_timeout) as waited:
            await lifecycle.actors_done.wait()
        if waited.cancelled_caught:
            _log.warning("Actors did not stop in time, cancelling them")
        nursery.cancel_scope.cancel()
    _log.info("Controller stopped")
