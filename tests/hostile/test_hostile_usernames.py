"""Usernames that are not platform usernames never reach an actor or the Kubernetes API.

A username ends up in Kubernetes API paths (the lab namespace is ``nublado-<username>``), so
before the fix an identity provider vouching for ``user00000?x`` could make the controller
delete ``user00000``'s namespace: the ``?`` ended the path and the rest became a query. These
tests run the real controller over HTTP on kubesim, in both authentication modes, and send
hostile usernames every way a username enters: as the ``{username}`` of a route, and as the
identity itself (``X-Auth-Request-User`` behind the ingress, the bearer token's owner in
direct mode, both vouched for by kubesim's fake Gafaelfawr). Every one must get the same
422 ``invalid_username`` refusal, the cluster must be exactly as it was, and the controller
must keep answering.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import trio
from trio_websocket import ConnectionRejected

from kubesim.gafaelfawr import API_PREFIX, FakeGafaelfawr, TokenRecord, UserRecord
from kubesim.site import Site
from tests.e2e.harness import RunningController, fast_site_config, serving_controller
from tests.e2e.spawner_client import jupyterhub_env, open_events_websocket
from web.simulate import DEMO_TOKENS, simulated_cluster

RULE_MESSAGE = (
    "Invalid username: a username has at most 32 characters, all lower-case letters a-z,"
    " digits or single hyphens between them, and at least one letter"
    " (^[a-z0-9](?:[a-z0-9]|-[a-z0-9])*[a-z](?:[a-z0-9]|-[a-z0-9])*$)"
)
"""The message of every refusal; written out here so that a change to it is noticed."""

NEIGHBOUR = "user00000"
"""A valid user with a running lab: what a hostile name must never reach."""

HOSTILE = {
    "query": "user00000?x",
    "fragment": "user00000#x",
    "space": "a b",
    "upper case": "A",
    "slash": "a/b",
    "dot dot": "..",
    "dot dot slash": "../user00000",
    "percent": "user00000%3Fx",
    "leading hyphen": "-a",
    "no letter": "12345",
    "too long": "a" * 200,
    "33 characters": "a" * 33,
    "unicode": "usér",
    "trailing newline": "user00000\n",
    "empty": "",
}
"""Names that break the username rule, keyed by what makes each one hostile."""

ROUTED_AWAY = {"a/b", "../user00000"}
"""Names whose ``/`` the HTTP server decodes before routing: the path then names no route."""

NOT_FOUND = {"detail": "Not Found"}


def refusal(*loc: str) -> dict[str, Any]:
    return {"detail": [{"type": "invalid_username", "loc": list(loc), "msg": RULE_MESSAGE}]}


def path_segment(name: str) -> str:
    """``name`` as one percent-encoded path segment; dots too, or httpx would resolve them."""
    return quote(name, safe="").replace(".", "%2E")


def token_of(name: str) -> str:
    return "hostile-token-" + name.encode().hex()


def on_the_wire(headers: Mapping[str, str]) -> dict[str, bytes]:
    """Header values as UTF-8 bytes: an ingress may forward any bytes, and httpx refuses
    non-ASCII ``str`` values (the server reads the bytes as Latin-1)."""
    return {name: value.encode() for name, value in headers.items()}


@dataclass
class Deployment:
    """A running controller in one authentication mode, and the headers callers send."""

    mode: str
    nublado: RunningController

    @property
    def site(self) -> Site:
        return self.nublado.site

    def base(self) -> str:
        return f"{self.nublado.url}{self.nublado.prefix}"

    def user(self, name: str) -> dict[str, str]:
        """A request from ``name`` as the identity provider vouches for it."""
        token = DEMO_TOKENS.get(name, token_of(name))
        if self.mode == "direct":
            return {"Authorization": f"Bearer {token}"}
        return {"X-Auth-Request-User": name, "X-Auth-Request-Token": token}

    def privileged(self, who: str) -> dict[str, str]:
        """The hub or an administrator (the ingress sends no identity on those routes)."""
        if self.mode == "direct":
            return {"Authorization": f"Bearer {DEMO_TOKENS[who]}"}
        return {}

    def identity_loc(self) -> list[str]:
        """Where the identity came from: the ingress's header, or the bearer token."""
        if self.mode == "direct":
            return ["header", "authorization"]
        return ["header", "x-auth-request-user"]


def vouch_for(site: Site, name: str, uid: int) -> None:
    """Make the fake Gafaelfawr know ``name`` (with a uid and gid, so it could spawn)."""
    fake = site.mounted(API_PREFIX)
    assert isinstance(fake, FakeGafaelfawr)
    fake.data.add_user(UserRecord(username=name, name=f"User {uid}", uid=uid, gid=uid))
    scopes = ("exec:notebook", "read:image", "write:files")
    fake.data.add_token(TokenRecord(token=token_of(name), username=name, scopes=scopes))


@asynccontextmanager
async def deployment(mode: str) -> AsyncIterator[Deployment]:
    async with simulated_cluster(fast_site_config()) as site:
        vouch_for(site, NEIGHBOUR, 3000)
        for uid, name in enumerate(HOSTILE.values(), start=3001):
            vouch_for(site, name, uid)
        overrides = None
        if mode == "ingress":
            overrides = {"auth": {"mode": "ingress", "gafaelfawrUrl": site.url}}
        async with serving_controller(site, config_overrides=overrides) as running:
            yield Deployment(mode, running)


def create_body(running: RunningController, name: str) -> dict[str, Any]:
    return {
        "options": {"image_dropdown": [running.image()], "size": ["small"]},
        "env": jupyterhub_env(name),
    }


async def start_neighbour_lab(http: httpx.AsyncClient, deployed: Deployment) -> None:
    """Spawn ``NEIGHBOUR``'s lab and wait until it runs."""
    base = deployed.base()
    headers = deployed.user(NEIGHBOUR)
    url = f"{base}/spawner/v1/labs/{NEIGHBOUR}"
    created = await http.post(
        f"{url}/create", json=create_body(deployed.nublado, NEIGHBOUR), headers=headers
    )
    assert created.status_code == 201, created.text
    events = await http.get(f"{url}/events", headers=headers)
    assert "event: complete" in events.text
    state = await http.get(url, headers=deployed.privileged("hub"))
    assert state.json()["status"] == "running"


def cluster_snapshot(site: Site) -> dict[str, list[tuple[str, str, str, str]]]:
    """What ``kubectl get`` would show of the objects a username could address.

    The controller's own namespace is left out of the pods: the prepuller works there on its
    own schedule, and no username is ever part of those pods' names.
    """
    store = site.store
    snapshot: dict[str, list[tuple[str, str, str, str]]] = {}
    for plural in ("namespaces", "pods", "services", "secrets", "configmaps", "jobs"):
        items, _ = store.list(store.resource(plural))
        snapshot[plural] = sorted(
            (
                str(item["metadata"].get("namespace", "")),
                str(item["metadata"]["name"]),
                str(item["metadata"]["uid"]),
                str(item["metadata"].get("deletionTimestamp", "")),
            )
            for item in items
            if not (plural == "pods" and item["metadata"].get("namespace") == "nublado")
        )
    return snapshot


async def assert_neighbour_untouched(http: httpx.AsyncClient, deployed: Deployment) -> None:
    """The neighbour's namespace and pod exist, are not being deleted, and the lab runs."""
    store = deployed.site.store
    namespace = store.get(store.resource("namespaces"), None, f"nublado-{NEIGHBOUR}")
    assert "deletionTimestamp" not in namespace["metadata"]
    pod = store.get(store.resource("pods"), f"nublado-{NEIGHBOUR}", f"{NEIGHBOUR}-nb")
    assert "deletionTimestamp" not in pod["metadata"]
    assert pod["status"]["phase"] == "Running"
    state = await http.get(
        f"{deployed.base()}/spawner/v1/labs/{NEIGHBOUR}", headers=deployed.privileged("hub")
    )
    assert state.status_code == 200
    assert state.json()["status"] == "running"


async def assert_still_serving(http: httpx.AsyncClient, deployed: Deployment) -> None:
    index = await http.get(deployed.base(), headers=deployed.privileged("admin"))
    assert index.status_code == 200
    assert "metadata" in index.json()


async def websocket_refusal(deployed: Deployment, path: str, headers: Mapping[str, str]) -> Any:
    """The status and JSON body with which the events WebSocket upgrade is refused."""
    with pytest.raises(ConnectionRejected) as rejected:
        async with open_events_websocket(f"{deployed.base()}{path}", headers):
            pass
    body = rejected.value.body or b""
    return rejected.value.status_code, httpx.Response(200, content=body).json()


MODES = ["direct", "ingress"]


@pytest.mark.parametrize("mode", MODES)
async def test_a_hostile_identity_cannot_delete_its_neighbours_lab(mode: str) -> None:
    """The issue's scenario: ``user00000?x``, vouched for by the identity provider, spawns
    "its" lab and the hub deletes it; ``user00000``'s running lab must survive."""
    hostile = "user00000?x"
    with trio.fail_after(60):
        async with deployment(mode) as deployed, httpx.AsyncClient(timeout=30) as http:
            await start_neighbour_lab(http, deployed)
            before = cluster_snapshot(deployed.site)
            url = f"{deployed.base()}/spawner/v1/labs/{path_segment(hostile)}"
            created = await http.post(
                f"{url}/create",
                json=create_body(deployed.nublado, hostile),
                headers=on_the_wire(deployed.user(hostile)),
            )
            deleted = await http.delete(url, headers=deployed.privileged("hub"))
            status = await http.get(url, headers=deployed.privileged("hub"))
            await trio.sleep(0.5)  # a deletion, had one started, would show by now
            assert (created.status_code, created.json()) == (
                422,
                refusal(*deployed.identity_loc()),
            )
            assert (deleted.status_code, deleted.json()) == (422, refusal("path", "username"))
            assert (status.status_code, status.json()) == (422, refusal("path", "username"))
            assert cluster_snapshot(deployed.site) == before
            await assert_neighbour_untouched(http, deployed)
            await assert_still_serving(http, deployed)


PATH_ROUTES = [
    ("GET", "/spawner/v1/labs/{}", "hub"),
    ("DELETE", "/spawner/v1/labs/{}", "hub"),
    ("POST", "/spawner/v1/labs/{}/create", "user"),
    ("GET", "/spawner/v1/labs/{}/events", "user"),
    ("GET", "/spawner/v1/lab-form/{}", "user"),
    ("GET", "/fileserver/v1/users/{}", "admin"),
    ("DELETE", "/fileserver/v1/users/{}", "admin"),
]
"""Every route with a ``{username}`` in its path, and who may call it."""


@pytest.mark.parametrize("mode", MODES)
async def test_hostile_path_usernames_are_refused_on_every_route(mode: str) -> None:
    """A caller allowed on the route (alice on user routes) names a hostile user in the
    path: 422 at ``["path", "username"]``, before ownership is even compared."""
    with trio.fail_after(90):
        async with deployment(mode) as deployed, httpx.AsyncClient(timeout=30) as http:
            await start_neighbour_lab(http, deployed)
            before = cluster_snapshot(deployed.site)
            answers: dict[tuple[str, str, str], tuple[int, Any]] = {}
            for name in HOSTILE.values():
                if name == "":
                    continue  # an empty segment is a different path; see the next test
                for method, template, caller in PATH_ROUTES:
                    headers = deployed.user("alice") if caller == "user" else {}
                    if caller != "user":
                        headers = deployed.privileged(caller)
                    body = create_body(deployed.nublado, "alice") if method == "POST" else None
                    path = template.format(path_segment(name))
                    response = await http.request(
                        method, f"{deployed.base()}{path}", json=body, headers=on_the_wire(headers)
                    )
                    answers[(name, method, template)] = (response.status_code, response.json())
                ws_path = f"/spawner/v1/labs/{path_segment(name)}/events"
                answers[(name, "WS", ws_path)] = await websocket_refusal(
                    deployed, ws_path, deployed.user("alice")
                )
            for (name, method, template), answer in answers.items():
                if name in ROUTED_AWAY:
                    assert answer == (404, NOT_FOUND), (name, method, template)
                else:
                    assert answer == (422, refusal("path", "username")), (name, method, template)
            await trio.sleep(0.5)
            assert cluster_snapshot(deployed.site) == before
            await assert_neighbour_untouched(http, deployed)
            await assert_still_serving(http, deployed)


EMPTY_SEGMENT_ANSWERS = {
    ("GET", "/spawner/v1/labs/{}"): 404,
    ("DELETE", "/spawner/v1/labs/{}"): 404,
    ("POST", "/spawner/v1/labs/{}/create"): 405,
    ("GET", "/spawner/v1/labs/{}/events"): 308,
    ("GET", "/spawner/v1/lab-form/{}"): 404,
    ("GET", "/fileserver/v1/users/{}"): 404,
    ("DELETE", "/fileserver/v1/users/{}"): 404,
}
"""The router's answers when the username segment is empty. ``labs//create`` and
``labs//events`` have their double slash merged, so they are the ``labs/<username>`` route
with the username ``create`` (which has no POST: 405) or ``events`` (a redirect there, not
followed: a user's credentials are not the hub's). No handler runs with an empty name."""


ROUTER_DETAIL = {404: "Not Found", 405: "Method Not Allowed"}


@pytest.mark.parametrize("mode", MODES)
async def test_an_empty_path_username_names_no_route(mode: str) -> None:
    with trio.fail_after(60):
        async with deployment(mode) as deployed, httpx.AsyncClient(timeout=30) as http:
            before = cluster_snapshot(deployed.site)
            for method, template, caller in PATH_ROUTES:
                headers = deployed.user("alice") if caller == "user" else {}
                if caller != "user":
                    headers = deployed.privileged(caller)
                url = f"{deployed.base()}{template.format('')}"
                response = await http.request(method, url, headers=on_the_wire(headers))
                assert response.status_code == EMPTY_SEGMENT_ANSWERS[(method, template)]
                if response.status_code == 308:
                    merged = template.replace("{}/", "")
                    assert response.headers["Location"] == f"{deployed.base()}{merged}"
                else:
                    assert response.json() == {"detail": ROUTER_DETAIL[response.status_code]}
            assert cluster_snapshot(deployed.site) == before
            await assert_still_serving(http, deployed)


IDENTITY_ROUTES = [
    ("POST", "/spawner/v1/labs/{}/create"),
    ("GET", "/spawner/v1/labs/{}/events"),
    ("GET", "/spawner/v1/lab-form/{}"),
    ("GET", "/spawner/v1/user-status"),
    ("GET", "/fileserver/v1/user-status"),
]
"""Every prefixed route that takes its username from the caller's identity."""


@pytest.mark.parametrize("mode", MODES)
async def test_hostile_identities_are_refused_on_every_user_route(mode: str) -> None:
    """The identity provider vouches for a hostile name, which asks about its neighbour (or
    itself): 422 at the identity's location, before ownership, body or Gafaelfawr."""
    with trio.fail_after(90):
        async with deployment(mode) as deployed, httpx.AsyncClient(timeout=30) as http:
            await start_neighbour_lab(http, deployed)
            before = cluster_snapshot(deployed.site)
            answers: dict[tuple[str, str, str], tuple[int, Any]] = {}
            for name in HOSTILE.values():
                if mode == "ingress" and "\n" in name:
                    continue  # not a header value an ingress can forward
                headers = deployed.user(name)
                for method, template in IDENTITY_ROUTES:
                    body = create_body(deployed.nublado, name) if method == "POST" else None
                    url = f"{deployed.base()}{template.format(NEIGHBOUR)}"
                    response = await http.request(
                        method, url, json=body, headers=on_the_wire(headers)
                    )
                    answers[(name, method, template)] = (response.status_code, response.json())
                files = await http.get(
                    f"{deployed.nublado.url}{deployed.nublado.config.fileserver.path_prefix}",
                    headers=on_the_wire(headers),
                )
                answers[(name, "GET", "{files}")] = (files.status_code, files.json())
                ws_path = f"/spawner/v1/labs/{NEIGHBOUR}/events"
                answers[(name, "WS", ws_path)] = await websocket_refusal(deployed, ws_path, headers)
            expected = (422, refusal(*deployed.identity_loc()))
            for key, answer in answers.items():
                assert answer == expected, key
            await trio.sleep(0.5)
            assert cluster_snapshot(deployed.site) == before
            await assert_neighbour_untouched(http, deployed)
            await assert_still_serving(http, deployed)


@pytest.mark.parametrize("mode", MODES)
async def test_the_longest_valid_username_is_accepted(mode: str) -> None:
    """The limit is not off by one: a 32-character name passes the check (it reaches the
    lab service, which does not know the user: 404 ``unknown_user``)."""
    longest = "a" * 31 + "b"
    with trio.fail_after(60):
        async with deployment(mode) as deployed, httpx.AsyncClient(timeout=30) as http:
            vouch_for(deployed.site, longest, 4000)
            status = await http.get(
                f"{deployed.base()}/spawner/v1/labs/{longest}", headers=deployed.privileged("hub")
            )
            own = await http.get(
                f"{deployed.base()}/spawner/v1/user-status",
                headers=on_the_wire(deployed.user(longest)),
            )
            assert status.status_code == 404
            assert status.json()["detail"][0]["type"] == "unknown_user"
            assert own.status_code == 404
            assert own.json()["detail"][0]["type"] == "unknown_user"


@pytest.mark.parametrize("mode", MODES)
async def test_the_migrator_refuses_hostile_usernames_the_same_way(mode: str) -> None:
    """Both usernames of a migration name Kubernetes objects (``migrator-<old>-to-<new>``):
    each is checked on its own, with the same refusal at its body or query location."""
    with trio.fail_after(60):
        async with deployment(mode) as deployed, httpx.AsyncClient(timeout=30) as http:
            url = f"{deployed.base()}/migrator/v1/service"
            admin = deployed.privileged("admin")
            before = cluster_snapshot(deployed.site)
            for name in HOSTILE.values():
                started = await http.post(
                    url, json={"old_user": name, "new_user": NEIGHBOUR}, headers=admin
                )
                assert (started.status_code, started.json()) == (
                    422,
                    refusal("body", "old_user"),
                ), name
                pair = {"old_user": NEIGHBOUR, "new_user": name}
                for method in ("GET", "DELETE"):
                    response = await http.request(method, url, params=pair, headers=admin)
                    assert (response.status_code, response.json()) == (
                        422,
                        refusal("query", "new_user"),
                    ), (method, name)
            assert cluster_snapshot(deployed.site) == before
            await assert_still_serving(http, deployed)
