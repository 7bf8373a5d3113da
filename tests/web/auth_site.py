"""Test support for the auth tests: kubesim's fake Gafaelfawr behind a counting switchboard.

kubesim's ``FakeGafaelfawr`` keeps no request count and cannot fail on demand, so the tests
mount it behind :class:`GafaelfawrSwitchboard`, which counts every request per API
(``user-info``, ``token-info``) and can be switched to answer with an outage status, with an
undecodable body, or slowly. It runs on a real kubesim site on 127.0.0.1 (port 0).
"""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import trio
from pydantic import BaseModel
from quart import request
from quart_trio import QuartTrio

from actors.config import ControllerConfig
from kubesim.gafaelfawr import API_PREFIX, FakeGafaelfawr, TokenRecord
from kubesim.http import Request, Response
from kubesim.site import Site, run_site
from tests.web.conftest import minimal_config_data
from web.auth import (
    Caller,
    RouteGroup,
    delegated_user,
    files_user,
    header_identity,
    require_group,
)
from web.errors import parse_body

DEMO_TOKENS = {
    "alice": "alice-demo-token",
    "bob": "bob-demo-token",
    "carol": "carol-demo-token",
    "hub": "hub-demo-token",
    "admin": "admin-demo-token",
    "expired": "expired-demo-token",
}
"""Bearer strings of kubesim's demo data (kubesim/data/gafaelfawr.yaml)."""

NOTEBOOK_ONLY_TOKEN = "alice-notebook-only-token"
"""Added by :func:`run_gafaelfawr`: alice's token with ``exec:notebook`` and nothing else."""


@dataclass
class GafaelfawrSwitchboard:
    """Wraps the fake: counts requests, and fails on demand."""

    fake: FakeGafaelfawr = field(default_factory=FakeGafaelfawr)
    requests: Counter[str] = field(default_factory=Counter)
    outage_status: int | None = None
    """When set, every request is answered with this status (and a JSON error body)."""
    garbage: bool = False
    """When set, every request is answered 200 with a body that is not the expected JSON."""
    delay: float = 0.0
    """Seconds to wait before answering."""

    async def __call__(self, request: Request) -> Response:
        self.requests[request.path.rsplit("/", 1)[-1]] += 1
        if self.delay:
            await trio.sleep(self.delay)
        if self.outage_status is not None:
            body = {"detail": [{"msg": "Service unavailable", "type": "outage"}]}
            return Response.json(self.outage_status, body)
        if self.garbage:
            return Response(200, b"<html>maintenance</html>", [("content-type", "text/html")])
        return await self.fake(request)

    @property
    def total(self) -> int:
        return sum(self.requests.values())


@asynccontextmanager
async def run_gafaelfawr() -> AsyncIterator[tuple[Site, GafaelfawrSwitchboard]]:
    """A kubesim site serving only the switchboard-wrapped fake Gafaelfawr."""
    switchboard = GafaelfawrSwitchboard()
    switchboard.fake.data.add_token(
        TokenRecord(token=NOTEBOOK_ONLY_TOKEN, username="alice", scopes=("exec:notebook",))
    )

    def setup(site: Site) -> None:
        site.mount(API_PREFIX, switchboard)

    async with run_site(setup=setup) as site:
        yield site, switchboard


def auth_config(gafaelfawr_url: str, mode: str = "ingress", **auth: Any) -> ControllerConfig:
    """The minimal test configuration with an ``auth`` section."""
    section = {"mode": mode, "gafaelfawrUrl": gafaelfawr_url, **auth}
    return ControllerConfig.model_validate(minimal_config_data(auth=section))


def refused_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (the port was just released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def delegated(username: str, token: str) -> dict[str, str]:
    """The headers the Gafaelfawr ingress adds on delegating routes."""
    return {"X-Auth-Request-User": username, "X-Auth-Request-Token": token}


class LabRequest(BaseModel):
    """A stand-in for a create body: one required field is enough to test the order."""

    size: str


def add_probe_routes(app: QuartTrio) -> QuartTrio:
    """Test-only routes, one per mechanism of api.md §2.3, each echoing what it learnt."""

    @app.get("/probe/hub")
    async def hub_route() -> dict[str, Any]:
        await require_group(RouteGroup.HUB)
        return {"ok": True}

    @app.get("/probe/user-status")
    async def user_status() -> dict[str, Any]:
        return {"username": await header_identity()}

    @app.get("/probe/labs/<username>/events")
    async def events(username: str) -> dict[str, Any]:
        return {"username": await header_identity(username)}

    @app.post("/probe/labs/<username>/create")
    async def create(username: str) -> dict[str, Any]:
        caller = await delegated_user()
        body = await parse_body(LabRequest)
        caller.ensure_owns(username)
        return _caller_json(caller) | {"size": body.size}

    @app.get("/probe/lab-form/<username>")
    async def lab_form(username: str) -> dict[str, Any]:
        caller = await delegated_user()
        caller.ensure_owns(username)
        return _caller_json(caller)

    @app.get("/probe/files")
    async def files() -> dict[str, Any]:
        return _caller_json(await files_user())

    return app


def _caller_json(caller: Caller) -> dict[str, Any]:
    # Whether the delegated token is the one the request carried (header or bearer), without
    # echoing the token itself.
    sent = {request.headers.get("X-Auth-Request-Token"), _bearer_of(request.headers)}
    return {
        "username": caller.username,
        "uid": caller.user.uid,
        "name": caller.user.name,
        "token_is_from_request": caller.token in sent,
    }


def _bearer_of(headers: Any) -> str | None:
    value = headers.get("Authorization", "")
    return value[len("Bearer ") :] if value.startswith("Bearer ") else None
