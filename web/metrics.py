"""The web layer's own metrics: HTTP request latency by route template, open event streams.

Requests are labelled by the route's *template* (``/nublado/spawner/v1/labs/<username>``),
never by the path a client sent, so usernames and probing clients cannot grow the label set;
a request that matches no route is ``unmatched``, an unusual method ``other``. The time is
until the response head is ready: an event stream's body, which lasts as long as its
operation, is not part of it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from quart import Response, g, request
from quart_trio import QuartTrio

from actors.metrics import ControllerMetrics
from actors.metrics.buckets import REQUEST_BUCKETS
from web.streams import StreamRegistry

__all__ = ["PROTOCOLS", "instrument_app"]

PROTOCOLS = ("sse", "websocket")

UNMATCHED = "unmatched"

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Methods labelled as themselves; any other (clients may send any token) is ``other``."""


class _Requests:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.duration = Histogram(
            "nublado_http_request_duration_seconds",
            "HTTP requests until the response head, by method, route template and status",
            ["method", "route", "status"],
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )


class _Streams(Collector):
    def __init__(self, streams: StreamRegistry) -> None:
        self.streams = streams

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "nublado_event_stream_subscribers",
            "Open progress and inspection streams, by protocol",
            labels=["protocol"],
        )
        counts = self.streams.open_by_protocol()
        for protocol in PROTOCOLS:
            gauge.add_metric([protocol], counts.get(protocol, 0))
        yield gauge


def instrument_app(app: QuartTrio, metrics: ControllerMetrics, streams: StreamRegistry) -> None:
    """Time every HTTP request of ``app`` and count its open streams in ``metrics``."""
    requests = metrics.extension("http", _Requests)
    metrics.extension("streams", lambda registry: registry.register(_Streams(streams)))

    @app.before_request
    async def _start_timer() -> None:
        g.nublado_started = time.monotonic()

    @app.after_request
    async def _observe(response: Response) -> Response:
        started = g.get("nublado_started")
        if started is not None:
            rule = request.url_rule
            route = rule.rule if rule is not None else UNMATCHED
            method = request.method if request.method in METHODS else "other"
            requests.duration.labels(method, route, str(response.status_code)).observe(
                time.monotonic() - started
            )
        return response
