"""The ``alerts`` section (a nublado-trio extension): how Slack alerts are throttled.

Alerts are sent only when ``slackWebhook`` (``NUBLADO_SLACK_WEBHOOK``) is set; this section
tunes how many and when. Every value has a default suited to production, so the section is
normally left out.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from .base import ConfigModel
from .units import PositiveDuration

__all__ = ["AlertsConfig"]


class AlertsConfig(ConfigModel):
    """Rate limit, de-duplication and thresholds of the alerts sent to Slack."""

    max_per_minute: int = Field(10, ge=1, le=1000)
    """Posts per minute at most (a short burst of that many may go at once)."""

    dedup_window: PositiveDuration = timedelta(minutes=10)
    """An alert identical to one already posted (same operation, same error) within this
    window is not posted again; the repeats are counted and summarised in one post when the
    window ends."""

    kubernetes_unreachable_after: PositiveDuration = timedelta(minutes=2)
    """Alert when the Kubernetes API has not answered for this long."""

    kubernetes_probe_interval: PositiveDuration = timedelta(seconds=10)
    """How often the controller checks that the Kubernetes API answers."""

    timeout: PositiveDuration = timedelta(seconds=10)
    """Bound on one post to the webhook."""
