"""Ingress mode (the default): the controller's own checks of api.md §2.3, exactly.

Behind Gafaelfawr's ingress, hub and admin routes check nothing (A), header-identity routes
read ``X-Auth-Request-User`` (B), and delegated-token routes validate ``X-Auth-Request-Token``
with Gafaelfawr's user-info API (C). The mechanisms are exercised through test-only probe
routes (``tests.web.auth_site``) and the real admin routes, over HTTP, against kubesim's fake
Gafaelfawr.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import trio
from quart_trio import QuartTrio

from actors.config import ControllerConfig
from actors.runtime import ActorSystem
from kubesim.site import Site
from tests.web.auth_site import (
    DEMO_TOKENS,
    GafaelfawrSwitchboard,
    add_probe_routes,
    auth_config,
    delegated,
    run_gafaelfawr,
)
from web.app import create_app

ALICE = DEMO_TOKENS["alice"]
PERMISSION_DENIED = {"detail": [{"msg": "Permission denied", "type": "permission_denied"}]}
INVALID_TOKEN = {"detail": [{"msg": "User token is invalid", "type": "invalid_token"}]}


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


def _missing(*headers: str) -> list[dict[str, object]]:
    return [
        {"type": "missing", "loc": ["header", name], "msg": "Field required", "input": None}
        for name in headers
    ]


# (A) Hub and admin routes trust the ingress.


async def test_hub_and_admin_routes_need_no_identity(
    client: httpx.AsyncClient, switchboard: GafaelfawrSwitchboard
) -> None:
    with trio.fail_after(10):
        for path in ("/probe/hub", "/nublado", "/nublado/admin/actors", "/"):
            response = await client.get(path)
            assert response.status_code == 200, path
    assert switchboard.total == 0


# (B) Header identity.


async def test_header_identity_is_the_ingress_username(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        response = await client.get("/probe/user-status", headers={"X-Auth-Request-User": "alice"})
    assert response.status_code == 200
    assert response.json() == {"username": "alice"}


async def test_header_identity_without_the_header_is_422(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        response = await client.get("/probe/user-status")
    assert response.status_code == 422
    assert response.json() == {"detail": _missing("x-auth-request-user")}


async def test_header_identity_for_another_users_path_is_403(
    client: httpx.AsyncClient,
) -> None:
    with trio.fail_after(5):
        response = await client.get(
            "/probe/labs/bob/events", headers={"X-Auth-Request-User": "alice"}
        )
    assert response.status_code == 403
    assert response.json() == PERMISSION_DENIED


async def test_header_identity_does_not_validate_any_token(
    client: httpx.AsyncClient, switchboard: GafaelfawrSwitchboard
) -> None:
    with trio.fail_after(5):
        response = await client.get(
            "/probe/labs/alice/events", headers=delegated("alice", "not-a-real-token")
        )
    assert response.json() == {"username": "alice"}
    assert switchboard.total == 0


# (C) Validated delegated token.


async def test_delegated_user_gets_the_gafaelfawr_user_record(
    client: httpx.AsyncClient,
) -> None:
    with trio.fail_after(5):
        response = await client.get("/probe/lab-form/alice", headers=delegated("alice", ALICE))
    assert response.status_code == 200
    assert response.json() == {
        "username": "alice",
        "uid": 1001,
        "name": "Alice Example",
        "token_is_from_request": True,
    }


async def test_delegated_user_without_uid_is_still_authenticated(
    client: httpx.AsyncClient,
) -> None:
    # Refusing a spawn for lack of a uid is the lab route's business, not authentication's.
    with trio.fail_after(5):
        response = await client.get(
            "/probe/lab-form/carol", headers=delegated("carol", DEMO_TOKENS["carol"])
        )
    assert response.status_code == 200
    assert response.json()["uid"] is None


@pytest.mark.parametrize(
    ("headers", "missing"),
    [
        ({"X-Auth-Request-Token": ALICE}, ["x-auth-request-user"]),
        ({"X-Auth-Request-User": "alice"}, ["x-auth-request-token"]),
        ({}, ["x-auth-request-user", "x-auth-request-token"]),
    ],
)
async def test_delegated_user_without_a_header_is_422_before_gafaelfawr_is_asked(
    client: httpx.AsyncClient,
    switchboard: GafaelfawrSwitchboard,
    headers: dict[str, str],
    missing: list[str],
) -> None:
    with trio.fail_after(5):
        response = await client.get("/probe/lab-form/alice", headers=headers)
    assert response.status_code == 422
    assert response.json() == {"detail": _missing(*missing)}
    assert switchboard.total == 0


@pytest.mark.parametrize("token", ["no-such-token", DEMO_TOKENS["expired"], "two words"])
async def test_delegated_token_rejected_by_gafaelfawr_is_401_without_challenge(
    client: httpx.AsyncClient, token: str
) -> None:
    with trio.fail_after(5):
        response = await client.get("/probe/lab-form/alice", headers=delegated("alice", token))
    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN
    assert "www-authenticate" not in response.headers


async def test_delegated_token_of_another_user_is_403(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        response = await client.get("/probe/lab-form/bob", headers=delegated("bob", ALICE))
    assert response.status_code == 403
    assert response.json() == PERMISSION_DENIED


async def test_path_naming_another_user_is_403_after_authentication(
    client: httpx.AsyncClient,
) -> None:
    with trio.fail_after(5):
        response = await client.get("/probe/lab-form/bob", headers=delegated("alice", ALICE))
    assert response.status_code == 403
    assert response.json() == PERMISSION_DENIED


async def test_files_route_uses_the_delegated_token_too(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        good = await client.get("/probe/files", headers=delegated("bob", DEMO_TOKENS["bob"]))
        bad = await client.get("/probe/files", headers=delegated("bob", "no-such-token"))
        missing = await client.get("/probe/files", headers={"X-Auth-Request-User": "bob"})
    assert good.json()["username"] == "bob"
    assert bad.status_code == 401
    assert missing.status_code == 422


# Order of evaluation: headers → Gafaelfawr → username match → body → route checks.


async def test_invalid_token_wins_over_a_bad_body_and_another_users_path(
    client: httpx.AsyncClient,
) -> None:
    with trio.fail_after(5):
        response = await client.post(
            "/probe/labs/bob/create", headers=delegated("alice", "no-such-token"), content=b"{"
        )
    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN


async def test_username_mismatch_wins_over_a_bad_body(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        response = await client.post(
            "/probe/labs/alice/create", headers=delegated("bob", ALICE), content=b"{"
        )
    assert response.status_code == 403


async def test_bad_body_wins_over_another_users_path(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        response = await client.post(
            "/probe/labs/bob/create", headers=delegated("alice", ALICE), json={}
        )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "size"]


async def test_valid_body_for_another_users_path_is_403(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        response = await client.post(
            "/probe/labs/bob/create", headers=delegated("alice", ALICE), json={"size": "small"}
        )
    assert response.status_code == 403
    assert response.json() == PERMISSION_DENIED


async def test_valid_create_reaches_the_route(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        response = await client.post(
            "/probe/labs/alice/create", headers=delegated("alice", ALICE), json={"size": "small"}
        )
    assert response.status_code == 200
    assert response.json()["size"] == "small"


async def test_ingress_mode_ignores_authorization_headers(
    client: httpx.AsyncClient, switchboard: GafaelfawrSwitchboard
) -> None:
    # §2.1: the controller never inspects Authorization behind the ingress.
    with trio.fail_after(5):
        response = await client.get(
            "/nublado/admin/actors", headers={"Authorization": "Bearer no-such-token"}
        )
    assert response.status_code == 200
    assert switchboard.total == 0
