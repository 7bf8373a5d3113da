"""The Grafana dashboard in ``deploy/grafana`` only queries metrics the controller serves."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import trio

from tests.e2e.harness import RunningController
from tests.e2e.metrics_support import scrape
from tests.e2e.resilience_support import finished_events, spawn_body

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "nublado-trio.json"

_METRIC = re.compile(r"\bnublado_[a-z0-9_]+")
_SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def _expressions(dashboard: dict[str, Any]) -> list[str]:
    return [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]


def test_the_dashboard_is_grafana_json_with_a_datasource_variable() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"]
    assert dashboard["title"]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${datasource}"
    assert len(_expressions(dashboard)) >= 20


async def test_every_metric_the_dashboard_queries_is_served(nublado: RunningController) -> None:
    with trio.fail_after(30):
        async with nublado.client("alice") as alice:
            url = f"{nublado.prefix}/spawner/v1/labs/alice/create"
            assert (await alice.post(url, json=spawn_body(nublado, "alice"))).status_code == 201
            assert (await finished_events(alice, nublado.prefix, "alice"))[-1].type == "complete"
        async with nublado.client() as client:
            metrics = await scrape(client)
    samples = {sample.name for sample in metrics.samples}
    families = set(metrics.families)
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queried = {name for expr in _expressions(dashboard) for name in _METRIC.findall(expr)}
    assert queried
    unknown = []
    for name in sorted(queried):
        base = next((name.removesuffix(s) for s in _SUFFIXES if name.endswith(s)), name)
        # A sample served now, or a family declared (a counter nothing has counted yet).
        if name not in samples and base not in families:
            unknown.append(name)
    assert unknown == [], f"the dashboard queries metrics /metrics does not serve: {unknown}"
