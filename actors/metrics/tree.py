"""Metrics read from the actor tree when Prometheus scrapes, never kept twice.

Mailbox depths, actor counts, lab states, file servers, image refreshes and prepulls are
already known to the actors that own them and published through inspection (which never
waits for an actor). Reading them at scrape time keeps the actors free of metrics code and
the numbers exactly as current as the admin inspection routes show them.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from actors.common.models import LabStatus
from actors.runtime import ActorRef, ActorSystem

__all__ = ["ActorTreeCollector", "epoch_of"]


def epoch_of(value: Any) -> float | None:
    """A timestamp from inspection details (a datetime or ISO text) as epoch seconds."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return None
    return None


def _details(system: ActorSystem, name: str) -> Mapping[str, Any] | None:
    snapshot = system.find(name)
    return snapshot.details if snapshot is not None else None


def _number(details: Mapping[str, Any] | None, key: str) -> float | None:
    value = details.get(key) if details is not None else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class ActorTreeCollector(Collector):
    """Collects from one actor system at each scrape."""

    def __init__(self, system: ActorSystem) -> None:
        self.system = system

    def collect(self) -> Iterator[Metric]:
        yield from self._actors()
        yield from self._labs()
        yield from self._images()

    def _actors(self) -> Iterator[Metric]:
        system = self.system
        depth = GaugeMetricFamily(
            "nublado_actor_mailbox_depth",
            "Messages waiting in actor mailboxes, summed by actor kind",
            labels=["kind"],
        )
        deepest = GaugeMetricFamily(
            "nublado_actor_mailbox_depth_max",
            "The fullest mailbox among the actors of each kind",
            labels=["kind"],
        )
        actors = GaugeMetricFamily(
            "nublado_actors",
            "Live actors and supervisors by kind and status",
            labels=["kind", "status"],
        )
        totals: Counter[str] = Counter()
        maxima: dict[str, int] = {}
        statuses: Counter[tuple[str, str]] = Counter()
        for node in system.nodes():
            statuses[(node.kind, node.status.value)] += 1
            if isinstance(node, ActorRef):
                mailbox = node.mailbox_depth
                totals[node.kind] += mailbox
                maxima[node.kind] = max(maxima.get(node.kind, 0), mailbox)
        for kind in sorted(maxima):
            depth.add_metric([kind], totals[kind])
            deepest.add_metric([kind], maxima[kind])
        for (kind, status), count in sorted(statuses.items()):
            actors.add_metric([kind, status], count)
        restarts = CounterMetricFamily(
            "nublado_actor_restarts",
            "Actor and supervisor restarts after a crash, by kind",
            labels=["kind"],
        )
        for kind, count in sorted(system.restarts_by_kind.items()):
            restarts.add_metric([kind], count)
        given_up = CounterMetricFamily(
            "nublado_actor_given_up",
            "Actors given up by their supervisor after too many restarts, by kind",
            labels=["kind"],
        )
        for kind, count in sorted(system.given_up_by_kind.items()):
            given_up.add_metric([kind], count)
        yield from (depth, deepest, actors, restarts, given_up)

    def _labs(self) -> Iterator[Metric]:
        labs = GaugeMetricFamily(
            "nublado_labs", "Labs the controller knows, by status", labels=["status"]
        )
        manager = _details(self.system, "lab-manager")
        by_status = manager.get("by_status", {}) if manager is not None else {}
        for status in LabStatus:
            labs.add_metric([status.value], by_status.get(status.value, 0))
        yield labs
        fileservers = GaugeMetricFamily(
            "nublado_fileservers_running", "Per-user file servers currently running"
        )
        running = _number(_details(self.system, "fileserver-manager"), "running")
        fileservers.add_metric([], running or 0.0)
        yield fileservers
        age = GaugeMetricFamily(
            "nublado_reconcile_age_seconds",
            "Seconds since the last successful reconciliation pass, by service",
            labels=["service"],
        )
        now = time.time()
        for service, name in (("labs", "lab-manager"), ("fileservers", "fileserver-manager")):
            details = _details(self.system, name)
            at = epoch_of(details.get("last_pass_at")) if details is not None else None
            if at is not None:
                age.add_metric([service], max(0.0, now - at))
        yield age

    def _images(self) -> Iterator[Metric]:
        images = _details(self.system, "images")
        prepuller = _details(self.system, "prepuller")
        duration = GaugeMetricFamily(
            "nublado_image_refresh_duration_seconds",
            "How long the last refresh of the image catalog took (successful or not)",
        )
        age = GaugeMetricFamily(
            "nublado_image_refresh_age_seconds",
            "Seconds since the image catalog was last refreshed successfully",
        )
        refreshes = CounterMetricFamily(
            "nublado_image_refreshes",
            "Image catalog refreshes by result, since the image actor last started",
            labels=["result"],
        )
        seconds = _number(images, "last_refresh_seconds")
        if seconds is not None:
            duration.add_metric([], seconds)
        last = epoch_of(images.get("last_success")) if images is not None else None
        if last is not None:
            age.add_metric([], max(0.0, time.time() - last))
        refreshes.add_metric(["success"], _number(images, "refreshes") or 0.0)
        refreshes.add_metric(["failure"], _number(images, "failures") or 0.0)
        missing = GaugeMetricFamily(
            "nublado_prepull_missing",
            "Images of the prepull set still missing, counted once per eligible node",
        )
        missing.add_metric([], _number(images, "prepull_missing") or 0.0)
        pulling = GaugeMetricFamily(
            "nublado_prepull_in_progress", "Prepull pods running now (one per node at most)"
        )
        current = prepuller.get("pulling") if prepuller is not None else None
        pulling.add_metric([], float(len(current)) if isinstance(current, Mapping) else 0.0)
        pulls = CounterMetricFamily(
            "nublado_prepull_pulls",
            "Prepulls finished by result, since the prepuller last started",
            labels=["result"],
        )
        failed = _number(prepuller, "failed_pulls") or 0.0
        pulls.add_metric(["success"], max(0.0, (_number(prepuller, "pulls") or 0.0) - failed))
        pulls.add_metric(["failure"], failed)
        yield from (duration, age, refreshes, missing, pulling, pulls)
