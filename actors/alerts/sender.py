"""The ``alerts`` actor: de-duplicates, rate-limits and posts alerts to the Slack webhook.

Reporting never waits: :class:`~actors.alerts.reporter.AlertReporter` only ``tell``s this
actor, whose mailbox is the bounded queue (full: the alert is dropped and counted). Handling
a message is bookkeeping in memory; the posts happen in a child task, so a slow or failing
webhook fills at most the bounded outbox, never the mailbox, and never the operation that
reported.

What gets posted:

* the first alert of a kind (same operation, same error once user names and numbers are
  blanked) at once;
* its repeats within ``alerts.dedupWindow`` are only counted, with the users they concerned;
  when the window ends, one summary post says how many there were;
* at most ``alerts.maxPerMinute`` posts per minute (a token bucket: a burst of that many, then
  one every ``60 / maxPerMinute`` seconds); posts wait in the outbox meanwhile. A 429 from
  Slack pauses posting for its ``Retry-After``.

A failed post (timeout, connection error, other status) is logged and counted, not retried:
the alert is in the log anyway, and retrying would only lengthen the queue behind it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import structlog
import trio

from actors.config.alerts import AlertsConfig
from actors.redaction import redact
from actors.runtime import Actor, describe_error

from .model import Alert, AlertKey
from .slack import alert_message, summary_message

__all__ = ["AlertSender", "AlertStats"]

log = structlog.get_logger(__name__)

MAX_OUTBOX = 100
"""Posts waiting for the rate limit or a slow webhook; past this, new ones are dropped."""

MAX_WINDOWS = 1_000
"""Distinct alerts tracked for de-duplication at once."""

MAX_USERS_LISTED = 20
"""Users named in a summary; the others are counted."""

MAX_RETRY_AFTER = 300.0
"""Longest pause a 429 from the webhook may impose."""

DROP_LOG_INTERVAL = 60.0
"""At most one log line per this many seconds about dropped alerts (a storm must not flood
the log either); the first drop is logged at once."""


@dataclass
class AlertStats:
    """Counters that outlive the actor's incarnations (shown in its inspection)."""

    received: int = 0
    posted: int = 0
    suppressed: int = 0
    failed: int = 0
    dropped: int = 0
    _unlogged_drops: int = 0
    _drop_logged_at: float | None = None

    def drop(self, reason: str) -> None:
        """Count a dropped alert; log it now, or with the next ones in a while."""
        self.dropped += 1
        self._unlogged_drops += 1
        now = trio.current_time()
        if self._drop_logged_at is None or now - self._drop_logged_at >= DROP_LOG_INTERVAL:
            log.warning(
                "Alerts dropped", reason=reason, dropped=self._unlogged_drops, total=self.dropped
            )
            self._unlogged_drops = 0
            self._drop_logged_at = now


@dataclass
class _Window:
    """One alert posted and the repeats counted since, until ``ends``."""

    alert: Alert
    ends: float
    repeats: int = 0
    users: list[str] = field(default_factory=list)
    more_users: int = 0
    last_at: datetime | None = None

    def count(self, alert: Alert) -> None:
        self.repeats += 1
        self.last_at = alert.at
        if alert.user and alert.user not in self.users:
            if len(self.users) < MAX_USERS_LISTED:
                self.users.append(alert.user)
            else:
                self.more_users += 1


class AlertSender(Actor):
    """Owns the de-duplication windows, the outbox and the rate limit (module docstring)."""

    kind = "alerts"

    def __init__(
        self,
        webhook: str,
        *,
        app: str,
        config: AlertsConfig,
        http: httpx.AsyncClient,
        stats: AlertStats,
    ) -> None:
        self._webhook = webhook
        self.app = app
        self.http = http
        self.stats = stats
        self.window = config.dedup_window.total_seconds()
        self.rate = config.max_per_minute / 60.0
        self.burst = float(config.max_per_minute)
        self.timeout = config.timeout.total_seconds()
        self._tokens = self.burst
        self._refilled_at = 0.0
        self._paused_until = 0.0
        self._windows: dict[AlertKey, _Window] = {}
        self._outbox: deque[dict[str, Any]] = deque()
        self._wake = trio.Event()
        self._posting = False

    async def on_start(self) -> None:
        self._refilled_at = trio.current_time()
        self.context.start_soon(self._post_forever)
        self.context.start_soon(self._sweep_forever)

    async def handle(self, message: object) -> object:
        if isinstance(message, Alert):
            self._receive(message)
            return None
        return await super().handle(message)

    @property
    def phase(self) -> str:
        if self._posting:
            return "posting"
        return "waiting" if self._outbox else "idle"

    def inspect(self) -> dict[str, Any]:
        stats = self.stats
        return {
            "received": stats.received,
            "posted": stats.posted,
            "suppressed_repeats": stats.suppressed,
            "failed_posts": stats.failed,
            "dropped": stats.dropped,
            "outbox": len(self._outbox),
            "tracked": len(self._windows),
        }

    # -- bookkeeping (message handling: no I/O) --------------------------------------------

    def _receive(self, alert: Alert) -> None:
        self.stats.received += 1
        now = trio.current_time()
        key = alert.key
        window = self._windows.get(key)
        if window is not None and now < window.ends:
            window.count(alert)
            self.stats.suppressed += 1
            return
        if window is not None:
            self._close(window)
        if len(self._windows) >= MAX_WINDOWS:
            self._sweep(now)
            if len(self._windows) >= MAX_WINDOWS:
                self.stats.drop("too many distinct alerts at once")
                return
        self._windows[key] = _Window(alert, ends=now + self.window)
        self._enqueue(alert_message(self.app, alert))

    def _close(self, window: _Window) -> None:
        """A window ended: post the count of its repeats, if it had any."""
        if window.repeats:
            self._enqueue(
                summary_message(
                    self.app,
                    window.alert,
                    repeats=window.repeats,
                    users=window.users,
                    more_users=window.more_users,
                    since=window.alert.at,
                    until=window.last_at or window.alert.at,
                )
            )

    def _sweep(self, now: float) -> None:
        for key, window in list(self._windows.items()):
            if now >= window.ends:
                del self._windows[key]
                self._close(window)

    def _enqueue(self, message: dict[str, Any]) -> None:
        if len(self._outbox) >= MAX_OUTBOX:
            self.stats.drop("the outbox is full (webhook slow, failing or rate-limited)")
            return
        self._outbox.append(message)
        self._wake.set()
        self.context.changed()

    async def _sweep_forever(self) -> None:
        while True:
            await trio.sleep(min(5.0, self.window / 4))
            self._sweep(trio.current_time())

    # -- posting (a child task) ------------------------------------------------------------

    async def _take_token(self) -> None:
        """Wait until the rate limit (and any pause Slack asked for) allows one more post."""
        while True:
            now = trio.current_time()
            if now < self._paused_until:
                await trio.sleep(self._paused_until - now)
                continue
            self._tokens = min(self.burst, self._tokens + (now - self._refilled_at) * self.rate)
            self._refilled_at = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return
            await trio.sleep((1.0 - self._tokens) / self.rate)

    async def _post_forever(self) -> None:
        while True:
            while not self._outbox:
                self._wake = trio.Event()
                await self._wake.wait()
            await self._take_token()
            message = self._outbox.popleft()
            self._posting = True
            self.context.changed()
            try:
                await self._post(message)
            finally:
                self._posting = False
                self.context.changed()

    async def _post(self, message: dict[str, Any]) -> None:
        response: httpx.Response | None = None
        problem: str | None = None
        try:
            with trio.move_on_after(self.timeout):
                response = await self.http.post(self._webhook, json=message, timeout=self.timeout)
            if response is None:
                problem = f"no answer within {self.timeout:g} s"
        except httpx.HTTPError as error:
            problem = describe_error(error)
        if response is not None and response.status_code == 429:
            delay = _retry_after(response.headers.get("retry-after"))
            self._paused_until = trio.current_time() + delay
            self._outbox.appendleft(message)
            log.warning("Slack asked to slow down; alerts paused", seconds=delay)
            return
        if response is not None and not 200 <= response.status_code < 300:
            problem = f"HTTP {response.status_code} {response.reason_phrase}"
        if problem is not None:
            self.stats.failed += 1
            log.warning(
                "Could not post an alert to Slack",
                error=redact(problem, (self._webhook,)),
                alert=message.get("text"),
            )
            return
        self.stats.posted += 1


def _retry_after(value: str | None) -> float:
    try:
        seconds = float(value) if value is not None else 30.0
    except ValueError:
        seconds = 30.0
    return max(1.0, min(MAX_RETRY_AFTER, seconds))
