"""Kubernetes API requests and watches, measured where every request passes: the transport.

Also keeps the one fact health needs about the API server: whether its latest answers were
answers. A 4xx is an answer (the server is there and said no); a 5xx, a 429 or no response at
all is not.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from .buckets import REQUEST_BUCKETS

__all__ = ["KubeMetrics", "Reachability"]

_UNANSWERED = frozenset({429, 500, 502, 503, 504})


@dataclass
class Reachability:
    """What the latest request attempts say about the API server (monotonic seconds)."""

    last_answer: float | None = None
    last_failure: float | None = None
    last_failure_reason: str | None = None
    consecutive_failures: int = 0

    @property
    def reachable(self) -> bool | None:
        """``None`` before the first attempt; then whether the latest attempt was answered."""
        if self.last_answer is None and self.last_failure is None:
            return None
        return self.consecutive_failures == 0

    def record(self, status: int | None) -> None:
        now = time.monotonic()
        if status is not None and status not in _UNANSWERED:
            self.last_answer = now
            self.consecutive_failures = 0
            return
        self.last_failure = now
        self.last_failure_reason = "no response" if status is None else f"HTTP {status}"
        self.consecutive_failures += 1


class KubeMetrics:
    """The ``KubeObserver`` of a controller's Kubernetes client."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.reachability = Reachability()
        self.duration = Histogram(
            "nublado_kubernetes_request_duration_seconds",
            "Kubernetes API request attempts (watches: until the response head), by verb and"
            " resource kind",
            ["verb", "resource"],
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        self.errors = Counter(
            "nublado_kubernetes_request_errors",
            "Kubernetes API request attempts answered with an HTTP error status, or not at all"
            ' (code "none"), by verb, resource kind and status',
            ["verb", "resource", "code"],
            registry=registry,
        )
        self.watch_restarts = Counter(
            "nublado_kubernetes_watch_restarts",
            "Watch streams restarted, by resource kind and cause (failure: after an error, with"
            " backoff; renewal: a server timeout, an idle or expired stream)",
            ["resource", "cause"],
            registry=registry,
        )
        self.relists = Counter(
            "nublado_kubernetes_watch_relists",
            "Watches that lost their resourceVersion (410 Gone) and listed again",
            ["resource"],
            registry=registry,
        )

    def request_done(self, verb: str, kind: str, seconds: float, status: int | None) -> None:
        self.duration.labels(verb, kind).observe(seconds)
        if status is None or status >= 400:
            self.errors.labels(verb, kind, "none" if status is None else str(status)).inc()
        self.reachability.record(status)

    def watch_restarted(self, kind: str, *, failed: bool) -> None:
        self.watch_restarts.labels(kind, "failure" if failed else "renewal").inc()

    def watch_relisted(self, kind: str) -> None:
        self.relists.labels(kind).inc()
