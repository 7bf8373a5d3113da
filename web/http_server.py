"""The HTTP server loop: hypercorn's HTTP/1.1 and WebSocket protocol code, run by us.

``hypercorn.trio.serve`` runs every connection in one nursery shared with the accept loop,
so an exception escaping one connection (hypercorn 0.18 raises ``LocalProtocolError`` for a
WebSocket upgrade followed by a pipelined request) cancels the server and ends the process.
It also shields every socket write from cancellation, so a client that stops reading holds
its connection task, and with it the graceful shutdown, for as long as it keeps the socket
open. This module keeps hypercorn's protocol classes and changes what runs around them:

* **Bind first.** ``open_listeners`` binds before anything else starts (actor system,
  reconciliation, image refresh), so a port in use is one line at start-up
  (:class:`CannotListen`), not a failure minutes later.
* **Guarded connections.** Each connection runs in its own guard: whatever it raises is
  logged in one line with its cause and ends that connection only.
* **Connections end with the client.** A connection the client closed is released at once,
  not after the keep-alive timer; and only HTTP/1.1 is spoken (see :class:`_HTTP1Only`).
* **Bounded writes.** Each connection's stream is a :class:`BoundedWriteStream`: a write may
  make no progress for at most ``write_timeout`` seconds (hypercorn's shield does not stop a
  deadline set inside it); then the connection is aborted (TCP reset) and hypercorn sees a
  broken pipe.
  When the graceful shutdown's time is up, every write still blocked is aborted at once, so
  shutdown ends within its bounds whatever clients do.

Invariants: no task outlives ``serve_http``; the listeners are closed when it returns; after
the shutdown trigger no new connection is accepted, idle keep-alive connections close at
once and open requests get ``graceful_timeout`` seconds.
"""

from __future__ import annotations

import errno
import socket
import struct
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from typing import Any, cast

import h11
import structlog
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.protocol import ProtocolWrapper
from hypercorn.protocol.h11 import H11Protocol
from hypercorn.trio.lifespan import Lifespan
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState
from hypercorn.utils import wrap_app

from actors.runtime import describe_error
from web.asgi import ASGIApp

__all__ = [
    "BoundedWriteStream",
    "CannotListen",
    "WriteAborts",
    "listener_urls",
    "open_listeners",
    "serve_http",
]

_log = structlog.stdlib.get_logger(__name__)


class CannotListen(Exception):
    """The server could not bind its address; the message is one line for the operator."""


def _describe_bind_error(host: str, port: int, error: OSError) -> str:
    reason = error.strerror or str(error)
    if error.errno == errno.EADDRINUSE:
        reason = "the address is already in use (is another controller running?)"
    elif error.errno == errno.EACCES:
        reason = "permission denied (ports below 1024 need privileges)"
    return f"cannot listen on {host}:{port}: {reason}"


async def open_listeners(host: str, port: int, backlog: int) -> list[trio.SocketListener]:
    """Bind ``host:port`` now and return the listening sockets (``port`` 0 picks a free one).

    Raises :class:`CannotListen` with a one-line reason when the address cannot be bound.
    """
    try:
        listeners = await trio.open_tcp_listeners(port, host=host, backlog=backlog)
    except OSError as error:
        raise CannotListen(_describe_bind_error(host, port, error)) from None
    for listener in listeners:
        # Small responses go out at once (hypercorn sets this on the sockets it creates).
        listener.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return listeners


def listener_urls(listeners: list[trio.SocketListener]) -> list[str]:
    """``http://host:port`` for each bound socket (IPv6 hosts in brackets)."""
    urls = []
    for listener in listeners:
        host, port = listener.socket.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        urls.append(f"http://{shown}:{port}")
    return urls


class WriteAborts:
    """The blocked writes of every connection, so a shutdown can abort them all at once."""

    def __init__(self) -> None:
        self._scopes: set[trio.CancelScope] = set()
        self._aborting = False

    @contextmanager
    def bounded(self, timeout: float) -> Iterator[trio.CancelScope]:
        """A cancel scope for one write, first due in ``timeout``; ``abort_all`` cancels it."""
        scope = trio.CancelScope(deadline=trio.current_time() + timeout)
        if self._aborting:
            scope.cancel()
        self._scopes.add(scope)
        try:
            with scope:
                yield scope
        finally:
            self._scopes.discard(scope)

    def abort_all(self) -> None:
        """Cancel every write in progress and every later one."""
        self._aborting = True
        for scope in self._scopes:
            scope.cancel()


WRITE_SLICE = 64 * 1024
"""Bytes written under one deadline: a client must accept this much per ``write_timeout``."""


class BoundedWriteStream(trio.abc.HalfCloseableStream):
    """A plain TCP stream whose writes give up after ``write_timeout`` seconds without progress.

    A write that gives up resets the connection (``SO_LINGER`` 0, then close): the bytes a
    stuck client has not read are worthless, and a reset frees the socket at once instead of
    leaving it in ``FIN_WAIT`` with a full buffer. The caller then gets
    ``trio.BrokenResourceError``, which hypercorn treats as the client having gone.

    It deliberately has no ``do_handshake`` attribute: hypercorn tells plain streams from TLS
    streams by that ``AttributeError``, and reads ``.socket`` from plain ones.
    """

    def __init__(self, inner: trio.SocketStream, write_timeout: float, aborts: WriteAborts) -> None:
        self._inner = inner
        self._write_timeout = write_timeout
        self._aborts = aborts
        self.aborted = False

    @property
    def socket(self) -> trio.socket.SocketType:
        return self._inner.socket

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self.aborted:
            await trio.lowlevel.checkpoint()  # a Trio send always checkpoints, even failing
            raise trio.BrokenResourceError("connection aborted: the client stopped reading")
        view = memoryview(data)
        with self._aborts.bounded(self._write_timeout) as scope:
            # The bound is on progress, not on the whole write: a large response to a slow
            # but reading client may take long; each slice renews the deadline.
            for start in range(0, max(len(view), 1), WRITE_SLICE):
                scope.deadline = trio.current_time() + self._write_timeout
                await self._inner.send_all(view[start : start + WRITE_SLICE])
        if scope.cancelled_caught:
            await self._abort()
            raise trio.BrokenResourceError("connection aborted: the client stopped reading")

    async def _abort(self) -> None:
        self.aborted = True
        _log.warning(
            "Client stopped reading, connection reset",
            write_timeout=self._write_timeout,
        )
        # OSError: the peer already closed it; closing below is all that is left.
        with suppress(OSError):
            self._inner.socket.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
        await trio.aclose_forcefully(self._inner)

    async def wait_send_all_might_not_block(self) -> None:
        await self._inner.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        await self._inner.send_eof()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self._inner.receive_some(max_bytes)

    async def aclose(self) -> None:
        await self._inner.aclose()


class _HTTP1Only(H11Protocol):
    """Hypercorn's HTTP/1.1 protocol without its switch to HTTP/2.

    Nothing the controller serves needs HTTP/2 (JupyterHub and ingresses speak HTTP/1.1),
    and HTTP/2 escapes the bounds this module puts on HTTP/1.1: a client that grants no
    flow-control window blocks a response above the socket, where no write bound sees it.
    So the prior-knowledge preface (``PRI * HTTP/2.0``) is refused by the HTTP/1.1 parser
    and ``Upgrade: h2c`` is ignored.
    """

    async def _check_protocol(self, event: h11.Request) -> None:
        if event.http_version not in (b"1.0", b"1.1"):
            # The HTTP/2 preface parses as a request of version 2.0: answer it in HTTP/1.1 and
            # end the connection before anything else of it is read.
            await self._send_error_response(505)
            raise _RefusedVersion(event.http_version.decode("ascii", "replace"))


class _RefusedVersion(Exception):
    """A client asked for an HTTP version other than 1.x; it was answered 505 and let go."""


def _refused_version(error: BaseException) -> str | None:
    """The version a connection was refused for, if that is how it ended."""
    if isinstance(error, BaseExceptionGroup):
        matched, rest = error.split(_RefusedVersion)
        if matched is None or rest is not None:
            return None
        error = matched
        while isinstance(error, BaseExceptionGroup):
            error = error.exceptions[0]
    return str(error) if isinstance(error, _RefusedVersion) else None


class _Connection(TCPServer):
    """Hypercorn's connection, released as soon as the client has closed its side.

    Hypercorn's keeps waiting for its keep-alive timer after the client's end of stream, so
    every closed connection held a socket and a task for ``keepAliveTimeout`` (75 s): a
    client that connects and closes a few hundred times a second could exhaust the process's
    file descriptors. Here the timer stops when reading stops; a request in flight still
    finishes.
    """

    @property
    def protocol(self) -> ProtocolWrapper:
        return self._protocol

    @protocol.setter
    def protocol(self, wrapper: ProtocolWrapper) -> None:
        if type(wrapper.protocol) is H11Protocol:
            wrapper.protocol.__class__ = _HTTP1Only
        self._protocol = wrapper

    async def _read_data(self) -> None:
        await super()._read_data()
        await self.idle_task.stop()


def _peer(stream: trio.SocketStream) -> str:
    try:
        host, port = stream.socket.getpeername()[:2]
    except OSError:
        return "unknown"
    return f"{host}:{port}"


async def serve_http(
    app: ASGIApp,
    config: HypercornConfig,
    listeners: list[trio.SocketListener],
    *,
    shutdown_trigger: Callable[[], Awaitable[None]],
    write_timeout: float,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``listeners`` until ``shutdown_trigger`` returns and requests drain.

    Reports the bound URLs with ``task_status``. The ASGI lifespan (quart-trio's startup and
    shutdown) wraps the whole run, as hypercorn's own worker does.
    """
    wrapped = wrap_app(cast(Any, app), config.wsgi_max_body_size, "asgi")
    lifespan_state: dict[str, Any] = {}
    lifespan = Lifespan(wrapped, config, lifespan_state)
    context = WorkerContext(None)
    aborts = WriteAborts()
    open_connections = _OpenCount()

    async def connection(stream: trio.SocketStream) -> None:
        peer = _peer(stream)
        bounded = BoundedWriteStream(stream, write_timeout, aborts)
        open_connections.add()
        try:
            await _Connection(
                wrapped, config, context, ConnectionState(lifespan_state.copy()), cast(Any, bounded)
            )
        except Exception as error:
            refused = _refused_version(error)
            if refused is not None:
                _log.info(
                    "HTTP version not spoken, connection closed", client=peer, version=refused
                )
            else:
                # One connection's failure is that connection's alone.
                _log.warning(
                    "Connection failed, closed it", client=peer, error=describe_error(error)
                )
        finally:
            open_connections.remove()
            await trio.aclose_forcefully(stream)

    async with trio.open_nursery() as lifespan_nursery:
        await lifespan_nursery.start(lifespan.handle_lifespan)
        await lifespan.wait_for_startup()
        async with trio.open_nursery() as connections:
            async with trio.open_nursery() as accepting:
                serve = partial(trio.serve_listeners, handler_nursery=connections)
                accepting.start_soon(serve, connection, listeners)
                task_status.started(listener_urls(listeners))
                await shutdown_trigger()
                accepting.cancel_scope.cancel()
            # Idle keep-alive connections close now; requests in flight get the grace period.
            await context.terminated.set()
            with trio.move_on_after(config.graceful_timeout):
                await open_connections.wait_zero()
            aborts.abort_all()
            connections.cancel_scope.cancel()
        await lifespan.wait_for_shutdown()
        lifespan_nursery.cancel_scope.cancel()


class _OpenCount:
    """How many connections are open, and a way to wait until none is."""

    def __init__(self) -> None:
        self._count = 0
        self._zero = trio.Event()
        self._zero.set()

    def add(self) -> None:
        if self._count == 0:
            self._zero = trio.Event()
        self._count += 1

    def remove(self) -> None:
        self._count -= 1
        if self._count == 0:
            self._zero.set()

    async def wait_zero(self) -> None:
        await self._zero.wait()
