"""Every status code the API document names is answered by the controller in this test.

Two controllers (direct and ingress authentication, the two documents) get one scripted
visit each: every authentication refusal the document lists is provoked for every operation
(generated from the document itself, so a new operation is covered as soon as it is
documented), then each route's own answers are produced one by one. What was answered is
read back from the controllers' own HTTP metrics (method, route template, status) and must
include every documented (method, path, status), ``default`` aside.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import trio

from kubesim.gafaelfawr import API_PREFIX, FakeGafaelfawr, TokenRecord, UserRecord
from kubesim.site import SiteConfig
from kubesim.store import StoreConfig
from tests.e2e.api_document_support import documented_statuses, openapi_path
from tests.e2e.harness import RunningController, serving_controller
from tests.e2e.metrics_support import scrape
from tests.e2e.resilience_support import finished_events, spawn_body
from web.simulate import DEMO_TOKENS, simulated_cluster

pytestmark = pytest.mark.timeout(180)

EXITS = {
    "migrator-alice-to-bob": {"after": 30.0, "code": 0},
    "migrator-carol-to-dave": {"after": 0.0, "code": 4},
    "migrator-erin-to-frank": {"after": 0.0, "code": 6},
    "migrator-frank-to-erin": {"after": 0.0, "code": 7},
}
"""Migrations the kubelet runs to an exit code (see ``kubesim/kubelet.py``)."""

BAD_OWNER_TOKEN = "bad-owner-token"
"""A token Gafaelfawr accepts whose owner breaks the username rule."""

WRONG_SCOPE = {"admin": "hub", "hub": "alice", "user": "hub", "files": "hub"}
"""For each route group, a demo identity whose token lacks the group's scope."""

Observed = set[tuple[str, str, str]]


def _site() -> SiteConfig:
    return SiteConfig(
        store=StoreConfig(namespace_delete_delay=0.05, default_pod_grace_seconds=1),
        bookmark_interval=1.0,
        seed=7,
        controllers={"kubelet": {"pod_exits": EXITS}},
    )


def _add_bad_owner(nublado: RunningController) -> None:
    fake = nublado.site.mounted(API_PREFIX)
    assert isinstance(fake, FakeGafaelfawr)
    fake.data.add_user(UserRecord(username="Not_Valid", name="x", uid=4242, gid=4242))
    fake.data.add_token(
        TokenRecord(
            token=BAD_OWNER_TOKEN,
            username="Not_Valid",
            scopes=("exec:notebook", "write:files"),
        )
    )


async def _document(client: httpx.AsyncClient, prefix: str) -> dict[str, Any]:
    response = await client.get(f"{prefix}/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _url(path: str, username: str = "alice") -> str:
    return path.replace("{username}", username).replace("{name}", "root")


async def _send(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    operation: dict[str, Any],
    *,
    username: str = "alice",
    headers: dict[str, str] | None = None,
    empty: bool = False,
) -> int:
    """Send the operation with plausible parameters; ``empty``: no query, an empty body."""
    params = {
        p["name"]: "alice" if p["name"] == "old_user" else "bob"
        for p in operation.get("parameters", [])
        if p["in"] == "query" and not empty
    }
    body = {} if "requestBody" in operation else None
    response = await client.request(
        method, _url(path, username), params=params, json=body, headers=headers or {}
    )
    return response.status_code


async def _refusals(nublado: RunningController, document: dict[str, Any], *, ingress: bool) -> None:
    """Provoke each documented 401, 403 and 422 of authentication and usernames."""
    async with nublado.client() as client:
        for path, methods in document["paths"].items():
            for method, operation in methods.items():
                answers = operation["responses"]
                group = operation["tags"][0]
                names = {p["name"] for p in operation.get("parameters", [])}
                authenticated = (
                    "X-Auth-Request-User" in names if ingress else bool(operation.get("security"))
                )
                for status in ("401", "403", "422"):
                    if status not in answers or (status != "422" and not authenticated):
                        continue  # a route's own 401/403 come from its own answers below
                    headers = _refusal_headers(status, group, ingress=ingress)
                    username = "alice"
                    valid = _valid_headers(group, ingress=ingress)
                    empty = False
                    if status == "422" and "username" in names:
                        username, headers = "Not_Valid", valid
                    elif status == "422" and group not in ("user", "files"):
                        headers, empty = valid, True  # an invalid body or query
                    elif status == "403" and ingress and "X-Auth-Request-Token" not in names:
                        # No delegated token to mismatch: the path names someone else.
                        username, headers = "bob", valid
                    got = await _send(
                        client,
                        method.upper(),
                        path,
                        operation,
                        username=username,
                        headers=headers,
                        empty=empty,
                    )
                    assert str(got) == status, (method, path, status, got)


def _valid_headers(group: str, *, ingress: bool) -> dict[str, str]:
    if ingress:
        return {"X-Auth-Request-User": "alice", "X-Auth-Request-Token": DEMO_TOKENS["alice"]}
    who = {"admin": "admin", "hub": "hub"}.get(group, "alice")
    return {"Authorization": f"Bearer {DEMO_TOKENS[who]}"}


def _refusal_headers(status: str, group: str, *, ingress: bool) -> dict[str, str]:
    if ingress:
        alice = {"X-Auth-Request-User": "alice"}
        if status == "401":
            return {**alice, "X-Auth-Request-Token": "not-a-token"}
        if status == "403":
            return {**alice, "X-Auth-Request-Token": DEMO_TOKENS["bob"]}
        return {}  # 422: the identity headers are missing
    if status == "401":
        return {}
    if status == "403":
        return {"Authorization": f"Bearer {DEMO_TOKENS[WRONG_SCOPE[group]]}"}
    return {"Authorization": f"Bearer {BAD_OWNER_TOKEN}"}


Step = Callable[[], Awaitable[httpx.Response]]


async def _expect(step: Awaitable[httpx.Response], status: int) -> httpx.Response:
    response = await step
    assert response.status_code == status, (response.request.url, response.text)
    return response


async def _own_answers(nublado: RunningController) -> None:
    """Each route's own answers, in an order where each one is possible."""
    p = nublado.prefix
    async with (
        nublado.client() as anonymous,
        nublado.client("admin") as admin,
        nublado.client("hub") as hub,
        nublado.client("alice") as alice,
        nublado.client("bob") as bob,
    ):
        for path in ("/", "/health", "/metrics", f"{p}/openapi.json", f"{p}/docs"):
            await _expect(anonymous.get(path), 200)
        for path in (p, f"{p}/admin/actors", f"{p}/admin/actors/root"):
            await _expect(admin.get(path), 200)
        await _expect(admin.get(f"{p}/admin/actors/nothing"), 404)
        await _expect(admin.get(f"{p}/spawner/v1/images"), 200)
        await _expect(admin.get(f"{p}/spawner/v1/prepulls"), 200)
        # Labs.
        labs = f"{p}/spawner/v1/labs"
        await _expect(hub.get(labs), 200)
        await _expect(alice.get(f"{p}/spawner/v1/lab-form/alice"), 200)
        unknown = spawn_body(nublado, "alice")
        unknown["options"]["image_dropdown"] = ["elsewhere.example.org/some/image:1"]
        await _expect(alice.post(f"{labs}/alice/create", json=unknown), 400)
        await _expect(alice.post(f"{labs}/alice/create", json=spawn_body(nublado, "alice")), 201)
        await _expect(alice.post(f"{labs}/alice/create", json=spawn_body(nublado, "alice")), 409)
        assert (await finished_events(alice, p, "alice"))[-1].type == "complete"
        await _expect(alice.get(f"{labs}/alice/events"), 200)
        await _expect(bob.get(f"{labs}/bob/events"), 404)
        await _expect(hub.get(f"{labs}/alice"), 200)
        await _expect(hub.get(f"{labs}/bob"), 404)
        await _expect(alice.get(f"{p}/spawner/v1/user-status"), 200)
        await _expect(bob.get(f"{p}/spawner/v1/user-status"), 404)
        await _expect(hub.delete(f"{labs}/alice"), 204)
        await _expect(hub.delete(f"{labs}/bob"), 404)
        # File servers.
        users = f"{p}/fileserver/v1/users"
        await _expect(alice.get(nublado.config.fileserver.path_prefix), 200)
        await _expect(admin.get(users), 200)
        await _expect(admin.get(f"{users}/alice"), 200)
        await _expect(admin.get(f"{users}/bob"), 404)
        await _expect(alice.get(f"{p}/fileserver/v1/user-status"), 200)
        await _expect(bob.get(f"{p}/fileserver/v1/user-status"), 404)
        await _expect(admin.delete(f"{users}/alice"), 204)
        await _expect(admin.delete(f"{users}/bob"), 404)
        # fsadmin.
        fsadmin = f"{p}/fsadmin/v1/service"
        await _expect(admin.get(fsadmin), 404)
        await _expect(admin.post(fsadmin, json={"start": False}), 422)
        await _expect(admin.post(fsadmin, json={"start": True}), 200)
        await _expect(admin.get(fsadmin), 200)
        await _expect(admin.delete(fsadmin), 204)
        # The migrator.
        migrator = f"{p}/migrator/v1/service"
        pair = {"old_user": "alice", "new_user": "bob"}
        await _expect(admin.get(migrator, params=pair), 204)
        await _expect(admin.post(migrator, json=pair), 200)
        await _expect(admin.get(migrator, params=pair), 200)
        await _expect(admin.post(migrator, json={"old_user": "bob", "new_user": "alice"}), 409)
        await _expect(admin.post(migrator, json={"old_user": "carol", "new_user": "dave"}), 404)
        await _expect(admin.post(migrator, json={"old_user": "erin", "new_user": "frank"}), 406)
        await _expect(admin.post(migrator, json={"old_user": "frank", "new_user": "erin"}), 403)
        await _expect(admin.post(migrator, json={"old_user": "alice"}), 422)
        await _expect(admin.get(migrator, params={"old_user": "alice"}), 422)
        await _expect(admin.delete(migrator, params={"new_user": "bob"}), 422)
        await _expect(admin.delete(migrator, params=pair), 204)


async def _dashboard_answers(nublado: RunningController) -> None:
    """The admin dashboard's own answers (direct mode; its refusals come from the document)."""
    p = f"{nublado.prefix}/admin"
    async with nublado.client() as browser, nublado.client("admin") as admin:
        await _expect(browser.get(f"{p}/"), 303)
        await _expect(browser.get(f"{p}/login"), 200)
        await _expect(browser.get(f"{p}/static/dashboard.js"), 200)
        await _expect(browser.get(f"{p}/static/dashboard.css"), 200)
        await _expect(browser.post(f"{p}/login", data={"token": DEMO_TOKENS["admin"]}), 303)
        await _expect(admin.get(f"{p}/"), 200)
        await _expect(admin.get(f"{p}/session"), 200)
        await _expect(admin.get(f"{p}/labs"), 200)
        async with nublado.client("alice") as alice:
            url = f"{nublado.prefix}/spawner/v1/labs/alice/create"
            await _expect(alice.post(url, json=spawn_body(nublado, "alice")), 201)
            assert (await finished_events(alice, nublado.prefix, "alice"))[-1].type == "complete"
        await _expect(admin.get(f"{p}/labs/alice"), 200)
        await _expect(admin.delete(f"{p}/labs/alice"), 204)
        await _expect(admin.get(f"{p}/labs/bob"), 404)
        await _expect(admin.delete(f"{p}/labs/alice"), 404)
        await _expect(admin.post(f"{p}/logout"), 204)


async def _observed(nublado: RunningController) -> Observed:
    """(method, OpenAPI path, status) of every request the controller answered."""
    async with nublado.client() as client:
        metrics = await scrape(client)
    return {
        (s.labels["method"], openapi_path(s.labels["route"]), s.labels["status"])
        for s in metrics.samples
        if s.name == "nublado_http_request_duration_seconds_count" and s.value > 0
    }


async def test_every_documented_status_is_answered() -> None:
    documented: Observed = set()
    observed: Observed = set()
    with trio.fail_after(150):
        async with simulated_cluster(_site()) as site:
            async with serving_controller(site) as direct:
                _add_bad_owner(direct)
                async with direct.client() as client:
                    document = await _document(client, direct.prefix)
                documented |= documented_statuses(document)
                await _refusals(direct, document, ingress=False)
                await _own_answers(direct)
                await _dashboard_answers(direct)
                observed |= await _observed(direct)
            auth = {"mode": "ingress", "gafaelfawrUrl": site.url}
            async with serving_controller(site, config_overrides={"auth": auth}) as ingress:
                async with ingress.client() as client:
                    document = await _document(client, ingress.prefix)
                documented |= documented_statuses(document)
                await _refusals(ingress, document, ingress=True)
                async with ingress.client() as client:  # the ingress signs people in
                    await _expect(client.get(f"{ingress.prefix}/admin/login"), 303)
                observed |= await _observed(ingress)
    missing = sorted(documented - observed)
    assert missing == [], f"documented but never answered: {missing}"
