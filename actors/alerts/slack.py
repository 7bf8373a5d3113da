"""Alerts as Slack incoming-webhook messages (``{"text": ..., "blocks": [...]}``).

``text`` is the one-line fallback Slack shows in notifications; the blocks show a header
line, then the user, the operation and the time as fields, then the error in a code block.
Slack refuses a section text longer than 3,000 characters, so long errors are cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .model import Alert

__all__ = ["MAX_ERROR_CHARS", "alert_message", "summary_message"]

MAX_ERROR_CHARS = 2_500
"""Room for the error inside Slack's 3,000-character limit of a section's text."""


def _escape(text: str) -> str:
    """Slack's three control characters in mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _time(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def _error_block(error: str) -> dict[str, Any]:
    if len(error) > MAX_ERROR_CHARS:
        error = error[:MAX_ERROR_CHARS] + " …(cut)"
    body = _escape(error).replace("```", "'''")
    return {"type": "section", "text": {"type": "mrkdwn", "text": f"*Error*\n```{body}```"}}


def _field(label: str, value: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": f"*{label}*\n{_escape(value)}"}


def _users(users: Sequence[str], more: int) -> str:
    text = ", ".join(users) if users else "none"
    return f"{text} (+{more} more)" if more else text


def alert_message(app: str, alert: Alert) -> dict[str, Any]:
    """The message for one alert."""
    title = f"{app}: {alert.operation} {'recovered' if alert.resolved else 'failed'}"
    if alert.user:
        title += f" for {alert.user}"
    return {
        "text": _escape(title),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_escape(title)}*"}},
            {
                "type": "section",
                "fields": [
                    _field("User", alert.user or "none"),
                    _field("Operation", alert.operation),
                    _field("Time", _time(alert.at)),
                ],
            },
            _error_block(alert.error),
            {"type": "divider"},
        ],
    }


def summary_message(
    app: str,
    alert: Alert,
    *,
    repeats: int,
    users: Sequence[str],
    more_users: int,
    since: datetime,
    until: datetime,
) -> dict[str, Any]:
    """The message saying how often an alert already posted happened again in its window."""
    title = f"{app}: {alert.operation} failed {repeats} more time{'s' if repeats != 1 else ''}"
    return {
        "text": _escape(title),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_escape(title)}*"}},
            {
                "type": "section",
                "fields": [
                    _field("Users", _users(users, more_users)),
                    _field("Operation", alert.operation),
                    _field("Time", f"{_time(since)} to {_time(until)}"),
                ],
            },
            _error_block(alert.error),
            {"type": "divider"},
        ],
    }
