"""Hostile request bodies on the three routes that read one: lab create, fsadmin, migrator.

Each case runs the real controller over HTTP on kubesim and checks four things:

* the exact status (and error ``type``/``loc``) the documentation promises: 422 for a body
  that is not a JSON object of the right types (bad UTF-8, bad JSON, ``NaN``, deep nesting,
  a JSON value that is not an object, a value of the wrong JSON type), 413 for a body over
  1 MiB;
* that the reply is *strict* JSON (no ``NaN``/``Infinity``) of the documented shape
  ``{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}`` and small (at most 32 KiB,
  much less than the hostile body);
* that nothing was half done: no fsadmin or migrator pod, no lab, no namespace, and the
  cluster as it was;
* that the controller still answers afterwards.

Before the fix a body that was not UTF-8 was a 500, ``{"start": 1}`` started the privileged
fsadmin pod, a 413 had a string ``detail``, a ``NaN`` or ``1e999`` in a body came back as
``NaN``/``Infinity`` (not JSON), and a 422 echoed the whole body back.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import trio

from kubesim.site import Site
from tests.e2e.harness import RunningController, running_controller
from tests.e2e.spawner_client import jupyterhub_env
from web.simulate import DEMO_TOKENS

MAX_ERROR_BODY = 32 * 1024
"""The documented ceiling of any error body (docs/limits.md)."""

MAX_BODY = 1024 * 1024
"""The documented request body limit."""

LOCATIONS = {"body", "path", "query", "header"}
DEADLINE = 30


def strict_json(content: bytes) -> Any:
    """Parse ``content`` as RFC 8259 JSON: UTF-8, and no ``NaN``/``Infinity`` constants."""

    def refuse(constant: str) -> Any:
        raise AssertionError(f"{constant} is not JSON")

    value = json.loads(content.decode("utf-8"), parse_constant=refuse)
    json.dumps(value, allow_nan=False)
    return value


def check_error(
    response: httpx.Response,
    status: int,
    error_type: str | None,
    loc: list[str | int] | None = None,
    *,
    max_size: int = MAX_ERROR_BODY,
) -> list[dict[str, Any]]:
    """Assert the status, the documented error shape, strict JSON and the size bound."""
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"] == "application/json"
    assert len(response.content) <= max_size, len(response.content)
    body = strict_json(response.content)
    assert isinstance(body, dict)
    assert list(body) == ["detail"]
    detail = body["detail"]
    assert isinstance(detail, list)
    assert detail
    for item in detail:
        assert set(item) <= {"type", "loc", "msg", "input", "ctx"}, item
        assert isinstance(item["msg"], str)
        assert isinstance(item["type"], str)
        if "loc" in item:
            assert isinstance(item["loc"], list)
            assert item["loc"][0] in LOCATIONS
            assert all(isinstance(part, (str, int)) for part in item["loc"])
    if error_type is not None:
        assert detail[0]["type"] == error_type, detail[0]
    if loc is not None:
        assert detail[0]["loc"] == loc, detail[0]
    return detail


Snapshot = dict[str, list[tuple[str, str, str]]]


def cluster_snapshot(site: Site) -> Snapshot:
    """Every object a body could make the controller create, except the prepuller's pods
    (which come and go on the prepuller's own schedule)."""
    store = site.store
    snapshot: Snapshot = {}
    for plural in (
        "namespaces",
        "pods",
        "persistentvolumeclaims",
        "secrets",
        "configmaps",
        "services",
    ):
        items, _ = store.list(store.resource(plural))
        snapshot[plural] = sorted(
            (
                str(item["metadata"].get("namespace", "")),
                str(item["metadata"]["name"]),
                str(item["metadata"]["uid"]),
            )
            for item in items
            if item["metadata"].get("labels", {}).get("nublado.lsst.io/category") != "prepuller"
        )
    return snapshot


def pod_names(site: Site) -> list[str]:
    items, _ = site.store.list(site.store.resource("pods"), "nublado")
    return [item["metadata"]["name"] for item in items]


@dataclass
class Target:
    """The running controller and its clients for the route under test."""

    nublado: RunningController
    admin: httpx.AsyncClient
    hub: httpx.AsyncClient
    alice: httpx.AsyncClient

    @property
    def prefix(self) -> str:
        return self.nublado.prefix

    async def assert_nothing_done(self, before: Snapshot, *, registered: bool = False) -> None:
        """No object was created or removed, no lab is known for alice, and the controller
        still answers.

        A create refused by a route check after body validation (an image that cannot be
        resolved) registers the user, as documented; ``registered`` says that it should
        have, and then the events route (which stays open for a registered user) is not
        asked."""
        assert cluster_snapshot(self.nublado.site) == before
        names = pod_names(self.nublado.site)
        assert "fsadmin" not in names
        assert not [name for name in names if name.startswith("migrator-")]
        lab = await self.hub.get(f"{self.prefix}/spawner/v1/labs/alice")
        assert lab.status_code == 404, lab.text
        if not registered:
            events = await self.alice.get(f"{self.prefix}/spawner/v1/labs/alice/events")
            assert events.status_code == 404, "a refused body must not register the user"
        fsadmin = await self.admin.get(f"{self.prefix}/fsadmin/v1/service")
        assert fsadmin.status_code == 404
        assert (await self.admin.get(self.prefix)).status_code == 200


@asynccontextmanager
async def target() -> AsyncIterator[Target]:
    async with (
        running_controller() as nublado,
        nublado.client("admin") as admin,
        nublado.client("hub") as hub,
        nublado.client("alice") as alice,
    ):
        yield Target(nublado, admin, hub, alice)


# -- the routes ---------------------------------------------------------------------------


def create_url(t: Target) -> str:
    return f"{t.prefix}/spawner/v1/labs/alice/create"


def fsadmin_url(t: Target) -> str:
    return f"{t.prefix}/fsadmin/v1/service"


def migrator_url(t: Target) -> str:
    return f"{t.prefix}/migrator/v1/service"


ROUTES: dict[str, tuple[Callable[[Target], str], str]] = {
    "create": (create_url, "alice"),
    "fsadmin": (fsadmin_url, "admin"),
    "migrator": (migrator_url, "admin"),
}
"""Route name → (URL, which client posts to it)."""


def client_for(t: Target, who: str) -> httpx.AsyncClient:
    return {"alice": t.alice, "admin": t.admin}[who]


def good_create(t: Target) -> dict[str, Any]:
    return {
        "options": {"image_dropdown": [t.nublado.image()], "size": ["small"]},
        "env": jupyterhub_env("alice"),
    }


async def post(t: Target, route: str, content: bytes | Any) -> httpx.Response:
    url, who = ROUTES[route]
    return await client_for(t, who).post(url(t), content=content)


# -- bodies that are not a JSON object ----------------------------------------------------

NOT_JSON: dict[str, bytes] = {
    "not UTF-8": b'\xff\xfe{"start": true}',
    "Latin-1 text": '{"start": true, "old_user": "zoë"}'.encode("latin-1"),
    "stray continuation byte in a string": b'{"start": true, "x": "\x80"}',
    "truncated": b'{"start": ',
    "empty": b"",
    "only whitespace": b" \r\n\t",
    "trailing garbage": b'{"start": true} {}',
    "single quotes": b"{'start': true}",
    "NaN": b'{"start": NaN, "old_user": NaN, "options": NaN}',
    "Infinity": b'{"start": true, "x": -Infinity}',
    "lone surrogate escape": b'{"start": true, "x": "\\ud800"}',
    "deeply nested arrays": b"[" * 50_000 + b"]" * 50_000,
    "deeply nested objects": b'{"a": ' * 30_000 + b"1" + b"}" * 30_000,
}

NOT_AN_OBJECT: dict[str, bytes] = {
    "array": b"[]",
    "string": b'"start"',
    "number": b"1",
    "true": b"true",
    "null": b"null",
}


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("case", NOT_JSON)
async def test_a_body_that_is_not_json_is_422_json_invalid(route: str, case: str) -> None:
    with trio.fail_after(DEADLINE):
        async with target() as t:
            before = cluster_snapshot(t.nublado.site)
            response = await post(t, route, NOT_JSON[case])
            check_error(response, 422, "json_invalid", ["body"], max_size=2048)
            await t.assert_nothing_done(before)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("case", NOT_AN_OBJECT)
async def test_a_json_value_that_is_not_an_object_is_422(route: str, case: str) -> None:
    with trio.fail_after(DEADLINE):
        async with target() as t:
            before = cluster_snapshot(t.nublado.site)
            response = await post(t, route, NOT_AN_OBJECT[case])
            check_error(response, 422, "model_type", ["body"], max_size=1024)
            await t.assert_nothing_done(before)


# -- values of the wrong JSON type: nothing is coerced ------------------------------------

FSADMIN_REFUSED: dict[str, tuple[bytes, str]] = {
    "1": (b'{"start": 1}', "bool_type"),
    "1.0": (b'{"start": 1.0}', "bool_type"),
    "string true": (b'{"start": "true"}', "bool_type"),
    "string yes": (b'{"start": "yes"}', "bool_type"),
    "list": (b'{"start": [true]}', "bool_type"),
    "object": (b'{"start": {"start": true}}', "bool_type"),
    "null": (b'{"start": null}', "bool_type"),
    "1e999": (b'{"start": 1e999}', "bool_type"),
    "false": (b'{"start": false}', "literal_error"),
    "missing": (b"{}", "missing"),
    "misspelt": (b'{"Start": true, "begin": true}', "missing"),
}


@pytest.mark.parametrize("case", FSADMIN_REFUSED)
async def test_fsadmin_starts_only_for_the_json_literal_true(case: str) -> None:
    body, error_type = FSADMIN_REFUSED[case]
    with trio.fail_after(DEADLINE):
        async with target() as t:
            before = cluster_snapshot(t.nublado.site)
            response = await post(t, "fsadmin", body)
            [item] = check_error(response, 422, error_type, ["body", "start"], max_size=1024)
            if case == "1e999":
                assert item["input"] == "Infinity"
            await t.assert_nothing_done(before)


MIGRATOR_REFUSED: dict[str, tuple[dict[str, Any] | bytes, str, list[str | int]]] = {
    "number": ({"old_user": 1, "new_user": "bob"}, "string_type", ["body", "old_user"]),
    "boolean": ({"old_user": "alice", "new_user": True}, "string_type", ["body", "new_user"]),
    "null": ({"old_user": None, "new_user": "bob"}, "string_type", ["body", "old_user"]),
    "list": ({"old_user": ["alice"], "new_user": "bob"}, "string_type", ["body", "old_user"]),
    "object": ({"old_user": {"a": 1}, "new_user": "bob"}, "string_type", ["body", "old_user"]),
    "float": ({"old_user": "alice", "new_user": 2.5}, "string_type", ["body", "new_user"]),
    "1e999": (b'{"old_user": 1e999, "new_user": "bob"}', "string_type", ["body", "old_user"]),
    "missing": ({"old_user": "alice"}, "missing", ["body", "new_user"]),
}


@pytest.mark.parametrize("case", MIGRATOR_REFUSED)
async def test_migrator_users_must_be_json_strings(case: str) -> None:
    body, error_type, loc = MIGRATOR_REFUSED[case]
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    with trio.fail_after(DEADLINE):
        async with target() as t:
            before = cluster_snapshot(t.nublado.site)
            response = await post(t, "migrator", content)
            check_error(response, 422, error_type, loc, max_size=1024)
            await t.assert_nothing_done(before)


def _options(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        body["options"].update(changes)

    return change


def _env(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        body["env"].update(changes)

    return change


def _replace(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        body[key] = value

    return change


def _tag_instead(value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        del body["options"]["image_dropdown"]
        body["options"]["image_tag"] = value

    return change


CREATE_REFUSED: dict[str, tuple[Callable[[dict[str, Any]], None], str, list[str | int]]] = {
    "size number": (_options(size=1), "enum", ["body", "options", "size"]),
    "size in a list as a number": (_options(size=[1]), "enum", ["body", "options", "size"]),
    "size boolean": (_options(size=True), "enum", ["body", "options", "size"]),
    "size object": (_options(size={"small": 1}), "enum", ["body", "options", "size"]),
    "tag number": (_tag_instead(5), "string_type", ["body", "options", "image_tag"]),
    "tag boolean": (_tag_instead(True), "string_type", ["body", "options", "image_tag"]),
    "dropdown number": (
        _options(image_dropdown=[46]),
        "string_type",
        ["body", "options", "image_dropdown"],
    ),
    "radio boolean": (
        _options(image_list=[True]),
        "string_type",
        ["body", "options", "image_list"],
    ),
    "class number": (
        _options(image_dropdown=None, image_class=1),
        "enum",
        ["body", "options", "image_class"],
    ),
    "debug 1": (_options(enable_debug=1), "value_error", ["body", "options", "enable_debug"]),
    "debug 1.0": (_options(enable_debug=1.0), "value_error", ["body", "options", "enable_debug"]),
    "debug on": (_options(enable_debug=["on"]), "value_error", ["body", "options", "enable_debug"]),
    "debug True": (
        _options(enable_debug="True"),
        "value_error",
        ["body", "options", "enable_debug"],
    ),
    "debug object": (
        _options(enable_debug={}),
        "value_error",
        ["body", "options", "enable_debug"],
    ),
    "reset 0": (_options(reset_user_env=0), "value_error", ["body", "options", "reset_user_env"]),
    "env number": (_env(LANG=1), "string_type", ["body", "env", "LANG"]),
    "env float": (_env(LANG=1.5), "string_type", ["body", "env", "LANG"]),
    "env boolean": (_env(LANG=False), "string_type", ["body", "env", "LANG"]),
    "env null": (_env(LANG=None), "string_type", ["body", "env", "LANG"]),
    "env list": (_env(LANG=["C"]), "string_type", ["body", "env", "LANG"]),
    "env object": (_env(LANG={"C": "C"}), "string_type", ["body", "env", "LANG"]),
    "service prefix number": (
        _env(JUPYTERHUB_SERVICE_PREFIX=7),
        "string_type",
        ["body", "env", "JUPYTERHUB_SERVICE_PREFIX"],
    ),
    "env a list": (_replace("env", [["A", "B"]]), "dict_type", ["body", "env"]),
    "options a list": (_replace("options", [{"size": "small"}]), "model_type", ["body", "options"]),
    "options a string": (_replace("options", "small"), "model_type", ["body", "options"]),
}


@pytest.mark.parametrize("case", CREATE_REFUSED)
async def test_create_coerces_nothing(case: str) -> None:
    change, error_type, loc = CREATE_REFUSED[case]
    with trio.fail_after(DEADLINE):
        async with target() as t:
            body = good_create(t)
            change(body)
            before = cluster_snapshot(t.nublado.site)
            response = await post(t, "create", json.dumps(body).encode())
            check_error(response, 422, error_type, loc, max_size=2048)
            await t.assert_nothing_done(before)


async def test_create_with_1e999_echoes_infinity_as_a_string() -> None:
    with trio.fail_after(DEADLINE):
        async with target() as t:
            before = cluster_snapshot(t.nublado.site)
            text = json.dumps(good_create(t)).replace('["small"]', "1e999")
            response = await post(t, "create", text.encode())
            [item] = check_error(response, 422, "enum", ["body", "options", "size"])
            assert item["input"] == "Infinity"
            await t.assert_nothing_done(before)


# -- what is accepted: unknown keys are ignored (api.md §1.2) -----------------------------


async def test_unknown_keys_are_ignored_and_the_routes_still_work() -> None:
    with trio.fail_after(DEADLINE):
        async with target() as t:
            fsadmin = await post(t, "fsadmin", b'{"start": true, "start_time": 1, "x": NaN}')
            check_error(fsadmin, 422, "json_invalid")  # NaN is not JSON, even where unread
            fsadmin = await post(t, "fsadmin", b'{"start": true, "start_time": 1, "x": [{}]}')
            assert fsadmin.status_code == 200, fsadmin.text
            assert "fsadmin" in pod_names(t.nublado.site)

            body = good_create(t)
            body["flavour"] = "extra"
            body["options"]["colour"] = ["blue"]
            body["options"]["size"] = ["Small"]
            body["options"]["enable_debug"] = ["true"]
            created = await post(t, "create", json.dumps(body).encode())
            assert created.status_code == 201, created.text

            migrator = await post(
                t, "migrator", b'{"old_user": "alice", "new_user": "bob", "dry_run": true}'
            )
            assert migrator.status_code == 200, migrator.text
            assert migrator.json()["old_user"] == "alice"


# -- size: 413 at 1 MiB, and small replies to big bodies ----------------------------------


def padded(prefix: bytes, size: int) -> bytes:
    """A valid JSON object that starts with ``prefix`` (its first keys) and is ``size`` bytes
    long, padded with one ignored string field."""
    head = prefix.rstrip(b"}") + b', "pad": "'
    tail = b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


VALID: dict[str, Callable[[Target], bytes]] = {
    "create": lambda t: json.dumps(good_create(t)).encode(),
    "fsadmin": lambda t: b'{"start": true}',
    "migrator": lambda t: b'{"old_user": "alice", "new_user": "bob"}',
}
"""A body each route accepts: padded past the limit, it must still be refused."""


PIECE = 64 * 1024


async def raw_post(
    t: Target, url: str, who: str, content: bytes, *, chunked: bool
) -> httpx.Response:
    """POST ``content`` over a plain socket, reading the answer while still sending.

    httpx cannot be used for bodies the server refuses half-way: it drops its body iterator
    unfinished when the server closes, which Python reports as a ``ResourceWarning`` (an
    error in this suite). The server answers 413 and closes the connection; a send that
    fails after that is expected.
    """
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(content)}"
    head = (
        f"POST {url} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {DEMO_TOKENS[who]}\r\n"
        f"Content-Type: application/json\r\n{framing}\r\n\r\n"
    ).encode()
    pieces = [content[start : start + PIECE] for start in range(0, len(content), PIECE)]
    if chunked:
        pieces = [b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces] + [b"0\r\n\r\n"]
    received = bytearray()
    stream = await trio.open_tcp_stream("127.0.0.1", t.nublado.server.port)
    async with stream:

        async def receive() -> None:
            try:
                while chunk := await stream.receive_some(PIECE):
                    received.extend(chunk)
            except trio.BrokenResourceError:
                pass  # reset after the answer: what came before is the answer

        async with trio.open_nursery() as nursery:
            nursery.start_soon(receive)
            try:
                await stream.send_all(head)
                for piece in pieces:
                    await stream.send_all(piece)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass
    head_bytes, _, body = bytes(received).partition(b"\r\n\r\n")
    status_line, *header_lines = head_bytes.decode("latin-1").split("\r\n")
    headers = [tuple(line.split(": ", 1)) for line in header_lines]
    return httpx.Response(int(status_line.split()[1]), headers=headers, content=body)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_body_over_one_mib_is_413_and_is_not_acted_on(route: str, chunked: bool) -> None:
    with trio.fail_after(DEADLINE):
        async with target() as t:
            before = cluster_snapshot(t.nublado.site)
            content = padded(VALID[route](t), MAX_BODY + 1)
            url, who = ROUTES[route]
            response = await raw_post(t, url(t), who, content, chunked=chunked)
            assert response.headers["connection"] == "close"
            check_error(response, 413, "request_too_large", ["body"], max_size=512)
            assert "1048576 bytes" in response.json()["detail"][0]["msg"]
            await t.assert_nothing_done(before)


async def test_a_body_of_exactly_one_mib_is_accepted() -> None:
    with trio.fail_after(DEADLINE):
        async with target() as t:
            response = await post(t, "fsadmin", padded(b'{"start": true}', MAX_BODY))
            assert response.status_code == 200, response.text
            assert "fsadmin" in pod_names(t.nublado.site)


async def test_a_huge_announced_body_is_refused_before_it_is_sent() -> None:
    """``Content-Length: 10 GiB`` and no body: the 413 comes at once, so the server did not
    wait for (or buffer) the body."""
    with trio.fail_after(DEADLINE):
        async with target() as t:
            before = cluster_snapshot(t.nublado.site)
            stream = await trio.open_tcp_stream("127.0.0.1", t.nublado.server.port)
            async with stream:
                request = (
                    f"POST {fsadmin_url(t)} HTTP/1.1\r\nHost: test\r\n"
                    f"Authorization: Bearer {DEMO_TOKENS['admin']}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {10 * 1024**3}\r\n\r\n"
                ).encode()
                await stream.send_all(request + b'{"start": true')
                received = b""
                with trio.fail_after(5):
                    while b"\r\n\r\n" not in received or not received.endswith(b"}]}"):
                        chunk = await stream.receive_some(65536)
                        assert chunk, received
                        received += chunk
            head, _, body = received.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 413")
            assert strict_json(body)["detail"][0]["type"] == "request_too_large"
            await t.assert_nothing_done(before)


def _many_env(t: Target) -> bytes:
    body = good_create(t)
    body["env"].update({f"VAR_{index}": index for index in range(20_000)})
    return json.dumps(body).encode()


def _long_env_name(t: Target) -> bytes:
    body = good_create(t)
    body["env"]["N" * 500_000] = 1
    return json.dumps(body).encode()


def _long_reference(t: Target) -> bytes:
    body = good_create(t)
    body["options"]["image_dropdown"] = ["x" * 900_000]
    return json.dumps(body).encode()


def _nested_env_value(t: Target) -> bytes:
    body = good_create(t)
    body["env"]["DEEP"] = json.loads("[" * 150 + ",".join(["1"] * 50_000) + "]" * 150)
    return json.dumps(body).encode()


def _emoji_start(t: Target) -> bytes:
    return json.dumps({"start": "\N{GRINNING FACE}" * 200_000}, ensure_ascii=False).encode()


def _long_user(t: Target) -> bytes:
    return json.dumps({"old_user": "a" * 900_000, "new_user": "bob"}).encode()


def _long_json_invalid(t: Target) -> bytes:
    return b'{"start": true, "x": "' + b"y" * 900_000 + b'"'


BIG_BODIES: dict[str, tuple[str, Callable[[Target], bytes], str | None, list[str | int] | None]] = {
    "20,000 bad environment values": (
        "create",
        _many_env,
        "string_type",
        ["body", "env", "VAR_0"],
    ),
    "500 KB environment name": ("create", _long_env_name, "string_type", None),
    "900 KB image reference": (
        "create",
        _long_reference,
        "invalid_docker_reference",
        ["body", "options", "image_dropdown"],
    ),
    "150 levels of nesting in a value": (
        "create",
        _nested_env_value,
        "string_type",
        ["body", "env", "DEEP"],
    ),
    "800 KB of emoji where true belongs": ("fsadmin", _emoji_start, "bool_type", ["body", "start"]),
    "900 KB username": ("migrator", _long_user, None, None),
    "900 KB of unterminated JSON": ("fsadmin", _long_json_invalid, "json_invalid", ["body"]),
}


@pytest.mark.parametrize("case", BIG_BODIES)
async def test_a_big_bad_body_gets_a_small_reply(case: str) -> None:
    route, make, error_type, loc = BIG_BODIES[case]
    with trio.fail_after(DEADLINE):
        async with target() as t:
            before = cluster_snapshot(t.nublado.site)
            content = make(t)
            assert 100_000 < len(content) <= MAX_BODY
            response = await post(t, route, content)
            detail = check_error(response, 422, error_type, loc, max_size=16 * 1024)
            for item in detail:
                if isinstance(item.get("input"), str) and len(item["input"]) > 256:
                    raise AssertionError(f"echoed {len(item['input'])} characters of input")
            if case == "20,000 bad environment values":
                assert len(detail) == 11
                assert detail[-1] == {
                    "msg": "19990 more errors not shown",
                    "type": "too_many_errors",
                }
            await t.assert_nothing_done(before, registered=case == "900 KB image reference")


# -- query strings: the other way a request carries values --------------------------------

QUERIES = {
    "invalid percent-encoding": "old_user=%ff%zz&new_user=bob",
    "NUL byte": "old_user=al%00ice&new_user=bob",
    "8 KB value": "old_user=" + "a" * 8000 + "&new_user=bob",
    "repeated": "old_user=alice&old_user=carol&new_user=bob",
}


@pytest.mark.parametrize("case", QUERIES)
async def test_hostile_query_strings_get_json_errors(case: str) -> None:
    with trio.fail_after(DEADLINE):
        async with target() as t:
            before = cluster_snapshot(t.nublado.site)
            response = await t.admin.get(f"{migrator_url(t)}?{QUERIES[case]}")
            if case == "repeated":
                # The first value is used; the pair is unknown, which is not an error.
                assert response.status_code == 204
            else:
                check_error(response, 422, None, max_size=2048)
            await t.assert_nothing_done(before)
