"""Routes for the people and programs that run the controller: metrics and health.

Like the root health route they are not under ``{prefix}`` and not meant for the ingress:
Prometheus and operators reach the pod's port directly. They carry no usernames, tokens or
other secrets (metric labels are bounded kinds, verbs, routes and statuses), so they need no
authentication.
"""

from __future__ import annotations

from quart import Blueprint, Response

from actors.metrics import health_report
from web.state import current_state

__all__ = ["operations"]

operations = Blueprint("operations", __name__)


@operations.get("/metrics")
async def get_metrics() -> Response:
    """Every metric of this controller in Prometheus' text format."""
    metrics = current_state().metrics
    return Response(metrics.exposition(), status=200, content_type=metrics.content_type)


@operations.get("/health")
async def get_health_report() -> Response:
    """Per-service health; 200 whether ``ok`` or ``degraded`` (it is a report, not a probe)."""
    state = current_state()
    report = health_report(state.config, state.system, state.metrics.kube.reachability)
    return Response(report.model_dump_json(), status=200, content_type="application/json")
