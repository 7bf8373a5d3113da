"""The controller's use of Gafaelfawr: answers are cached, outages are a clear 502, and
tokens never reach the logs.

Requests are counted by the switchboard in front of kubesim's fake Gafaelfawr
(``tests.web.auth_site``), which can also be switched into an outage.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import trio
from quart_trio import QuartTrio

from actors.config import ControllerConfig
from actors.gafaelfawr import GafaelfawrClient
from actors.runtime import ActorSystem
from kubesim.gafaelfawr import TokenRecord
from kubesim.site import Site
from tests.web.auth_site import (
    DEMO_TOKENS,
    GafaelfawrSwitchboard,
    add_probe_routes,
    auth_config,
    bearer,
    delegated,
    refused_url,
    run_gafaelfawr,
)
from tests.web.conftest import LogCapture, run_server
from web.app import create_app

ALICE = DEMO_TOKENS["alice"]
UNAVAILABLE = {
    "detail": [{"msg": "Authentication service unavailable", "type": "gafaelfawr_unavailable"}]
}


@pytest.fixture
async def gafaelfawr() -> AsyncIterator[tuple[Site, GafaelfawrSwitchboard]]:
    async with run_gafaelfawr() as running:
        yield running


@pytest.fixture
def switchboard(gafaelfawr: tuple[Site, GafaelfawrSwitchboard]) -> GafaelfawrSwitchboard:
    return gafaelfawr[1]


@pytest.fixture
def config(gafaelfawr: tuple[Site, GafaelfawrSwitchboard]) -> ControllerConfig:
    site, _ = gafaelfawr
    return auth_config(site.url or "", mode="ingress")


@pytest.fixture
def app(config: ControllerConfig, system: ActorSystem) -> QuartTrio:
    return add_probe_routes(create_app(config, system))


@asynccontextmanager
async def serving(
    config: ControllerConfig, system: ActorSystem
) -> AsyncIterator[httpx.AsyncClient]:
    """A controller with ``config`` and the probe routes, and a client for it."""
    app = add_probe_routes(create_app(config, system))
    async with (
        run_server(config, system, app=app) as server,
        httpx.AsyncClient(base_url=server.base_url, timeout=5.0) as client,
    ):
        yield client


# The cache.


async def test_repeated_calls_with_one_token_ask_gafaelfawr_once(
    client: httpx.AsyncClient, switchboard: GafaelfawrSwitchboard
) -> None:
    with trio.fail_after(10):
        for _ in range(5):
            response = await client.get("/probe/lab-form/alice", headers=delegated("alice", ALICE))
            assert response.status_code == 200
    assert switchboard.requests == {"user-info": 1}


async def test_each_token_is_looked_up_on_its_own(
    client: httpx.AsyncClient, switchboard: GafaelfawrSwitchboard
) -> None:
    with trio.fail_after(10):
        await client.get("/probe/lab-form/alice", headers=delegated("alice", ALICE))
        bob = await client.get("/probe/lab-form/bob", headers=delegated("bob", DEMO_TOKENS["bob"]))
        # A cached answer for alice's token does not vouch for bob's headers with it.
        mismatch = await client.get("/probe/lab-form/bob", headers=delegated("bob", ALICE))
    assert bob.json()["uid"] == 1002
    assert mismatch.status_code == 403
    assert switchboard.requests == {"user-info": 2}


async def test_zero_cache_seconds_asks_gafaelfawr_every_time(
    gafaelfawr: tuple[Site, GafaelfawrSwitchboard], system: ActorSystem
) -> None:
    site, switchboard = gafaelfawr
    config = auth_config(site.url or "", mode="ingress", cacheSeconds=0)
    with trio.fail_after(10):
        async with serving(config, system) as client:
            for _ in range(3):
                await client.get("/probe/lab-form/alice", headers=delegated("alice", ALICE))
    assert switchboard.requests == {"user-info": 3}


async def test_direct_mode_caches_token_info_and_user_info(
    gafaelfawr: tuple[Site, GafaelfawrSwitchboard], system: ActorSystem
) -> None:
    site, switchboard = gafaelfawr
    with trio.fail_after(10):
        async with serving(auth_config(site.url or "", mode="direct"), system) as client:
            for _ in range(3):
                response = await client.get("/probe/lab-form/alice", headers=bearer(ALICE))
                assert response.status_code == 200
    assert switchboard.requests == {"token-info": 1, "user-info": 1}


async def test_rejections_are_not_cached(
    client: httpx.AsyncClient, switchboard: GafaelfawrSwitchboard
) -> None:
    headers = delegated("alice", "alice-brand-new-token")
    with trio.fail_after(10):
        before = await client.get("/probe/lab-form/alice", headers=headers)
        switchboard.fake.data.add_token(
            TokenRecord(token="alice-brand-new-token", username="alice", scopes=())
        )
        after = await client.get("/probe/lab-form/alice", headers=headers)
    assert before.status_code == 401
    assert after.status_code == 200


# Outages.


@pytest.mark.parametrize("status", [500, 503, 404])
async def test_gafaelfawr_error_status_is_a_502(
    client: httpx.AsyncClient, switchboard: GafaelfawrSwitchboard, status: int
) -> None:
    switchboard.outage_status = status
    with trio.fail_after(10):
        response = await client.get("/probe/lab-form/alice", headers=delegated("alice", ALICE))
    assert response.status_code == 502
    assert response.json() == UNAVAILABLE


async def test_undecodable_gafaelfawr_reply_is_a_502(
    client: httpx.AsyncClient, switchboard: GafaelfawrSwitchboard
) -> None:
    switchboard.garbage = True
    with trio.fail_after(10):
        response = await client.get("/probe/lab-form/alice", headers=delegated("alice", ALICE))
    assert response.status_code == 502
    assert response.json() == UNAVAILABLE


async def test_outages_are_not_cached(
    client: httpx.AsyncClient, switchboard: GafaelfawrSwitchboard
) -> None:
    headers = delegated("alice", ALICE)
    with trio.fail_after(10):
        switchboard.outage_status = 503
        during = await client.get("/probe/lab-form/alice", headers=headers)
        switchboard.outage_status = None
        after = await client.get("/probe/lab-form/alice", headers=headers)
    assert during.status_code == 502
    assert after.status_code == 200


@pytest.mark.parametrize("mode", ["ingress", "direct"])
async def test_unreachable_gafaelfawr_is_a_502_in_both_modes(
    system: ActorSystem, mode: str
) -> None:
    headers = delegated("alice", ALICE) | bearer(ALICE)
    with trio.fail_after(10):
        async with serving(auth_config(refused_url(), mode=mode), system) as client:
            response = await client.get("/probe/lab-form/alice", headers=headers)
    assert response.status_code == 502
    assert response.json() == UNAVAILABLE


# Logs.


async def test_tokens_never_reach_the_logs(
    logs: LogCapture, client: httpx.AsyncClient, switchboard: GafaelfawrSwitchboard
) -> None:
    tokens = [ALICE, "alice-unknown-token", DEMO_TOKENS["expired"], DEMO_TOKENS["bob"]]
    with trio.fail_after(10):
        for token in tokens[:3]:
            await client.get("/probe/lab-form/alice", headers=delegated("alice", token))
        await client.get("/probe/lab-form/alice", headers=delegated("alice", tokens[3]))
        switchboard.outage_status = 503
        outage = await client.get("/probe/files", headers=delegated("bob", tokens[3] + "-x"))
        await logs.wait_for(lambda record: record.get("event") == "Gafaelfawr unavailable")
    assert outage.status_code == 502
    [warning] = [r for r in logs.records() if r.get("event") == "Gafaelfawr unavailable"]
    assert warning["reason"] == "HTTP status 503"
    assert warning["api"] == "user-info"
    assert logs.text  # requests and refusals were logged ...
    for token in tokens:
        assert token not in logs.text  # ... without a single token


async def test_direct_mode_refusals_log_no_token(
    logs: LogCapture, gafaelfawr: tuple[Site, GafaelfawrSwitchboard], system: ActorSystem
) -> None:
    site, _ = gafaelfawr
    tokens = [ALICE, "alice-unknown-token", DEMO_TOKENS["hub"]]
    with trio.fail_after(10):
        async with serving(auth_config(site.url or "", mode="direct"), system) as client:
            statuses = [
                (await client.get("/probe/hub", headers=bearer(token))).status_code
                for token in tokens
            ]
    assert statuses == [403, 401, 200]
    events = {record.get("event") for record in logs.records()}
    assert {"Token lacks the route's scope", "Bearer token rejected by Gafaelfawr"} <= events
    for token in tokens:
        assert token not in logs.text


# Lifetime.


async def test_server_closes_the_gafaelfawr_connections_when_it_stops(
    gafaelfawr: tuple[Site, GafaelfawrSwitchboard], system: ActorSystem
) -> None:
    site, _ = gafaelfawr
    config = auth_config(site.url or "", mode="ingress")
    gafaelfawr_client = GafaelfawrClient(site.url or "")
    app = add_probe_routes(create_app(config, system, gafaelfawr=gafaelfawr_client))
    with trio.fail_after(10):
        async with run_server(config, system, app=app) as server:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=5.0) as client:
                await client.get("/probe/lab-form/alice", headers=delegated("alice", ALICE))
            assert gafaelfawr_client.connected
    assert not gafaelfawr_client.connected
