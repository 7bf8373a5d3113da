"""Messages a ``fileserver/<user>`` actor understands; routes reach it only through these."""

from __future__ import annotations

from dataclasses import dataclass

from actors.common.models import UserInfo
from actors.common.operation import Operation
from actors.runtime import Request

from .cluster import FileserverObservation


@dataclass(frozen=True)
class Ensure(Request[Operation]):
    """Make the user's file server run; the reply is the creation to wait for.

    A running server answers with an operation that is already done; a creation in
    progress is joined, which is how concurrent requests of one user create one server.
    Refused with ``PermissionDeniedError`` for a user without UID or GID.
    """

    user: UserInfo


@dataclass(frozen=True)
class IsRunning(Request[bool]):
    """Whether the file server is running (from memory)."""


@dataclass(frozen=True)
class Remove(Request[Operation]):
    """Delete the file server; the reply is the deletion to wait for.

    Refused with ``UnknownUserError`` when nothing is running or being created.
    """


@dataclass(frozen=True)
class Observe(Request[None]):
    """What reconciliation saw for this user, for the actor to apply."""

    observation: FileserverObservation


@dataclass(frozen=True)
class PodsChanged:
    """The server's pods changed in the shared informer (a ``tell`` from its feed); the actor
    reads its view when it handles this, so only the actor touches its state."""


@dataclass(frozen=True)
class IngressChanged:
    """The server's Ingress changed in the shared informer (as :class:`PodsChanged`)."""
