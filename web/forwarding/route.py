"""What the forwarder needs to know about leadership, and its timeouts.

The forwarder does not elect anybody: it asks a ``LeaderRoute`` (implemented beside the
Lease actor) whether this replica serves a request itself and, if not, where the leader is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from actors.config import ControllerConfig, FileserverEnabled
from web.replica_headers import FORWARDED_BY_HEADER

__all__ = ["FORWARDED_BY_HEADER", "SERVE_HERE", "ForwardingTuning", "LeaderRoute"]


SERVE_HERE = ""
"""What ``LeaderRoute.leader_url`` returns when, by the end of its wait, this replica serves
requests itself (it was elected while the request waited)."""


class LeaderRoute(Protocol):
    """Where requests go: this replica or the leader."""

    @property
    def identity(self) -> str:
        """This replica's name (the Lease holder identity), sent in the forwarded-by header."""
        ...

    def serves_locally(self) -> bool:
        """True when this replica leads and is ready to answer requests itself."""
        ...

    async def leader_url(self) -> str | None:
        """Base URL (``http://host:port``) of the leader's HTTP server.

        While no leader is known it waits, bounded by the implementation's own timeout, and
        returns ``None`` if none became known within it, or :data:`SERVE_HERE` if this
        replica became the one that serves.
        """
        ...


@dataclass(frozen=True)
class ForwardingTuning:
    """Timeouts and bounds of the relay to the leader (seconds, bytes)."""

    connect_timeout: float = 5.0
    """One TCP connect (and, for WebSockets, the opening handshake) to the leader."""

    connect_retry_window: float = 5.0
    """A leader that refuses connections is retried (asking the route again each time, since
    a hand-off changes the leader) for this long before the client gets a 503. Retrying is
    safe: nothing of the request has reached anybody yet."""

    response_timeout: float = 120.0
    """Longest wait for the leader's response head, and longest silence inside an ordinary
    (non-stream) response body. Must exceed the slowest route: a lab deletion waits up to
    ``lab.deleteTimeout`` before it answers (see :meth:`for_config`)."""

    stream_idle_timeout: float = 60.0
    """Longest silence inside an event stream. The leader sends a keep-alive comment every
    15 s, so silence this long means the leader (or the path to it) is gone."""

    write_timeout: float = 30.0
    """One write of the request body to the leader."""

    pool_timeout: float = 5.0
    """Wait for a free upstream connection when all ``max_connections`` are in use."""

    max_connections: int = 4096
    """Open connections to the leader at most (each event stream holds one)."""

    max_websocket_message: int = 16 * 1024 * 1024
    """Largest WebSocket message relayed from the leader (the actor tree of 3,000 labs is
    about 1.5 MB); a larger one closes both sockets with 1009."""

    close_timeout: float = 5.0
    """Closing handshakes and the final send may take this long."""

    @classmethod
    def for_config(cls, config: ControllerConfig) -> ForwardingTuning:
        """The tuning for ``config``: the response timeout outlasts the slowest route."""
        waits = [config.lab.delete_timeout, config.fsadmin.timeout]
        if isinstance(config.fileserver, FileserverEnabled):
            waits.append(config.fileserver.delete_timeout)
        slowest = max(wait.total_seconds() for wait in waits)
        return cls(response_timeout=max(cls.response_timeout, slowest + 30.0))
