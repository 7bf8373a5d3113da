"""What a lab actor reports about its spawns to whoever measures them (metrics).

Kept apart from the actor so that the lab state machine needs no metrics library: it calls
these methods at the moments that matter, and the default observer ignores them. ``key``
identifies one lab (its namespace); observers must never turn it into a metric label.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["NO_SPAWN_OBSERVER", "SpawnObserver", "SpawnResult"]


class SpawnResult:
    """The ``result`` values a spawn ends with (a refused create never starts one)."""

    SUCCESS = "success"
    FAILURE = "failure"
    CANCELLED = "cancelled"


class SpawnObserver(Protocol):
    def spawn_started(self, key: str) -> None:
        """A spawn began (its namespace is about to be created)."""

    def spawn_milestone(self, key: str, milestone: str) -> None:
        """The spawn reached ``milestone`` (``objects_created``, ``pod_scheduled``,
        ``image_pulled``)."""

    def spawn_finished(self, key: str, result: str, reason: str) -> None:
        """The spawn ended: ``result`` from :class:`SpawnResult`, ``reason`` from a small
        fixed set (``complete``, ``timeout``, ``error``, ``pod_failed`` ...)."""


class _Ignore:
    def spawn_started(self, key: str) -> None:
        pass

    def spawn_milestone(self, key: str, milestone: str) -> None:
        pass

    def spawn_finished(self, key: str, result: str, reason: str) -> None:
        pass


NO_SPAWN_OBSERVER: SpawnObserver = _Ignore()
