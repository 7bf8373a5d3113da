"""Histogram buckets, in seconds, chosen for what each histogram measures."""

from __future__ import annotations

SPAWN_BUCKETS = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0)
"""A spawn takes seconds on a warm node and minutes when a large image is pulled first."""

REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""API and HTTP requests: milliseconds normally; the top buckets catch slow API servers and
routes that wait on Kubernetes (a delete waits for the namespace to go)."""
