"""``GET /health`` reports per-service state and says *degraded* during an API-server outage,
while the liveness route ``GET /`` keeps answering 200 (so Kubernetes restarts nothing)."""

from __future__ import annotations

from typing import Any

import httpx
import trio

from tests.e2e.harness import RunningController
from tests.e2e.metrics_support import scrape

POLL = 0.05


async def _health(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/health")
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def _check(report: dict[str, Any], name: str) -> dict[str, Any]:
    checks = {check["name"]: check for check in report["checks"]}
    assert name in checks, sorted(checks)
    return checks[name]


async def test_a_healthy_controller_reports_every_service_ok(nublado: RunningController) -> None:
    with trio.fail_after(15):
        async with nublado.client() as client:
            report = await _health(client)
    assert report["status"] == "ok", report
    names = {check["name"] for check in report["checks"]}
    for expected in (
        "kubernetes",
        "actor:images",
        "actor:prepuller",
        "actor:lab-manager",
        "actor:informer/lab-pods",
        "actor:fileserver-manager",
        "actor:fsadmin",
        "reconcile:labs",
        "reconcile:fileservers",
        "images:refresh",
    ):
        assert expected in names, sorted(names)
    # Per-user actors are not services: they never appear.
    assert not any(name.startswith("actor:lab/") for name in names)
    assert _check(report, "reconcile:labs")["age_seconds"] is not None


async def test_an_api_outage_is_degraded_health_not_a_failed_liveness_probe(
    nublado: RunningController,
) -> None:
    faults = nublado.site.faults
    with trio.fail_after(60):
        async with nublado.client() as client:
            # Every API request now fails with 503, and every open watch is cut.
            faults.add_error(status=503)
            faults.drop_watches()
            while True:
                report = await _health(client)
                if not _check(report, "kubernetes")["ok"]:
                    break
                await trio.sleep(POLL)
            assert report["status"] == "degraded"
            assert "HTTP 503" in _check(report, "kubernetes")["message"]
            liveness = await client.get("/")
            assert liveness.status_code == 200, liveness.text
            metrics = await scrape(client)
            assert metrics.value("nublado_health_check_ok", check="kubernetes") == 0
            # The outage ends: the watches come back and so does health.
            faults.clear()
            while not _check(await _health(client), "kubernetes")["ok"]:
                await trio.sleep(POLL)
            metrics = await scrape(client)
            assert metrics.value("nublado_health_check_ok", check="kubernetes") == 1


async def test_a_refused_watch_makes_its_informer_check_fail(nublado: RunningController) -> None:
    faults = nublado.site.faults
    with trio.fail_after(60):
        async with nublado.client() as client:
            # RBAC-like refusal of the lab pod watch: the API server answers (so Kubernetes
            # is reachable), but the informer cannot do its job.
            faults.add_error(verb="watch", resource="pods", status=403)
            faults.add_error(verb="list", resource="pods", status=403)
            faults.drop_watches()
            while _check(await _health(client), "actor:informer/lab-pods")["ok"]:
                await trio.sleep(POLL)
            report = await _health(client)
            assert report["status"] == "degraded"
            assert "refused" in _check(report, "actor:informer/lab-pods")["message"]
            assert _check(report, "kubernetes")["ok"]
            faults.clear()
            while not _check(await _health(client), "actor:informer/lab-pods")["ok"]:
                await trio.sleep(POLL)
