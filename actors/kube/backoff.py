"""Capped exponential backoff and ``Retry-After`` parsing for retries and watch restarts."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["Backoff", "parse_retry_after"]

_SHARED_RNG = random.Random()
"""Jitter needs no independent stream per backoff; a ``Random`` each costs 2.5 KB per watch."""


@dataclass
class Backoff:
    """Delays ``initial, initial*factor, ...`` capped at ``maximum``, each shortened by jitter.

    Jitter only ever *shortens* a delay (by up to ``jitter`` of it), so ``maximum`` is a true
    upper bound, and many watches failing together (an API server restart) do not reconnect
    in lock-step. ``reset`` after a success starts the sequence again.
    """

    initial: float = 0.1
    maximum: float = 5.0
    factor: float = 2.0
    jitter: float = 0.25
    rng: random.Random = field(default=_SHARED_RNG)
    attempt: int = 0

    def next_delay(self) -> float:
        """Return the delay before the next attempt and advance the sequence."""
        base = min(self.maximum, self.initial * self.factor**self.attempt)
        self.attempt += 1
        return base * (1.0 - self.jitter * self.rng.random())

    def reset(self) -> None:
        """Forget past failures (call after a success)."""
        self.attempt = 0


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Parse a ``Retry-After`` header: delay seconds or an HTTP date; ``None`` if unusable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(tz=UTC))).total_seconds())
