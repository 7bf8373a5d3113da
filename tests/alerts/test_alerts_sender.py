"""The ``alerts`` actor against kubesim's fake Slack webhook, over real HTTP.

Alerts are reported the way the controller reports them (:class:`AlertReporter`, which only
``tell``s the actor) and read back from what the fake webhook recorded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import trio

from actors.alerts import Alert, AlertReporter, AlertSender, AlertStats
from actors.alerts.sender import MAX_OUTBOX
from actors.alerts.service import ALERT_MAILBOX
from actors.config.alerts import AlertsConfig
from actors.runtime import ActorRef, ActorSystem, RestartPolicy, Supervisor
from kubesim import slack
from kubesim.site import Site, run_site

WEBHOOK_PATH = "/slack/services/T0001/B0001/webhook-secret-part"


@dataclass
class Harness:
    site: Site
    fake: slack.FakeSlack
    reporter: AlertReporter
    stats: AlertStats
    sender: ActorRef

    def bodies(self) -> list[dict[str, Any]]:
        return [post.body for post in self.fake.posts]

    async def wait_for_posts(self, count: int) -> list[dict[str, Any]]:
        while len(self.fake.posts) < count:
            await trio.sleep(0.02)
        return self.bodies()


@asynccontextmanager
async def harness(**alerts: Any) -> AsyncIterator[Harness]:
    config = AlertsConfig.model_validate(alerts)
    fakes: list[slack.FakeSlack] = []

    def setup(site: Site) -> None:
        fakes.append(slack.install(site))

    async with run_site(setup=setup) as site, httpx.AsyncClient() as http:
        webhook = f"{site.url}{WEBHOOK_PATH}"
        stats = AlertStats()
        sender = ActorRef(
            "alerts",
            lambda: AlertSender(webhook, app="Nublado", config=config, http=http, stats=stats),
            mailbox_size=ALERT_MAILBOX,
        )
        system = ActorSystem(Supervisor("root", [(sender, RestartPolicy.PERMANENT)]))
        async with trio.open_nursery() as nursery:
            await nursery.start(system.run)
            yield Harness(site, fakes[0], AlertReporter(sender, stats, (webhook,)), stats, sender)
            nursery.cancel_scope.cancel()


def _texts(body: dict[str, Any]) -> str:
    """Everything a person would read in a posted message."""
    parts = [body["text"]]
    for block in body["blocks"]:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts.extend(field["text"] for field in block.get("fields", []))
    return "\n".join(parts)


async def test_an_alert_is_posted_with_user_operation_error_and_time() -> None:
    async with harness() as h:
        with trio.fail_after(10):
            h.reporter.report("lab spawn", "Kubernetes API error: 403 Forbidden", user="alice")
            [body] = await h.wait_for_posts(1)
    assert body["text"] == "Nublado: lab spawn failed for alice"
    fields = {
        f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in body["blocks"][1]["fields"]
    }
    assert fields["*User*"] == "alice"
    assert fields["*Operation*"] == "lab spawn"
    assert fields["*Time*"].endswith(" UTC")
    assert "Kubernetes API error: 403 Forbidden" in body["blocks"][2]["text"]["text"]
    assert h.stats.posted == 1


async def test_repeats_are_counted_and_summarised_once_when_the_window_ends() -> None:
    async with harness(dedupWindow=0.5) as h:
        with trio.fail_after(10):
            for n in range(300):
                h.reporter.report(
                    "lab spawn",
                    f"Lab pod user{n}-nb went to phase Failed after {n}.5 s",
                    user=f"user{n}",
                )
            first, summary = await h.wait_for_posts(2)
            await trio.sleep(1.0)  # a second window would have posted again by now
    assert len(h.fake.posts) == 2
    assert first["text"] == "Nublado: lab spawn failed for user0"
    assert summary["text"] == "Nublado: lab spawn failed 299 more times"
    text = _texts(summary)
    assert "user1, user2" in text
    assert "(+279 more)" in text  # 20 of the 299 users named, the others counted
    assert h.stats.suppressed == 299


async def test_posts_are_rate_limited_and_the_rest_wait() -> None:
    async with harness(maxPerMinute=2) as h:
        with trio.fail_after(10):
            for n in range(5):
                h.reporter.report("prepull", f"distinct failure {'abcde'[n]}")
            await h.wait_for_posts(2)
            await trio.sleep(0.5)  # the third post is 30 s away at two a minute
            snapshot = h.sender.snapshot()
    assert len(h.fake.posts) == 2
    assert snapshot.details["outbox"] == 3


async def test_a_slow_webhook_never_holds_the_reporter_and_overflow_is_dropped_and_counted() -> (
    None
):
    async with harness(maxPerMinute=1000) as h:
        h.fake.delay = 60.0
        with trio.fail_after(10):
            total = 3_000
            for n in range(total):
                # Reporting is synchronous: it cannot wait for the webhook by construction.
                h.reporter.report("lab spawn", f"failure kind {chr(65 + n % 26)}{n // 26}")
            while h.stats.received + h.stats.dropped < total:
                await trio.sleep(0.02)
            snapshot = h.sender.snapshot()
    assert h.stats.dropped > 0
    assert h.stats.received <= ALERT_MAILBOX + 1
    assert snapshot.details["outbox"] <= MAX_OUTBOX
    assert h.fake.posts == []  # still waiting on the slow webhook
    assert h.fake.attempts == 1  # one post at a time


async def test_a_failing_webhook_is_counted_and_the_sender_carries_on() -> None:
    async with harness() as h:
        h.fake.status = 500
        with trio.fail_after(10):
            h.reporter.report("fsadmin", "first")
            while h.stats.failed < 1:
                await trio.sleep(0.02)
            h.fake.status = None
            h.reporter.report("fsadmin", "second")
            [body] = await h.wait_for_posts(1)
    assert "second" in _texts(body)
    assert h.sender.snapshot().restarts == 0


async def test_a_429_pauses_posting_for_its_retry_after_and_the_alert_is_not_lost() -> None:
    async with harness() as h:
        h.fake.status = 429
        h.fake.retry_after = 1
        with trio.fail_after(10):
            h.reporter.report("migration", "copy failed")
            while h.fake.attempts < 1:
                await trio.sleep(0.02)
            h.fake.status = None
            [body] = await h.wait_for_posts(1)
    assert "copy failed" in _texts(body)
    assert h.fake.attempts == 2


async def test_no_token_or_webhook_reaches_slack() -> None:
    async with harness() as h:
        webhook = f"{h.site.url}{WEBHOOK_PATH}"
        secrets = [
            "gt-AbCdEfGhIjKl.MnOpQrStUvWxYz12",
            "s3cr3t-b3ar3r-v4lu3",
            "hunter2hunter2",
            "webhook-secret-part",
        ]
        with trio.fail_after(10):
            h.reporter.report(
                "request",
                f"GET failed: Authorization: Bearer {secrets[1]}; token {secrets[0]};"
                f" https://demo:{secrets[2]}@registry.example.org/v2; posting to {webhook}",
                user="alice",
            )
            [body] = await h.wait_for_posts(1)
    posted = str(body)
    for secret in secrets:
        assert secret not in posted
    assert "&lt;redacted&gt;" in posted  # Slack mrkdwn-escaped


def test_an_alerts_identity_ignores_the_user_and_numbers() -> None:
    one: Callable[[str, str], Alert] = lambda user, error: Alert("lab spawn", error, user)  # noqa: E731
    assert (
        one("alice", "alice-nb failed after 12.5 s").key
        == one("bob", "bob-nb failed after 3 s").key
    )
    assert one("alice", "quota").key != one("alice", "timeout").key
