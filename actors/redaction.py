"""Removing secrets from text that leaves the process: log lines and operator alerts.

The controller never puts a token in a message on purpose, but error texts come from
elsewhere: an HTTP library may quote a URL with credentials in it, a server may echo a
header, a configuration value may be a webhook URL whose path is its secret. Every string a
log line or an alert carries goes through :func:`redact` first, which replaces anything
shaped like a credential:

* Gafaelfawr tokens (``gt-<key>.<secret>``);
* the credentials after ``Bearer``/``Basic``, and values of ``token``/``password``/``secret``
  in ``key=value`` or ``key: value`` text;
* the user-info part of a URL (``https://user:password@host``);
* Slack webhook paths (``hooks.slack.com/services/...``);
* query parameters named like credentials (``token=``, ``access_token=``, ``password=``, ...);
* any exact string registered as secret (the configured webhook URL, for instance).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["REDACTED", "redact"]

REDACTED = "<redacted>"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"gt-[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), f"gt-{REDACTED}"),
    (re.compile(r"(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/=-]{8,})"), rf"\1\2{REDACTED}"),
    (
        re.compile(r"(?i)\b(token|password|secret)([\"']?\s*[=:]\s*[\"']?)([^\s\"',;&]{4,})"),
        rf"\1\2{REDACTED}",
    ),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+(:[^/\s@]*)?@"), rf"\1{REDACTED}@"),
    (re.compile(r"(?i)(hooks\.slack\.com/)[^\s\"'<>]+"), rf"\1{REDACTED}"),
    (
        re.compile(
            r"(?i)([?&;](?:access_token|token|password|passwd|secret|api_key|apikey|key|sig|signature)=)[^&\s\"'<>]+"
        ),
        rf"\1{REDACTED}",
    ),
)


_MARKERS = ("gt-", "bearer", "basic", "token", "password", "secret", "://", "=", "hooks.slack")
"""Cheap first look: a text containing none of these cannot match any pattern (most log
texts), so the patterns themselves run only on the few that might hold a credential."""


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every credential-shaped part (and every string in ``secrets``) replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    lowered = text.lower()
    if not any(marker in lowered for marker in _MARKERS):
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
