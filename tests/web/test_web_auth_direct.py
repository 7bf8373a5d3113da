"""Direct mode (``auth.mode: direct``): the controller checks bearer tokens and scopes itself.

Every route but root ``/`` needs ``Authorization: Bearer``; the token's scopes decide the
group (hub ``admin:jupyterlab``, user ``exec:notebook``, files ``write:files``, admin
``exec:admin``), and on user routes the token's owner is the caller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import trio
from quart_trio import QuartTrio
from trio_websocket import open_websocket_url

from actors.config import ControllerConfig
from actors.runtime import ActorSystem
from kubesim.site import Site
from tests.web.auth_site import (
    DEMO_TOKENS,
    NOTEBOOK_ONLY_TOKEN,
    GafaelfawrSwitchboard,
    add_probe_routes,
    auth_config,
    bearer,
    run_gafaelfawr,
)
from web.app import create_app
from web.server import RunningServer

ALICE = DEMO_TOKENS["alice"]
HUB = DEMO_TOKENS["hub"]
ADMIN = DEMO_TOKENS["admin"]


@pytest.fixture
async def gafaelfawr() -> AsyncIterator[tuple[Site, GafaelfawrSwitchboard]]:
    async with run_gafaelfawr() as running:
        yield running


@pytest.fixture
def config(gafaelfawr: tuple[Site, GafaelfawrSwitchboard]) -> ControllerConfig:
    site, _ = gafaelfawr
    return auth_config(site.url or "", mode="direct")


@pytest.fixture
def app(config: ControllerConfig, system: ActorSystem) -> QuartTrio:
    return add_probe_routes(create_app(config, system))


def _denied(scope: str) -> dict[str, object]:
    message = f"Permission denied: the {scope} scope is required"
    return {"detail": [{"msg": message, "type": "permission_denied"}]}


async def test_root_health_route_stays_open(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        response = await client.get("/")
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/nublado", "/nublado/admin/actors", "/probe/hub"])
async def test_request_without_a_bearer_token_is_401_with_a_challenge(
    client: httpx.AsyncClient, path: str
) -> None:
    with trio.fail_after(5):
        response = await client.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {
        "detail": [{"msg": "Authentication required", "type": "invalid_token"}]
    }


@pytest.mark.parametrize(
    "authorization", ["Basic YWxpY2U6c2VjcmV0", "Bearer", f"Token {ADMIN}", ADMIN]
)
async def test_authorization_that_is_not_a_bearer_token_is_401(
    client: httpx.AsyncClient, authorization: str
) -> None:
    with trio.fail_after(5):
        response = await client.get("/nublado", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("token", ["no-such-token", DEMO_TOKENS["expired"]])
async def test_unknown_or_expired_bearer_token_is_401_invalid_token(
    client: httpx.AsyncClient, token: str
) -> None:
    with trio.fail_after(5):
        response = await client.get("/nublado", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.json() == {
        "detail": [{"msg": "User token is invalid", "type": "invalid_token"}]
    }


async def test_admin_routes_need_exec_admin(client: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        for path in ("/nublado", "/nublado/admin/actors"):
            assert (await client.get(path, headers=bearer(ADMIN))).status_code == 200
            for token in (ALICE, HUB):
                refused = await client.get(path, headers=bearer(token))
                assert refused.status_code == 403, (path, token)
                assert refused.json() == _denied("exec:admin")


async def test_hub_routes_need_admin_jupyterlab(client: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        assert (await client.get("/probe/hub", headers=bearer(HUB))).status_code == 200
        for token in (ALICE, ADMIN):
            refused = await client.get("/probe/hub", headers=bearer(token))
            assert refused.status_code == 403
            assert refused.json() == _denied("admin:jupyterlab")


async def test_user_routes_take_the_caller_from_the_token(client: httpx.AsyncClient) -> None:
    # Identity headers from the client are not trusted without the ingress.
    headers = bearer(ALICE) | {"X-Auth-Request-User": "bob", "X-Auth-Request-Token": "x"}
    with trio.fail_after(10):
        status = await client.get("/probe/user-status", headers=headers)
        form = await client.get("/probe/lab-form/alice", headers=headers)
    assert status.json() == {"username": "alice"}
    assert form.json() == {
        "username": "alice",
        "uid": 1001,
        "name": "Alice Example",
        "token_is_from_request": True,
    }


async def test_user_routes_refuse_tokens_without_exec_notebook(
    client: httpx.AsyncClient,
) -> None:
    with trio.fail_after(10):
        for token in (HUB, ADMIN):
            for path in ("/probe/user-status", "/probe/labs/bob/events", "/probe/lab-form/bob"):
                refused = await client.get(path, headers=bearer(token))
                assert refused.status_code == 403, (path, token)
                assert refused.json() == _denied("exec:notebook")


async def test_user_routes_refuse_another_users_path(client: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        events = await client.get("/probe/labs/bob/events", headers=bearer(ALICE))
        create = await client.post(
            "/probe/labs/bob/create", headers=bearer(ALICE), json={"size": "small"}
        )
    assert events.status_code == 403
    assert create.status_code == 403


async def test_create_with_a_bad_body_is_422_after_the_token_check(
    client: httpx.AsyncClient,
) -> None:
    with trio.fail_after(10):
        unauthenticated = await client.post("/probe/labs/bob/create", content=b"{")
        malformed = await client.post("/probe/labs/bob/create", headers=bearer(ALICE), content=b"{")
    assert unauthenticated.status_code == 401
    assert malformed.status_code == 422


async def test_files_route_needs_write_files(client: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        allowed = await client.get("/probe/files", headers=bearer(ALICE))
        refused = await client.get("/probe/files", headers=bearer(NOTEBOOK_ONLY_TOKEN))
        still_a_user = await client.get("/probe/user-status", headers=bearer(NOTEBOOK_ONLY_TOKEN))
    assert allowed.json()["username"] == "alice"
    assert refused.status_code == 403
    assert refused.json() == _denied("write:files")
    assert still_a_user.json() == {"username": "alice"}


def _ws_url(server: RunningServer) -> str:
    return server.base_url.replace("http://", "ws://") + "/nublado/admin/actors/ws"


async def _upgrade(server: RunningServer, headers: dict[str, str]) -> httpx.Response:
    """A WebSocket handshake request whose refusal is read as a plain HTTP response.

    One connection per request: hypercorn 0.18 fails on a second request sent on a
    connection whose upgrade was refused (reported separately; not an auth matter).
    """
    upgrade = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    async with httpx.AsyncClient(base_url=server.base_url, timeout=5.0) as client:
        return await client.get("/nublado/admin/actors/ws", headers=upgrade | headers)


async def test_admin_websocket_refuses_the_handshake_without_an_admin_token(
    server: RunningServer,
) -> None:
    with trio.fail_after(10):
        anonymous = await _upgrade(server, {})
        user = await _upgrade(server, bearer(ALICE))
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert user.status_code == 403


async def test_admin_websocket_accepts_an_admin_token(server: RunningServer) -> None:
    with trio.fail_after(10):
        async with open_websocket_url(
            _ws_url(server), extra_headers=[(b"Authorization", f"Bearer {ADMIN}".encode())]
        ) as connection:
            try:
                tree = await connection.get_message()
                assert '"name"' in tree
            finally:
                await connection.aclose()
                await connection._stream.aclose()
