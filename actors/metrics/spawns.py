"""Spawn durations, their milestones and outcomes.

A spawn is timed from its start (the lab actor begins creating objects) to ``complete`` (the
pod runs). Milestones come from two places: the lab actor says when its Kubernetes objects
exist; the Events of the lab's pod, which the controller already follows to show progress,
say when the pod was scheduled (``Scheduled``) and when its images were pulled (``Pulled``;
the last one counts, since init containers pull first). Each milestone is reported as the
time from the start of the spawn, so the phase histogram reads as a cumulative breakdown.

Only successful spawns feed the histograms; every ending is counted by result and reason.
Refusals (quota, conflicts) never start a spawn: the create route counts them with result
``refused`` so that they are not mistaken for failures.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram

from actors.labs.observer import SpawnResult

from .buckets import SPAWN_BUCKETS

__all__ = ["PHASES", "SpawnMetrics"]

PHASES = ("objects_created", "pod_scheduled", "image_pulled", "running")
"""The milestones of a spawn, in the order they normally happen."""

_BY_REASON = {"Scheduled": "pod_scheduled", "Pulled": "image_pulled"}
"""Kubernetes Event reasons that mark a milestone."""

_KEEP_LATEST = frozenset({"image_pulled"})
"""Milestones reached several times (one pull per image): the last one counts."""

MAX_OPEN_SPAWNS = 20_000
"""Spawns tracked at once; past it the oldest is forgotten (a spawn whose actor died
mid-way never reports its end)."""

REFUSED = "refused"

_KNOWN_OUTCOMES = (
    (SpawnResult.SUCCESS, "complete"),
    (SpawnResult.FAILURE, "error"),
    (SpawnResult.FAILURE, "timeout"),
    (SpawnResult.FAILURE, "pod_failed"),
    (SpawnResult.CANCELLED, "cancelled"),
    (REFUSED, "insufficient_quota"),
)
"""Outcomes shown at zero before they first happen, so dashboards and alerts see them."""


@dataclass
class _Spawn:
    started: float
    reached: dict[str, float] = field(default_factory=dict)


class SpawnMetrics:
    """The ``SpawnObserver`` of the lab actors, and the sink of their pods' Event reasons."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.duration = Histogram(
            "nublado_spawn_duration_seconds",
            "Successful spawns, from the start of the spawn to its complete event",
            buckets=SPAWN_BUCKETS,
            registry=registry,
        )
        self.phases = Histogram(
            "nublado_spawn_phase_seconds",
            "Successful spawns: seconds from the start of the spawn until each milestone"
            " (objects_created, pod_scheduled, image_pulled, running)",
            ["phase"],
            buckets=SPAWN_BUCKETS,
            registry=registry,
        )
        self.outcomes = Counter(
            "nublado_spawns",
            "Spawn requests by result (success, failure, cancelled, refused) and reason",
            ["result", "reason"],
            registry=registry,
        )
        for phase in PHASES:
            self.phases.labels(phase)
        for result, reason in _KNOWN_OUTCOMES:
            self.outcomes.labels(result, reason)
        self._open: dict[str, _Spawn] = {}

    def spawn_started(self, key: str) -> None:
        self._open.pop(key, None)
        if len(self._open) >= MAX_OPEN_SPAWNS:
            del self._open[next(iter(self._open))]
        self._open[key] = _Spawn(time.monotonic())

    def spawn_milestone(self, key: str, milestone: str) -> None:
        spawn = self._open.get(key)
        if spawn is not None and (milestone in _KEEP_LATEST or milestone not in spawn.reached):
            spawn.reached[milestone] = time.monotonic()

    def pod_event(self, pod: tuple[str, str], reason: str) -> None:
        """An Event about a followed lab pod (its namespace is the spawn's key)."""
        milestone = _BY_REASON.get(reason)
        if milestone is not None:
            self.spawn_milestone(pod[0], milestone)

    def spawn_finished(self, key: str, result: str, reason: str) -> None:
        spawn = self._open.pop(key, None)
        self.outcomes.labels(result, reason).inc()
        if spawn is None or result != SpawnResult.SUCCESS:
            return
        total = time.monotonic() - spawn.started
        self.duration.observe(total)
        for milestone, at in spawn.reached.items():
            self.phases.labels(milestone).observe(at - spawn.started)
        self.phases.labels("running").observe(total)

    def refused(self, reason: str, *, server_error: bool = False) -> None:
        """A create that started no spawn; ``reason`` is the error's type. A refusal on the
        controller's side (``server_error``) is a failure, the client's (quota, conflict,
        bad image) a refusal."""
        self.outcomes.labels(SpawnResult.FAILURE if server_error else REFUSED, reason).inc()
