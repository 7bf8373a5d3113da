"""Messages a lab actor understands; the web layer reaches a lab only through these."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from actors.common.models import LabState, SpawnRequest
from actors.common.operation import Operation
from actors.labs.events import LabEvent
from actors.runtime import Request, Subscription


@dataclass(frozen=True)
class GetState(Request[LabState | None]):
    """The lab state as the actor knows it; never consults Kubernetes (``api.md`` §6.3)."""


@dataclass(frozen=True)
class Create(Request[None]):
    """Steps 7 to 10 of ``api.md`` §5.3.3: probe, conflict checks, and start the spawn.

    Refused with ``OperationConflictError`` or ``LabExistsError``; the caller has already
    authenticated the user and resolved the image and size.
    """

    spawn: SpawnRequest


@dataclass(frozen=True)
class Delete(Request[Operation]):
    """Start (or join) the deletion of the lab; the reply is the operation to wait for."""


@dataclass(frozen=True)
class PodEventMessage:
    """The relay of pod events saw a Kubernetes Event about the lab pod: its message."""

    message: str


@dataclass(frozen=True)
class PodChanged:
    """The shared pod informer saw the lab pod change: read the pod view."""


@dataclass(frozen=True)
class Subscribe(Request[Subscription[LabEvent]]):
    """The events of the current (or last) operation, replayed, then live, then the end."""


class ObservedKind(StrEnum):
    ABSENT = "absent"
    """No lab namespace for the user."""
    INCOMPLETE = "incomplete"
    """A lab namespace that lacks the objects a lab needs (a half-done spawn, debris)."""
    COMPLETE = "complete"


@dataclass(frozen=True)
class Observation:
    """What one reconciliation pass saw in Kubernetes for one user.

    ``pass_started`` (Trio clock) lets the actor ignore an observation older than its own
    latest change, so a reconcile never undoes a spawn or delete that raced with it.
    """

    kind: ObservedKind
    pass_started: float
    state: LabState | None = None


@dataclass(frozen=True)
class Observe(Request[None]):
    """Reconciliation's view of this user, to be applied by the actor (``api.md`` §6.4)."""

    observation: Observation
