"""One controller's metrics: its own registry, the observers the actors report to, and the
collectors that read the actor tree at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from actors.config import ControllerConfig
from actors.runtime import ActorSystem

from .health import health_report
from .kube import KubeMetrics
from .spawns import SpawnMetrics
from .tree import ActorTreeCollector

__all__ = ["ControllerMetrics"]

T = TypeVar("T")


class _HealthCollector(Collector):
    """Each health check as a 0/1 gauge, so alerts can use the same judgement as ``/health``."""

    def __init__(self, metrics: ControllerMetrics, config: ControllerConfig, system: ActorSystem):
        self.metrics = metrics
        self.config = config
        self.system = system

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "nublado_health_check_ok",
            "1 when a health check passes, 0 when it makes the controller degraded",
            labels=["check"],
        )
        report = health_report(self.config, self.system, self.metrics.kube.reachability)
        for check in report.checks:
            gauge.add_metric([check.name], 1.0 if check.ok else 0.0)
        yield gauge


class ControllerMetrics:
    """Everything measured about one controller (never the process-global registry)."""

    content_type = CONTENT_TYPE_PLAIN_0_0_4
    """The classic text format (0.0.4), which every Prometheus version scrapes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.kube = KubeMetrics(self.registry)
        self.spawns = SpawnMetrics(self.registry)
        self._extensions: dict[str, Any] = {}

    def watch(self, config: ControllerConfig, system: ActorSystem) -> None:
        """Collect from ``system``'s actor tree (and its health) at every scrape."""
        self.registry.register(ActorTreeCollector(system))
        self.registry.register(_HealthCollector(self, config, system))

    def extension(self, name: str, factory: Callable[[CollectorRegistry], T]) -> T:
        """The metrics another layer (the web app) registers here, made once per controller
        (an app built twice for one controller must not register its families twice)."""
        if name not in self._extensions:
            self._extensions[name] = factory(self.registry)
        extension: T = self._extensions[name]
        return extension

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric, as ``GET /metrics`` serves it."""
        return generate_latest(self.registry)
