"""``GET /metrics`` on a real controller: what a spawn, a refusal, a watch that loses its
resourceVersion and a crashing actor leave in the Prometheus exposition."""

from __future__ import annotations

import re

import trio
from prometheus_client import REGISTRY

from actors.metrics import ControllerMetrics
from tests.e2e.harness import RunningController, fast_site_config, running_controller
from tests.e2e.metrics_support import Scrape, scrape
from tests.e2e.resilience_support import finished_events, open_events, spawn_body

POLL = 0.05


async def _until(nublado: RunningController, ready: object) -> Scrape:
    """Scrape until ``ready(scrape)`` is true (bounded by the caller's deadline)."""
    assert callable(ready)
    async with nublado.client() as client:
        while True:
            current = await scrape(client)
            if ready(current):
                return current
            await trio.sleep(POLL)


async def test_a_spawn_and_a_refusal_are_measured_without_usernames_in_labels() -> None:
    # Kubelet delays so that the pod's Scheduled and Pulled Events (relayed by the Events
    # watch) reach the lab well before the pod runs (seen through the pod informer).
    site = fast_site_config(schedule_delay=0.05, pull_delay=0.1, create_delay=0.1, ready_delay=0.3)
    async with running_controller(site_config=site) as nublado:
        prefix = nublado.prefix
        with trio.fail_after(60):
            async with nublado.client("alice") as alice, nublado.client("bob") as bob:
                url = f"{prefix}/spawner/v1/labs/alice/create"
                created = await alice.post(url, json=spawn_body(nublado, "alice"))
                assert created.status_code == 201, created.text
                events = await finished_events(alice, prefix, "alice")
                assert events[-1].type == "complete"
                # bob's quota is 1 CPU: the large size is refused before any spawn starts.
                body = spawn_body(nublado, "bob")
                body["options"]["size"] = ["large"]
                refused = await bob.post(f"{prefix}/spawner/v1/labs/bob/create", json=body)
                assert refused.status_code == 403, refused.text
            metrics = await _until(
                nublado, lambda s: s.value("nublado_labs", status="running") == 1
            )
    assert metrics.value("nublado_spawn_duration_seconds_count") == 1
    for phase in ("objects_created", "pod_scheduled", "image_pulled", "running"):
        assert metrics.value("nublado_spawn_phase_seconds_count", phase=phase) == 1, phase
    created_at = metrics.value("nublado_spawn_phase_seconds_sum", phase="objects_created")
    running_at = metrics.value("nublado_spawn_phase_seconds_sum", phase="running")
    assert created_at is not None
    assert running_at is not None
    assert created_at <= running_at
    assert metrics.value("nublado_spawns_total", result="success", reason="complete") == 1
    assert metrics.value("nublado_spawns_total", result="refused", reason="insufficient_quota") == 1
    assert metrics.total("nublado_spawns_total", result="failure") == 0
    # Kubernetes requests by verb and kind: the spawn created a namespace and a pod.
    for kind in ("Namespace", "Pod"):
        count = metrics.value(
            "nublado_kubernetes_request_duration_seconds_count", verb="create", resource=kind
        )
        assert (count or 0) >= 1, kind
    assert metrics.total("nublado_kubernetes_request_duration_seconds_count", verb="watch") >= 1
    # HTTP latency by route template, status included.
    create_route = "/nublado/spawner/v1/labs/<username>/create"
    for status in ("201", "403"):
        count = metrics.value(
            "nublado_http_request_duration_seconds_count", route=create_route, status=status
        )
        assert count == 1, status
    # Actors by kind: the lab actor's mailbox is measured, singletons run.
    assert metrics.value("nublado_actor_mailbox_depth", kind="lab") is not None
    assert metrics.value("nublado_actors", kind="images", status="running") == 1
    # Images and prepulls, read from the image service's inspection.
    assert (metrics.value("nublado_image_refreshes_total", result="success") or 0) >= 1
    assert metrics.value("nublado_image_refresh_age_seconds") is not None
    assert metrics.value("nublado_image_refresh_duration_seconds") is not None
    assert metrics.value("nublado_prepull_missing") is not None
    # No label anywhere names a user: labels are kinds, verbs, routes and statuses.
    for value in metrics.label_values():
        assert "bob" not in value, value
        assert "alice" not in value, value


async def test_relists_and_watch_restarts_are_counted(nublado: RunningController) -> None:
    with trio.fail_after(30):
        before = await _until(nublado, lambda s: True)
        nublado.site.faults.expire_resource_versions()
        nublado.site.faults.drop_watches()
        after = await _until(
            nublado,
            lambda s: (
                s.total("nublado_kubernetes_watch_relists_total", resource="Pod")
                > before.total("nublado_kubernetes_watch_relists_total", resource="Pod")
            ),
        )
    assert after.total("nublado_kubernetes_watch_restarts_total") > before.total(
        "nublado_kubernetes_watch_restarts_total"
    )


async def test_actor_restarts_are_counted_by_kind(nublado: RunningController) -> None:
    prefix = nublado.prefix
    with trio.fail_after(30):
        async with nublado.client("alice") as alice:
            url = f"{prefix}/spawner/v1/labs/alice/create"
            assert (await alice.post(url, json=spawn_body(nublado, "alice"))).status_code == 201
            assert (await finished_events(alice, prefix, "alice"))[-1].type == "complete"
            # The running lab reads its pod before a second create; garbage crashes it.
            nublado.site.faults.add_corruption(verb="get", resource="pods", count=1)
            crashed = await alice.post(url, json=spawn_body(nublado, "alice"))
            assert crashed.status_code == 500, crashed.text
        metrics = await _until(
            nublado, lambda s: s.value("nublado_actor_restarts_total", kind="lab")
        )
    assert metrics.value("nublado_actor_restarts_total", kind="lab") == 1
    # The create that hit the crash started no spawn: a failure, not a refusal.
    assert metrics.total("nublado_spawns_total", result="refused") == 0


async def test_open_event_streams_are_counted_by_protocol(nublado: RunningController) -> None:
    prefix = nublado.prefix
    nublado.site.faults.kubelet_frozen = True  # the spawn waits, so its stream stays open
    with trio.fail_after(30):
        async with nublado.client("alice") as alice:
            url = f"{prefix}/spawner/v1/labs/alice/create"
            assert (await alice.post(url, json=spawn_body(nublado, "alice"))).status_code == 201
            async with open_events(alice, prefix, "alice"):
                metrics = await _until(
                    nublado,
                    lambda s: s.value("nublado_event_stream_subscribers", protocol="sse") == 1,
                )
                assert metrics.value("nublado_event_stream_subscribers", protocol="websocket") == 0
            nublado.site.faults.kubelet_frozen = False
            await _until(
                nublado, lambda s: s.value("nublado_event_stream_subscribers", protocol="sse") == 0
            )


async def test_each_controller_has_its_own_registry() -> None:
    first, second = ControllerMetrics(), ControllerMetrics()
    first.spawns.refused("insufficient_quota")
    assert b'result="refused"' in first.exposition()
    text = second.exposition().decode()
    assert 'nublado_spawns_total{reason="insufficient_quota",result="refused"} 0.0' in text
    assert not any(name.startswith("nublado_") for name in REGISTRY._names_to_collectors)


async def test_probing_clients_cannot_grow_the_label_set(nublado: RunningController) -> None:
    with trio.fail_after(30):
        async with nublado.client() as client:
            for i in range(5):
                await client.request(f"PROBE{i}", f"/no/such/path/{i}")
                await client.get(f"/nublado/spawner/v1/labs/user{i}")
            metrics = await scrape(client)
    routes = {
        (s.labels["method"], s.labels["route"])
        for s in metrics.samples
        if s.name == "nublado_http_request_duration_seconds_count"
    }
    assert ("other", "unmatched") in routes
    assert not any(method.startswith("PROBE") for method, _ in routes)
    assert not any(re.search(r"user[0-4]|/no/such", route) for _, route in routes)
    assert ("GET", "/nublado/spawner/v1/labs/<username>") in routes
