"""Per-request timeouts derived from the caller's Trio deadline.

Callers bound operations with ``trio.fail_after`` / ``trio.move_on_at``; Trio cancels the
request when that deadline passes. Each attempt also gets a timeout of its own, the time
left before that deadline capped at ``KUBERNETES_REQUEST_TIMEOUT``, so a call made without
any deadline is still bounded and a timed-out attempt can be retried.
"""

from __future__ import annotations

import math

import trio

__all__ = ["KUBERNETES_REQUEST_TIMEOUT", "remaining", "request_timeout"]

KUBERNETES_REQUEST_TIMEOUT = 30.0
"""Default bound on one API request when the caller's deadline is further away (or absent)."""

_MINIMUM_TIMEOUT = 0.001


def remaining() -> float:
    """Seconds until the current effective deadline (``inf`` when there is none)."""
    deadline = trio.current_effective_deadline()
    if math.isinf(deadline):
        return math.inf
    return deadline - trio.current_time()


def request_timeout(cap: float = KUBERNETES_REQUEST_TIMEOUT) -> float:
    """The timeout for one request: the time left before the deadline, at most ``cap``."""
    return max(_MINIMUM_TIMEOUT, min(cap, remaining()))
