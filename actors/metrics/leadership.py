"""Leadership among replicas, read from the replica's view at each scrape.

Every replica serves its own ``/metrics`` (that path is never forwarded), so each tells
what it sees: whether it leads, since when, how many terms it began, and how many times it
saw the lease change hands. ``sum(nublado_leader)`` over the replicas is 1 in a healthy
deployment; a rate of ``nublado_leader_changes_total`` above the rate of upgrades is
flapping worth an alert.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from actors.replicas.view import LeaderView

__all__ = ["LeadershipCollector"]


class LeadershipCollector(Collector):
    """Collects from one replica's :class:`LeaderView`."""

    def __init__(self, view: LeaderView) -> None:
        self.view = view

    def collect(self) -> Iterator[Metric]:
        view = self.view
        term = view.terms.current
        leading = term is not None and term.valid
        yield GaugeMetricFamily(
            "nublado_leader",
            "1 while this replica leads (holds the lease), else 0",
            value=int(leading),
        )
        since = GaugeMetricFamily(
            "nublado_leader_since_seconds",
            "When this replica's current term began (Unix time); absent unless it leads",
        )
        if leading and term is not None:
            since.add_metric([], term.started_at)
        yield since
        yield CounterMetricFamily(
            "nublado_leadership_terms",
            "Terms of leadership this replica began (acquisitions of the lease)",
            value=view.terms.transitions,
        )
        yield CounterMetricFamily(
            "nublado_leader_changes",
            "Times this replica saw the lease pass to a new holder (any replica)",
            value=view.leader_changes,
        )
