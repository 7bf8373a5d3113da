"""The fake Gafaelfawr answers user-info and token-info like the real service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import trio

from kubesim.gafaelfawr import (
    FakeGafaelfawr,
    GafaelfawrData,
    TokenRecord,
    demo_gafaelfawr,
    parse_config,
)
from kubesim.http import serve_http

BASE = "/auth/api/v1"


@asynccontextmanager
async def served(fake: FakeGafaelfawr) -> AsyncIterator[httpx.AsyncClient]:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_http, fake)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            yield client
        nursery.cancel_scope.cancel()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_user_info_returns_the_demo_user_record() -> None:
    with trio.fail_after(10):
        async with served(FakeGafaelfawr()) as client:
            r = await client.get(f"{BASE}/user-info", headers=bearer("alice-demo-token"))
    assert r.status_code == 200
    assert r.json() == {
        "username": "alice",
        "name": "Alice Example",
        "email": "alice@example.org",
        "uid": 1001,
        "gid": 1001,
        "groups": [
            {"name": "alice", "id": 1001},
            {"name": "g_users", "id": 2000},
            {"name": "g_science", "id": 2001},
        ],
        "quota": {"notebook": {"cpu": 4.0, "memory": 16.0, "spawn": True}},
    }


async def test_bob_has_a_small_notebook_quota() -> None:
    with trio.fail_after(10):
        async with served(FakeGafaelfawr()) as client:
            r = await client.get(f"{BASE}/user-info", headers=bearer("bob-demo-token"))
    assert r.json()["quota"] == {"notebook": {"cpu": 1.0, "memory": 2.0, "spawn": True}}
    assert r.json()["uid"] == 1002


async def test_token_info_describes_the_token() -> None:
    with trio.fail_after(10):
        async with served(FakeGafaelfawr(demo_gafaelfawr(now=1_700_000_000))) as client:
            r = await client.get(f"{BASE}/token-info", headers=bearer("hub-demo-token"))
    assert r.status_code == 200
    assert r.json() == {
        "token": "hub-demo-token",
        "username": "bot-jupyterhub",
        "token_type": "service",
        "scopes": ["admin:jupyterlab"],
        "created": 1_700_000_000,
        "expires": None,
    }


async def test_token_info_reports_only_the_key_of_a_gafaelfawr_shaped_token() -> None:
    data = GafaelfawrData()
    data.add_token(
        TokenRecord(
            token="gt-abcdefghijklmnopqrstuv.secretpart",
            username="alice",
            scopes=("exec:notebook",),
            token_type="notebook",
            created=10,
            expires=4_000_000_000,
        )
    )
    with trio.fail_after(10):
        async with served(FakeGafaelfawr(data)) as client:
            r = await client.get(
                f"{BASE}/token-info", headers=bearer("gt-abcdefghijklmnopqrstuv.secretpart")
            )
    assert r.json()["token"] == "abcdefghijklmnopqrstuv"
    assert r.json()["expires"] == 4_000_000_000
    assert "secretpart" not in r.text


async def test_unknown_token_gets_401_with_a_bearer_challenge() -> None:
    with trio.fail_after(10):
        async with served(FakeGafaelfawr()) as client:
            r = await client.get(f"{BASE}/user-info", headers=bearer("no-such-token"))
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer ")
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    assert r.json() == {"detail": [{"msg": "Token is not valid", "type": "invalid_token"}]}
    assert "no-such-token" not in r.text


async def test_missing_token_gets_401() -> None:
    with trio.fail_after(10):
        async with served(FakeGafaelfawr()) as client:
            user_info = await client.get(f"{BASE}/user-info")
            token_info = await client.get(
                f"{BASE}/token-info", headers={"Authorization": "Basic x"}
            )
    assert user_info.status_code == 401
    assert token_info.status_code == 401
    assert user_info.json()["detail"][0]["msg"] == "Authentication required"


async def test_token_stops_working_when_it_expires() -> None:
    now = [1000.0]
    data = parse_config(
        "tokens: [{token: short, username: alice, scopes: [exec:notebook], expires_in: 60}]",
        now=1000.0,
    )
    with trio.fail_after(10):
        async with served(FakeGafaelfawr(data, clock=lambda: now[0])) as client:
            before = await client.get(f"{BASE}/token-info", headers=bearer("short"))
            now[0] = 1060.0
            after = await client.get(f"{BASE}/token-info", headers=bearer("short"))
    assert before.status_code == 200
    assert before.json()["expires"] == 1060
    assert after.status_code == 401


async def test_demo_expired_token_is_rejected() -> None:
    with trio.fail_after(10):
        async with served(FakeGafaelfawr()) as client:
            r = await client.get(f"{BASE}/user-info", headers=bearer("expired-demo-token"))
    assert r.status_code == 401


async def test_service_token_user_info_has_only_the_username() -> None:
    with trio.fail_after(10):
        async with served(FakeGafaelfawr()) as client:
            r = await client.get(f"{BASE}/user-info", headers=bearer("admin-demo-token"))
    assert r.json() == {
        "username": "admin",
        "name": None,
        "email": None,
        "uid": None,
        "gid": None,
        "groups": [],
        "quota": None,
    }


async def test_users_and_tokens_load_from_yaml() -> None:
    data = parse_config(
        """
        users:
          - username: zoe
            uid: 5000
            gid: 5001
            groups: [{name: astro, id: 7000}]
            quota: {notebook: {cpu: 0.5, memory: 1.5, spawn: false}}
        tokens:
          - {token: zoe-token, username: zoe, scopes: [read:image], token_type: notebook}
        """
    )
    with trio.fail_after(10):
        async with served(FakeGafaelfawr(data)) as client:
            user = await client.get(f"{BASE}/user-info", headers=bearer("zoe-token"))
            token = await client.get(f"{BASE}/token-info", headers=bearer("zoe-token"))
    assert (user.json()["uid"], user.json()["gid"]) == (5000, 5001)
    assert user.json()["groups"] == [{"name": "astro", "id": 7000}]
    assert user.json()["quota"] == {"notebook": {"cpu": 0.5, "memory": 1.5, "spawn": False}}
    assert token.json()["token_type"] == "notebook"
    assert token.json()["scopes"] == ["read:image"]


async def test_unknown_route_is_404() -> None:
    with trio.fail_after(10):
        async with served(FakeGafaelfawr()) as client:
            r = await client.get(f"{BASE}/nope", headers=bearer("alice-demo-token"))
    assert r.status_code == 404
