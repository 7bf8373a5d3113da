"""The dashboard's routes over real HTTP: sign-in, the session cookie, CSRF, both auth modes.

Direct mode: a token with ``exec:admin`` is traded for a session cookie (HttpOnly,
SameSite=Strict, Secure except over loopback HTTP) that only the dashboard's routes honour;
actions need the session's CSRF token. Ingress mode: the ingress signs people in; actions
need the keyed CSRF token the page is given.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from http.cookies import SimpleCookie

import httpx
import pytest
import trio

from tests.e2e.harness import RunningController, fast_site_config, serving_controller
from tests.e2e.resilience_support import finished_events, spawn_body
from tests.e2e.spawner_client import demo_token
from web.dashboard.access import COOKIE_NAME
from web.simulate import simulated_cluster

DEADLINE = 30


def _set_cookie(response: httpx.Response) -> SimpleCookie:
    cookie = SimpleCookie()
    cookie.load(response.headers["set-cookie"])
    return cookie


async def _sign_in(nublado: RunningController, client: httpx.AsyncClient, token: str) -> str:
    """Sign ``client`` in with ``token``; return the page's CSRF token."""
    response = await client.post(f"{nublado.prefix}/admin/login", data={"token": token})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"{nublado.prefix}/admin/"
    client.cookies.set(COOKIE_NAME, _set_cookie(response)[COOKIE_NAME].value)
    session = (await client.get(f"{nublado.prefix}/admin/session")).json()
    assert session["user"] == "admin"
    assert session["via"] == "session"
    csrf: str = session["csrf"]
    return csrf


async def _spawn(nublado: RunningController, user: str) -> None:
    async with nublado.client(user) as client:
        url = f"{nublado.prefix}/spawner/v1/labs/{user}/create"
        created = await client.post(url, json=spawn_body(nublado, user))
        assert created.status_code == 201, created.text
        assert (await finished_events(client, nublado.prefix, user))[-1].type == "complete"


async def test_a_browser_without_a_session_is_sent_to_sign_in(nublado: RunningController) -> None:
    prefix = nublado.prefix
    with trio.fail_after(DEADLINE):
        async with nublado.client() as browser:
            page = await browser.get(f"{prefix}/admin/")
            assert page.status_code == 303
            assert page.headers["location"] == f"{prefix}/admin/login"
            form = await browser.get(f"{prefix}/admin/login")
            assert form.status_code == 200
            assert 'name="token"' in form.text
            assert "frame-ancestors 'none'" in form.headers["content-security-policy"]
            for path in ("/admin/session", "/admin/labs", "/admin/labs/alice"):
                refused = await browser.get(prefix + path)
                assert refused.status_code == 401, path


async def test_signing_in_sets_a_strict_http_only_cookie(
    nublado: RunningController, capfd: pytest.CaptureFixture[str]
) -> None:
    prefix = nublado.prefix
    with trio.fail_after(DEADLINE):
        async with nublado.client() as browser:
            response = await browser.post(
                f"{prefix}/admin/login", data={"token": demo_token("admin")}
            )
            assert response.status_code == 303
            cookie = _set_cookie(response)[COOKIE_NAME]
            assert cookie["httponly"] is True
            assert cookie["samesite"] == "Strict"
            assert cookie["path"] == f"{prefix}/admin/"
            assert not cookie["secure"]  # loopback over HTTP: browsers would drop a Secure one
            assert 0 < int(cookie["max-age"]) <= 8 * 3600
            assert demo_token("admin") not in response.headers["set-cookie"]
            browser.cookies.set(COOKIE_NAME, cookie.value)
            page = await browser.get(f"{prefix}/admin/")
            assert page.status_code == 200
            assert 'src="static/dashboard.js"' in page.text
            script = await browser.get(f"{prefix}/admin/static/dashboard.js")
            assert script.headers["content-type"].startswith("text/javascript")
            style = await browser.get(f"{prefix}/admin/static/dashboard.css")
            assert style.headers["content-type"].startswith("text/css")
            assert (await browser.get(f"{prefix}/admin/static/other.js")).status_code == 404
            # Anywhere but loopback, the cookie is Secure.
            remote = await browser.post(
                f"{prefix}/admin/login",
                data={"token": demo_token("admin")},
                headers={"Host": "nublado.example.org"},
            )
            assert _set_cookie(remote)[COOKIE_NAME]["secure"] is True
    # Neither the token nor the session's identifier ever reaches the logs.
    logged = "".join(capfd.readouterr())
    assert "POST /nublado/admin/login 303" in logged
    assert demo_token("admin") not in logged
    assert cookie.value not in logged


async def test_only_admin_tokens_sign_in(nublado: RunningController) -> None:
    prefix = nublado.prefix
    with trio.fail_after(DEADLINE):
        async with nublado.client() as browser:
            for token, headers, error, words in (
                (demo_token("alice"), {}, "scope", "lacks the exec:admin scope"),
                ("no-such-token", {}, "rejected", "not accepted"),
                ("", {}, "missing", "Paste a token"),
                ("x" * 5000, {}, "missing", "Paste a token"),
                (demo_token("admin"), {"Origin": "https://evil.example.com"}, "origin", "site"),
                (demo_token("admin"), {"Origin": "null"}, "origin", "another site"),
            ):
                response = await browser.post(
                    f"{prefix}/admin/login", data={"token": token}, headers=headers
                )
                assert response.status_code == 303
                assert response.headers["location"] == f"{prefix}/admin/login?error={error}"
                assert "set-cookie" not in response.headers
                form = await browser.get(response.headers["location"])
                assert form.status_code == 200
                assert words in form.text
                assert token[:100] not in form.text or not token
            own = await browser.post(
                f"{prefix}/admin/login",
                data={"token": demo_token("admin")},
                headers={"Origin": nublado.url},
            )
            assert own.status_code == 303
            assert own.headers["location"] == f"{prefix}/admin/"
            # Unknown error codes show no message (nothing from the query is reflected).
            odd = await browser.get(f"{prefix}/admin/login?error=<script>")
            assert "<script>" not in odd.text
            assert 'role="alert"' not in odd.text


async def test_the_cookie_opens_the_dashboard_routes_only(nublado: RunningController) -> None:
    prefix = nublado.prefix
    with trio.fail_after(DEADLINE):
        await _spawn(nublado, "alice")
        async with nublado.client() as browser:
            await _sign_in(nublado, browser, demo_token("admin"))
            labs = (await browser.get(f"{prefix}/admin/labs")).json()
            assert [(row["user"], row["status"], row["progress"]) for row in labs] == [
                ("alice", "running", 100)
            ]
            assert labs[0]["outcome"] == "complete"
            detail = (await browser.get(f"{prefix}/admin/labs/alice")).json()
            assert detail["state"]["status"] == "running"
            assert detail["events"][0]["message"] == "Starting lab creation for alice"
            assert detail["events"][-1]["event"] == "complete"
            objects = {(o["kind"], o["name"]): o["phase"] for o in detail["objects"]}
            assert objects[("Namespace", "nublado-alice")] == "Active"
            assert objects[("Pod", "alice-nb")] == "Running"
            assert ("Secret", "alice-nb") in objects
            # The cookie is no token: the rest of the API still wants one.
            for path in ("/admin/actors", "/spawner/v1/images", "/spawner/v1/labs"):
                assert (await browser.get(prefix + path)).status_code == 401, path
            unknown = await browser.get(f"{prefix}/admin/labs/nobody")
            assert unknown.status_code == 404
            invalid = await browser.get(f"{prefix}/admin/labs/Not_A_User")
            assert invalid.status_code == 422


async def test_actions_need_the_csrf_token_and_the_own_origin(nublado: RunningController) -> None:
    prefix = nublado.prefix
    with trio.fail_after(DEADLINE):
        await _spawn(nublado, "alice")
        async with nublado.client() as browser, nublado.client("hub") as hub:
            csrf = await _sign_in(nublado, browser, demo_token("admin"))
            url = f"{prefix}/admin/labs/alice"
            missing = await browser.delete(url)
            assert missing.status_code == 403
            assert "X-CSRF-Token" in missing.text
            wrong = await browser.delete(url, headers={"X-CSRF-Token": csrf[:-1] + "x"})
            assert wrong.status_code == 403
            foreign = await browser.delete(
                url, headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example.com"}
            )
            assert foreign.status_code == 403
            assert (await hub.get(f"{prefix}/spawner/v1/labs/alice")).status_code == 200
            deleted = await browser.delete(url, headers={"X-CSRF-Token": csrf})
            assert deleted.status_code == 204
            assert (await hub.get(f"{prefix}/spawner/v1/labs/alice")).status_code == 404
            # Signing out ends the session for every route.
            assert (await browser.post(f"{prefix}/admin/logout")).status_code == 403
            out = await browser.post(f"{prefix}/admin/logout", headers={"X-CSRF-Token": csrf})
            assert out.status_code == 204
            assert (await browser.get(f"{prefix}/admin/labs")).status_code == 401


async def test_bearer_tokens_work_without_a_session(nublado: RunningController) -> None:
    prefix = nublado.prefix
    with trio.fail_after(DEADLINE):
        await _spawn(nublado, "alice")
        async with nublado.client("admin") as admin, nublado.client("alice") as alice:
            assert (await alice.get(f"{prefix}/admin/labs")).status_code == 403
            assert (await alice.delete(f"{prefix}/admin/labs/alice")).status_code == 403
            rows = (await admin.get(f"{prefix}/admin/labs")).json()
            assert [row["user"] for row in rows] == ["alice"]
            # A bearer token is not sent by browsers on their own: no CSRF token needed.
            assert (await admin.delete(f"{prefix}/admin/labs/alice")).status_code == 204
            assert (await admin.get(f"{prefix}/admin/labs")).json() == []


@pytest.fixture
async def behind_ingress() -> AsyncIterator[RunningController]:
    async with simulated_cluster(fast_site_config()) as site:
        auth = {"mode": "ingress", "gafaelfawrUrl": site.url}
        async with serving_controller(site, config_overrides={"auth": auth}) as running:
            yield running


async def test_behind_the_ingress_the_page_needs_no_sign_in_but_actions_need_csrf(
    behind_ingress: RunningController,
) -> None:
    nublado = behind_ingress
    prefix = nublado.prefix
    identity = {"X-Auth-Request-User": "admin"}
    with trio.fail_after(DEADLINE):
        async with httpx.AsyncClient(base_url=nublado.url, headers=identity) as browser:
            assert (await browser.get(f"{prefix}/admin/")).status_code == 200
            login = await browser.get(f"{prefix}/admin/login")
            assert login.status_code == 303
            assert login.headers["location"] == f"{prefix}/admin/"
            session = (await browser.get(f"{prefix}/admin/session")).json()
            assert (session["user"], session["via"], session["mode"]) == (
                "admin",
                "ingress",
                "ingress",
            )
            other = await browser.get(
                f"{prefix}/admin/session", headers={"X-Auth-Request-User": "root"}
            )
            assert other.json()["csrf"] != session["csrf"]  # bound to the operator
            headers = {
                "X-Auth-Request-User": "alice",
                "X-Auth-Request-Token": demo_token("alice"),
            }
            created = await browser.post(
                f"{prefix}/spawner/v1/labs/alice/create",
                json=spawn_body(nublado, "alice"),
                headers=headers,
            )
            assert created.status_code == 201, created.text
            url = f"{prefix}/admin/labs/alice"
            assert (await browser.delete(url)).status_code == 403
            assert (
                await browser.delete(url, headers={"X-CSRF-Token": other.json()["csrf"]})
            ).status_code == 403
            deleted = await browser.delete(url, headers={"X-CSRF-Token": session["csrf"]})
            assert deleted.status_code == 204
