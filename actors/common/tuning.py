"""The actor system's own timeouts and limits, in one object the services are given.

These are not configuration: an operator has no reason to change them, and the values are
chosen together (a per-user actor's restart limits decide when its lab manager revives it).
Before, each service defined its own copy (the ask timeout five times, the per-user restart
limits three); now a service receives one :class:`Tuning`, and a test can give it another.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from actors.runtime import RestartLimits

__all__ = ["DEFAULT_TUNING", "Tuning"]


def _per_user_limits() -> RestartLimits:
    return RestartLimits(
        max_restarts=5, window=60.0, backoff_initial=0.5, backoff_max=10.0, escalate=False
    )


@dataclass(frozen=True)
class Tuning:
    """Timeouts and limits shared by the services."""

    ask_timeout: float = 10.0
    """Replies that need no Kubernetes call come back at once; this only guards a stuck actor."""

    per_user_limits: RestartLimits = field(default_factory=_per_user_limits)
    """How often a per-user actor (lab, file server, migration) may crash before its supervisor
    gives up on it (and does not escalate: one user's trouble is not the service's)."""

    directory_mailbox: int = 100_000
    """Mailbox of a service's directory actor: every per-user state change is reported to it,
    so it must never refuse one."""


DEFAULT_TUNING = Tuning()
"""What ``open_controller`` gives every service."""
