"""A small actor runtime on Trio: the only concurrency primitive the controller's services use.

* :class:`Actor` — behaviour: private state, one message at a time, fresh state per restart.
* :class:`ActorRef` — the stable handle: ``tell``, ``ask(msg, timeout=...)``, ``snapshot()``.
* :class:`Supervisor` — restarts children by :class:`RestartPolicy` within
  :class:`RestartLimits`, escalating to its parent when crashes pile up.
* :class:`Registry` — per-key actors created exactly once on demand, retired when idle.
* :class:`EventStream` — progress fan-out with replay and slow-subscriber dropping.
* :class:`ActorSystem` — the root of the tree, name lookup and change notification.
"""

from actors.runtime.actor import Actor, ActorContext, Request, UnknownMessage
from actors.runtime.errors import (
    ActorCrashed,
    ActorRuntimeError,
    ActorStopped,
    AskTimeout,
    DomainError,
    MailboxFull,
    SupervisorEscalation,
)
from actors.runtime.events import EventStream, Subscription, SubscriptionDropped
from actors.runtime.ref import ActorRef
from actors.runtime.registry import Registry
from actors.runtime.snapshot import ActorSnapshot, ActorStatus, describe_error
from actors.runtime.supervisor import RestartLimits, RestartPolicy, Supervisor
from actors.runtime.system import ActorSystem, RootSupervisorFailed

__all__ = [
    "Actor",
    "ActorContext",
    "ActorCrashed",
    "ActorRef",
    "ActorRuntimeError",
    "ActorSnapshot",
    "ActorStatus",
    "ActorStopped",
    "ActorSystem",
    "AskTimeout",
    "DomainError",
    "EventStream",
    "MailboxFull",
    "Registry",
    "Request",
    "RestartLimits",
    "RestartPolicy",
    "RootSupervisorFailed",
    "Subscription",
    "SubscriptionDropped",
    "Supervisor",
    "SupervisorEscalation",
    "UnknownMessage",
    "describe_error",
]
