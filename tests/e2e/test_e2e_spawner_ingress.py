"""Behind the Gafaelfawr ingress (``api.md`` §2.1 to §2.3, mechanisms A, B and C).

The controller runs in ingress mode: it trusts ``X-Auth-Request-User`` on user routes,
validates ``X-Auth-Request-Token`` with Gafaelfawr where the spec says so, and checks nothing
on hub routes. The tests play the ingress by sending those headers, as it would forward them.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest
import trio

from tests.e2e.harness import RunningController, fast_site_config, serving_controller
from tests.e2e.spawner_client import Credentials, demo_token, jupyterhub_env, open_spawner
from web.simulate import simulated_cluster


@pytest.fixture
async def behind_ingress() -> AsyncIterator[RunningController]:
    """A controller in ingress mode (the site URL, home of Gafaelfawr, is known only once the
    simulated cluster runs)."""
    async with simulated_cluster(fast_site_config()) as site:
        auth = {"mode": "ingress", "gafaelfawrUrl": site.url}
        async with serving_controller(site, config_overrides={"auth": auth}) as running:
            yield running


def forwarded(user: str, token_of: str | None = None) -> dict[str, str]:
    """The headers the ingress adds for ``user``, with the delegated token of ``token_of``."""
    return dict(Credentials.behind_ingress(user, demo_token(token_of or user)).user)


async def test_the_spawner_works_through_the_ingress(behind_ingress: RunningController) -> None:
    credentials = Credentials.behind_ingress("alice", demo_token("alice"))
    options = {"image_dropdown": [behind_ingress.image()], "size": ["small"]}
    with trio.fail_after(30):
        async with open_spawner(behind_ingress, "alice", credentials) as spawner:
            assert "size" in (await spawner.options_form())
            url = await spawner.start(options, jupyterhub_env("alice"))
            assert url == "http://lab.nublado-alice:8888/nb/user/alice/"
            assert spawner.progress[-1].progress == 75
            assert await spawner.poll() is None
            await spawner.stop()
            assert await spawner.poll() == 0
    store = behind_ingress.site.store
    namespaces, _ = store.list(store.resource("namespaces"))
    assert "nublado-alice" not in [n["metadata"]["name"] for n in namespaces]


async def test_the_ingress_identity_headers_are_checked(
    behind_ingress: RunningController,
) -> None:
    base = f"{behind_ingress.prefix}/spawner/v1"
    body = {
        "options": {"image_dropdown": [behind_ingress.image()], "size": ["small"]},
        "env": jupyterhub_env("alice"),
    }
    with trio.fail_after(30):
        async with httpx.AsyncClient(base_url=behind_ingress.url) as ingress:
            invalid = await ingress.post(
                f"{base}/labs/alice/create",
                json=body,
                headers=forwarded("alice", "expired-demo-token"),
            )
            someone_elses_token = await ingress.post(
                f"{base}/labs/alice/create", json=body, headers=forwarded("alice", "bob")
            )
            no_token = await ingress.get(
                f"{base}/lab-form/alice", headers={"X-Auth-Request-User": "alice"}
            )
            no_user = await ingress.get(f"{base}/labs/alice/events")
            identity_only = await ingress.get(
                f"{base}/labs/alice/events", headers={"X-Auth-Request-User": "alice"}
            )
            other_path = await ingress.get(f"{base}/labs/bob/events", headers=forwarded("alice"))
            hub_route = await ingress.get(f"{base}/labs/alice")
    assert invalid.status_code == 401
    assert invalid.json() == {"detail": [{"msg": "User token is invalid", "type": "invalid_token"}]}
    assert "WWW-Authenticate" not in invalid.headers
    assert someone_elses_token.status_code == 403
    assert someone_elses_token.json()["detail"][0]["type"] == "permission_denied"
    assert no_token.status_code == 422
    assert [e["loc"] for e in no_token.json()["detail"]] == [["header", "x-auth-request-token"]]
    assert no_user.status_code == 422
    assert [e["loc"] for e in no_user.json()["detail"]] == [["header", "x-auth-request-user"]]
    assert identity_only.status_code == 404, "mechanism B needs no token; alice is unknown"
    assert identity_only.json()["detail"][0]["type"] == "unknown_user"
    assert other_path.status_code == 403
    assert other_path.json()["detail"][0]["type"] == "permission_denied"
    assert hub_route.status_code == 404, "hub routes trust the ingress: no credential needed"
    assert hub_route.json()["detail"][0]["type"] == "unknown_user"


async def test_the_location_of_a_new_lab_uses_the_forwarded_scheme_and_host(
    behind_ingress: RunningController,
) -> None:
    body = {
        "options": {"image_dropdown": [behind_ingress.image()], "size": ["small"]},
        "env": jupyterhub_env("alice"),
    }
    headers = {
        **forwarded("alice"),
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "rsp.example.org",
    }
    path = f"{behind_ingress.prefix}/spawner/v1/labs/alice"
    with trio.fail_after(30):
        async with httpx.AsyncClient(base_url=behind_ingress.url) as ingress:
            created = await ingress.post(f"{path}/create", json=body, headers=headers)
    assert created.status_code == 201
    assert created.headers["Location"] == f"https://rsp.example.org{path}"


async def test_the_lab_secret_holds_the_token_the_ingress_delegated(
    behind_ingress: RunningController,
) -> None:
    credentials = Credentials.behind_ingress("alice", demo_token("alice"))
    options = {"image_dropdown": [behind_ingress.image()], "size": ["small"]}
    with trio.fail_after(30):
        async with open_spawner(behind_ingress, "alice", credentials) as spawner:
            await spawner.start(options, jupyterhub_env("alice"))
            events = await spawner.read_events()
    store = behind_ingress.site.store
    secret = store.get(store.resource("secrets"), "nublado-alice", "alice-nb")
    assert base64.b64decode(secret["data"]["token"]).decode() == demo_token("alice")
    assert all(demo_token("alice") not in event.data for event in events)
