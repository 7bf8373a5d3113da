"""Route failures reach the alert channel: method and path (never the query), the error
redacted, and nothing reported for ordinary refusals."""

from __future__ import annotations

import httpx
import trio

from actors.alerts import Alert, AlertReporter, AlertStats, bound_reporter
from actors.config import ControllerConfig
from actors.runtime import Actor, ActorRef, ActorSystem
from tests.web.conftest import run_server
from tests.web.trees import small_system
from web.app import create_app


class CapturingReporter(AlertReporter):
    """The real reporter (redaction included), keeping alerts instead of telling an actor."""

    def __init__(self) -> None:
        super().__init__(ActorRef("unused", lambda: _Unused()), AlertStats(), ())
        self.alerts: list[Alert] = []

    def _send(self, alert: Alert) -> None:
        self.alerts.append(alert)


class _Unused(Actor):
    kind = "unused"


async def test_an_unhandled_route_error_is_alerted_with_its_route(config: ControllerConfig) -> None:
    system: ActorSystem = small_system()
    app = create_app(config, system)

    @app.get("/test/crash")
    async def crash() -> dict[str, str]:
        raise RuntimeError("route exploded while sending Bearer abcdefghijklmnop")

    reporter = CapturingReporter()
    with trio.fail_after(15), bound_reporter(reporter):
        async with (
            run_server(config, system, app=app) as server,
            httpx.AsyncClient(base_url=server.base_url) as http,
        ):
            crashed = await http.get("/test/crash?token=query-secret")
            refused = await http.get("/no/such/route")
    assert crashed.status_code == 500
    assert refused.status_code == 404
    [alert] = reporter.alerts
    assert alert.operation == "request"
    assert alert.error == (
        "GET /test/crash: unhandled RuntimeError: route exploded while sending Bearer <redacted>"
    )
