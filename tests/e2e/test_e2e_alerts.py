"""Slack alerts end to end: the controller posts to kubesim's fake webhook, tests read it.

Failures are produced the way production meets them (Kubernetes refusing requests, an
API server that stops answering, an actor that keeps crashing on what the server sends),
never by calling the alert code directly.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio

from kubesim.slack import API_PREFIX, FakeSlack
from tests.e2e.harness import RunningController, fast_site_config, serving_controller
from tests.e2e.resilience_support import (
    actor,
    add_user,
    bearer,
    finished_events,
    spawn_body,
)
from web.simulate import simulated_cluster

WEBHOOK_PATH = "/slack/services/T0/B0/very-secret-webhook-path"


@asynccontextmanager
async def alerting_controller(**alerts: Any) -> AsyncIterator[tuple[RunningController, FakeSlack]]:
    async with simulated_cluster(fast_site_config()) as site:
        fake = site.mounted(API_PREFIX)
        assert isinstance(fake, FakeSlack)
        overrides = {"slackWebhook": f"{site.url}{WEBHOOK_PATH}", "alerts": alerts}
        async with serving_controller(site, config_overrides=overrides) as nublado:
            yield nublado, fake


async def _posts_about(fake: FakeSlack, words: str, count: int = 1) -> list[dict[str, Any]]:
    while True:
        found = [post.body for post in fake.posts if words in post.body["text"]]
        if len(found) >= count:
            return found
        await trio.sleep(0.05)


def _fields(body: dict[str, Any]) -> dict[str, str]:
    fields = body["blocks"][1]["fields"]
    return {f["text"].split("\n", 1)[0].strip("*"): f["text"].split("\n", 1)[1] for f in fields}


async def test_failed_spawns_are_alerted_once_and_their_repeats_counted() -> None:
    """Three users' spawns fail for one reason: one post, two repeats counted for the summary
    at the end of the window (the summary itself: ``tests/alerts/test_alerts_sender.py``)."""
    async with alerting_controller(dedupWindow="10m") as (nublado, fake):
        with trio.fail_after(30):
            # Kubernetes refuses every ConfigMap: each spawn fails for the same reason.
            nublado.site.faults.add_error(verb="create", resource="configmaps", status=403)
            for n, user in enumerate(("ann", "ben", "cat")):
                token = add_user(nublado.site, user, 4001 + n)
                async with nublado.client(headers=bearer(token)) as client:
                    url = f"{nublado.prefix}/spawner/v1/labs/{user}/create"
                    created = await client.post(url, json=spawn_body(nublado, user))
                    assert created.status_code == 201, created.text
                    events = await finished_events(client, nublado.prefix, user)
                    assert events[-1].type == "failed"
            [first] = await _posts_about(fake, "lab spawn failed for ann")
            async with nublado.client("admin") as admin:
                while True:
                    alerts = await actor(admin, nublado.prefix, "alerts")
                    assert alerts is not None
                    if alerts["details"]["received"] == 3:
                        break
                    await trio.sleep(0.05)
    assert alerts["details"]["suppressed_repeats"] == 2
    assert alerts["details"]["posted"] == 1
    assert [post.body["text"] for post in fake.posts] == [
        "Nublado (simulated): lab spawn failed for ann"
    ]
    fields = _fields(first)
    assert fields["User"] == "ann"
    assert fields["Operation"] == "lab spawn"
    error = first["blocks"][2]["text"]["text"]
    # Which of the lab's ConfigMaps the refusal hit first is timing (they are made at once).
    assert re.search(r"ConfigMap ann-nb-(env|nss|files) in nublado-ann: 403 Forbidden", error)
    assert all("very-secret-webhook-path" not in str(post.body) for post in fake.posts)


async def test_an_unreachable_kubernetes_api_is_alerted_and_its_recovery_too() -> None:
    async with alerting_controller(kubernetesProbeInterval=0.1, kubernetesUnreachableAfter=0.5) as (
        nublado,
        fake,
    ):
        with trio.fail_after(60):
            # The watchdog's probe reads the controller's namespace.
            nublado.site.faults.add_error(verb="get", resource="namespaces", status=503)
            [down] = await _posts_about(fake, "kubernetes failed")
            async with nublado.client("admin") as admin:
                watchdog = await actor(admin, nublado.prefix, "kubernetes-watchdog")
            assert watchdog is not None
            assert watchdog["phase"] == "unreachable"
            nublado.site.faults.clear()
            [up] = await _posts_about(fake, "kubernetes recovered")
    assert "has not answered for" in down["blocks"][2]["text"]["text"]
    assert "ServiceUnavailable" in down["blocks"][2]["text"]["text"]
    assert "answers again after" in up["blocks"][2]["text"]["text"]


async def test_an_actor_given_up_after_its_restart_limit_is_alerted() -> None:
    async with alerting_controller() as (nublado, fake):
        with trio.fail_after(45):
            async with nublado.client("alice") as alice:
                url = f"{nublado.prefix}/spawner/v1/labs/alice/create"
                created = await alice.post(url, json=spawn_body(nublado, "alice"))
                assert created.status_code == 201, created.text
                assert (await finished_events(alice, nublado.prefix, "alice"))[
                    -1
                ].type == "complete"
                # Every pod read now returns an object no client can decode: the lab actor
                # crashes on it at each restart until its supervisor gives it up.
                nublado.site.faults.add_corruption(verb="get", resource="pods")
                crashed = await alice.post(url, json=spawn_body(nublado, "alice"))
                assert crashed.status_code == 500
            [body] = await _posts_about(fake, "actor supervision failed for alice")
    error = body["blocks"][2]["text"]["text"]
    assert "lab/alice" in error
    assert "given up" in error
    assert "UnreadableObjectError" in error


async def test_a_slow_webhook_does_not_delay_a_failing_spawn() -> None:
    """With Slack hanging on every post, spawns still fail at once, not after the post."""
    async with alerting_controller(timeout=30) as (nublado, fake):
        fake.delay = 600.0
        with trio.fail_after(20):
            nublado.site.faults.add_error(verb="create", resource="configmaps", status=403)
            for n in range(5):
                user = f"slow{n}"
                token = add_user(nublado.site, user, 4100 + n)
                async with nublado.client(headers=bearer(token)) as client:
                    url = f"{nublado.prefix}/spawner/v1/labs/{user}/create"
                    created = await client.post(url, json=spawn_body(nublado, user))
                    assert created.status_code == 201, created.text
                    events = await finished_events(client, nublado.prefix, user)
                    assert events[-1].type == "failed"
            assert fake.posts == []
            assert fake.attempts == 1  # the first alert is still being posted
