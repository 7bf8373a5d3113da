"""Prometheus metrics of one controller, and the health state derived from the same sources.

Every controller owns its own :class:`ControllerMetrics` (its own collector registry, never
the process-global default one), so several controllers in one process (the tests run many)
never mix their numbers. The actors and the Kubernetes client know nothing of Prometheus:
they report through small observer protocols (``actors.kube.observer``,
``actors.labs.observer``) or describe themselves through inspection, and this package turns
that into metric families.
"""

from .controller import ControllerMetrics
from .health import HealthCheck, HealthReport, health_report

__all__ = ["ControllerMetrics", "HealthCheck", "HealthReport", "health_report"]
