"""One supervised actor per key, a directory beside them: the skeleton of every per-user service.

Labs (one actor per user), file servers (one per user) and migrations (one per pair of
users) are built alike: a supervisor of members started on demand through a registry, a
directory actor (the *manager*) that knows them all and reconciles them with Kubernetes, and
the shared watchers they read (informers, a relay), all under one service supervisor. What
differs is in the services themselves: the lab's event streams, the file server's idle
retirement, a migration's pair of names.

A member may be started with what reconciliation already observed of it (``initial``), so
that it does not read Kubernetes again: the family keeps that observation until the
member's factory takes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

import structlog

from actors.runtime import (
    Actor,
    ActorRef,
    ActorStopped,
    MailboxFull,
    Registry,
    RestartLimits,
    RestartPolicy,
    Supervisor,
    describe_error,
)
from actors.runtime.node import Node

__all__ = ["ActorFamily", "tell_directory"]

log = structlog.get_logger(__name__)

Observed = TypeVar("Observed")


class ActorFamily(Generic[Observed]):
    """Members (one actor per key, transient) and the supervisor that runs them with the
    service's directory and shared watchers."""

    def __init__(
        self,
        *,
        members: str,
        kind: str,
        limits: RestartLimits,
        make_member: Callable[[str, Observed | None], Actor],
        on_member_exit: Callable[[str, Node], None] | None = None,
    ) -> None:
        """``members``: the name of the members' supervisor; ``kind``: the registry prefix
        (members are ``<kind>/<key>`` in the tree); ``make_member(key, initial)``: a new
        behaviour for ``key``, given what was observed of it if anything."""
        self._make_member = make_member
        self._initial: dict[str, Observed] = {}
        self.members = Supervisor(members, limits=limits)
        self.registry = Registry(
            self.members,
            kind,
            self._make,
            policy=RestartPolicy.TRANSIENT,
            on_exit=on_member_exit,
        )

    def assemble(self, name: str, manager: ActorRef, shared: Iterable[Node] = ()) -> Supervisor:
        """The service supervisor: the shared watchers first (the directory's first pass
        reads them), then the directory, then the members; all permanent.

        The directory and the members write to the cluster, so they run only while this
        replica leads (``Node.leader_only``); the watchers run always, so that a replica
        that becomes leader starts from warm indexes.
        """
        manager.leader_only = True
        self.members.leader_only = True
        return Supervisor(
            name,
            [
                *((node, RestartPolicy.PERMANENT) for node in shared),
                (manager, RestartPolicy.PERMANENT),
                (self.members, RestartPolicy.PERMANENT),
            ],
        )

    def prime(self, key: str, observation: Observed) -> None:
        """Give the next member started for ``key`` this observation instead of none."""
        self._initial[key] = observation

    def start_observed(self, key: str, observation: Observed) -> ActorRef:
        """The member for ``key``, started now (if none runs) from ``observation``."""
        self._initial[key] = observation
        return self.registry.get_or_start(key)

    def _make(self, key: str) -> Actor:
        return self._make_member(key, self._initial.pop(key, None))


def tell_directory(manager: ActorRef, message: object, what: str) -> None:
    """Tell a service's directory something; if it cannot take it, log that ``what`` missed
    an update (the next reconciliation repairs the directory)."""
    try:
        manager.tell(message)
    except (MailboxFull, ActorStopped) as error:
        log.error(f"{what} missed an update", error=describe_error(error))
