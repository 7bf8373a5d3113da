"""Findings of a black-box probe in the HTTP server, its middleware and logging.

Each test runs the real controller over HTTP on kubesim, sends what the probe sent, checks
the exact answer and that the controller still answers afterwards. Each failed before its
fix; the docstrings say what happened then.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import re
from typing import Any

import pytest
import trio

from tests.e2e.harness import RunningController
from tests.e2e.spawner_client import jupyterhub_env
from tests.hostile.rawhttp import exchange, open_stream, status_line, still_serving
from tests.web.conftest import LogCapture
from web.logging import configure_logging
from web.simulate import DEMO_TOKENS

CEILING = 30


def _errors(logs: LogCapture) -> list[dict[str, Any]]:
    return [record for record in logs.records() if record["level"] in ("error", "critical")]


def _upgrade(path: str, *headers: str, key: str | None = None) -> bytes:
    key = key if key is not None else base64.b64encode(os.urandom(16)).decode()
    extra = "".join(f"{line}\r\n" for line in headers)
    return (
        f"GET {path} HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    ).encode()


def _split(answer: bytes) -> tuple[bytes, bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.lower(), body


@pytest.mark.parametrize("websocket", [False, True], ids=["http", "websocket"])
async def test_a_request_target_without_a_path_is_refused_with_400(
    logs: LogCapture, nublado: RunningController, websocket: bool
) -> None:
    """``GET ?x HTTP/1.1``: a target that is only a query string has an empty path.

    Before the fix, quart indexes ``path[0]`` while building the request (``IndexError`` in
    ``quart.asgi._create_request_from_scope``, and the same in quart-trio's WebSocket
    twin): hypercorn logs "Error in ASGI Framework" with a traceback at error level and
    answers an empty **500** (the access line says ``GET  -``). Any unauthenticated client
    can fill the error log this way, one traceback per request.
    """
    if websocket:
        request = _upgrade("?x", f"Authorization: Bearer {DEMO_TOKENS['admin']}")
    else:
        request = b"GET ?x HTTP/1.1\r\nHost: test\r\n\r\n"
    with trio.fail_after(CEILING):
        answer = await exchange(nublado.server.port, request)
        assert status_line(answer) == b"HTTP/1.1 400 ", answer[:300]
        head, body = _split(answer)
        assert b"connection: close" in head
        if body:
            assert json.loads(body)["detail"][0]["type"] == "bad_request"
        assert await still_serving(nublado.url)
    assert _errors(logs) == []


async def test_a_malformed_websocket_extension_offer_is_refused_with_400(
    logs: LogCapture, nublado: RunningController
) -> None:
    """``Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=abc``.

    Before the fix, the route accepts the handshake and hypercorn's ``accept`` runs wsproto's offer
    parser, which raises ``ValueError: invalid literal for int()``: "Unhandled exception"
    and "Error in ASGI Framework" are logged at error level with tracebacks (the second an
    ``AttributeError: 'WSStream' object has no attribute 'connection'``), and the client gets
    no HTTP answer at all, only a closed connection. Any user can do it on their own events
    route (any administrator on the admin feeds), once per request.
    """
    prefix = nublado.prefix
    offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=abc"
    with trio.fail_after(CEILING):
        async with nublado.client("alice") as alice:
            created = await alice.post(
                f"{prefix}/spawner/v1/labs/alice/create",
                json={
                    "options": {"image_dropdown": nublado.image(), "size": "small"},
                    "env": jupyterhub_env("alice"),
                },
            )
        assert created.status_code == 201, created.text
        for path, who in (
            (f"{prefix}/spawner/v1/labs/alice/events", "alice"),
            (f"{prefix}/admin/actors/ws", "admin"),
        ):
            request = _upgrade(path, f"Authorization: Bearer {DEMO_TOKENS[who]}", offer)
            answer = await exchange(nublado.server.port, request)
            assert status_line(answer) == b"HTTP/1.1 400 ", (path, answer[:300])
            head, body = _split(answer)
            assert b"content-type: application/json" in head
            assert b"connection: close" in head
            assert json.loads(body)["detail"][0]["type"] == "bad_request"
        assert await still_serving(nublado.url)
    assert _errors(logs) == []


async def test_http2_is_not_spoken(nublado: RunningController) -> None:
    """The controller speaks HTTP/1.1 only: the HTTP/2 preface gets 505, ``h2c`` is ignored.

    Before the fix, hypercorn switches to HTTP/2 on the prior-knowledge preface (``PRI * HTTP/2.0``)
    and on ``Upgrade: h2c`` (it answers ``101 Switching Protocols``), although nothing
    documents or needs HTTP/2 (JupyterHub and the ingress speak HTTP/1.1). HTTP/2 escapes
    the HTTP/1.1 hardening: the bounded writes watch the socket, but an HTTP/2 client that
    grants no flow-control window (``SETTINGS_INITIAL_WINDOW_SIZE`` 0) blocks the response
    above the socket, so an event stream is held (with its subscription) for as long as the
    client likes, and a plain response for ``FINAL_SEND_TIMEOUT`` (10 s) whatever
    ``server.writeTimeout`` says; h11's bounds on an incomplete head do not apply either.
    """
    with trio.fail_after(CEILING):
        preface = await exchange(nublado.server.port, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        assert status_line(preface) == b"HTTP/1.1 505 ", preface[:100]
        assert b"connection: close\r\n" in preface
        upgrade = await exchange(
            nublado.server.port,
            b"GET / HTTP/1.1\r\nHost: test\r\nConnection: Upgrade, HTTP2-Settings\r\n"
            b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
            b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
        )
        assert re.findall(rb"HTTP/1\.1 (\d{3}) ", upgrade) == [b"200", b"200"], upgrade[:300]
        assert await still_serving(nublado.url)


async def test_direct_mode_logs_the_authenticated_user_not_a_forwarded_header(
    logs: LogCapture, nublado: RunningController
) -> None:
    """In direct mode anybody can send ``X-Auth-Request-User``; the log must not believe it.

    Before the fix, ``web.request_context.RequestContext`` binds ``user`` from that header in every
    mode, so bob (``Authorization: Bearer bob-demo-token``) sending
    ``X-Auth-Request-User: alice`` gets access and route log lines that say ``user=alice``:
    the audit trail names the wrong person (auth.md says direct mode ignores the
    ``X-Auth-Request-*`` headers because anybody could set them).
    """
    prefix = nublado.prefix
    with trio.fail_after(CEILING):
        async with nublado.client("bob") as bob:
            response = await bob.get(
                f"{prefix}/spawner/v1/user-status", headers={"X-Auth-Request-User": "alice"}
            )
        assert response.status_code == 404  # bob's own (missing) lab, not alice's
        assert await still_serving(nublado.url)
    lines = [
        record
        for record in logs.records()
        if record.get("request_id") == response.headers["x-request-id"]
    ]
    assert lines
    assert [record.get("user") for record in lines if record.get("user") not in (None, "bob")] == []


async def test_the_development_log_keeps_one_line_per_event(nublado: RunningController) -> None:
    """A percent-encoded newline in the path must not start a new log line.

    The access line's event is ``f"{method} {path} {status}"`` with the *decoded* path. The
    production profile escapes it (JSON), but the development profile (the default of
    ``serve --simulate``) writes it raw, so an unauthenticated
    ``GET /nublado/x%0A2026-01-01T00:00:00Z [info     ] Forged`` adds a forged line to the
    log (and ``%00``, ``%1B`` reach the terminal as they are). operations.md promises one
    line per event.
    """
    stream = io.StringIO()
    handler = configure_logging(level="INFO", profile="development", stream=stream)
    try:
        with trio.fail_after(CEILING):
            forged = "%0A2026-01-01T00:00:00Z%20[info%20%20%20%20%20]%20Forged%1B[2J"
            answer = await exchange(
                nublado.server.port,
                f"GET {nublado.prefix}/x{forged} HTTP/1.1\r\nHost: test\r\n"
                "Connection: close\r\n\r\n".encode(),
            )
            assert status_line(answer) == b"HTTP/1.1 404 "
            assert await still_serving(nublado.url)
    finally:
        logging.getLogger().removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines
    assert [line for line in lines if line.startswith("2026-01-01T00:00:00Z")] == []
    assert "\x1b" not in stream.getvalue()


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("after", ["nothing", "one request"])
async def test_a_connection_the_client_closed_is_released_at_once(
    nublado: RunningController, after: str
) -> None:
    """When the client closes its connection, the server closes its side at once.

    Before the fix, hypercorn's Trio ``TCPServer`` sees the end of stream, stops reading, and then
    waits for its task group, which still holds the keep-alive idle timer: the socket stays
    in ``CLOSE_WAIT`` (a file descriptor and a task) for ``server.keepAliveTimeout``, 75 s,
    after every connection a client closes -- including one that never sent a byte. An
    unauthenticated client that connects and closes 400 times in 10 ms made a controller
    whose descriptor limit was 400 stop answering its health check (``accept returned
    EMFILE``, logged at error level ten times a second) for the next 75 s; with a limit of
    20,000 it takes 270 connections a second. JupyterHub's httpx client closes every idle
    connection after 5 s, so each of its connections also lingers 70 s longer than needed.
    """
    request = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n" if after == "one request" else b""

    async def connect_and_close() -> None:
        stream = await open_stream(nublado.server.port)
        if request:
            await stream.send_all(request)
            received = b""
            while not received.endswith(b"}\n"):
                received += await stream.receive_some(65536)
        await trio.sleep(0.5)  # idle for a moment (the server has accepted by then)
        await stream.send_eof()  # a clean close: FIN, not a reset
        await stream.aclose()

    with trio.fail_after(CEILING):
        baseline = _open_files()
        async with trio.open_nursery() as nursery:
            for _ in range(100):
                nursery.start_soon(connect_and_close)
        left = _open_files() - baseline
        with trio.move_on_after(3):
            while (left := _open_files() - baseline) > 10:
                await trio.sleep(0.1)
        assert left <= 10, f"{left} descriptors still open 3 s after 100 closed connections"
        assert await still_serving(nublado.url)


@pytest.mark.parametrize(
    "prefix", ["@attacker.example:80/x?", "attacker/", ".evil.example/", "/nb/user/alice/\n"]
)
async def test_the_service_prefix_must_be_a_path(nublado: RunningController, prefix: str) -> None:
    """``JUPYTERHUB_SERVICE_PREFIX`` becomes the path of the lab's ``internal_url``.

    Before the fix, any string is accepted and appended verbatim (``actors.common.naming.
    internal_url``): a user who calls ``create`` with ``"@attacker.example:80/x?"`` gets a
    running lab whose ``internal_url`` is ``http://lab.nublado-bob:8888@attacker.example:80/x?``
    -- a URL whose host is ``attacker.example`` -- and that is the address JupyterHub's proxy
    is given for the lab. (JupyterHub only adopts the URL of labs it created itself with its
    own environment, which keeps this low; the controller should not rely on it.)
    """
    prefix_path = nublado.prefix
    with trio.fail_after(CEILING):
        async with nublado.client("alice") as alice:
            response = await alice.post(
                f"{prefix_path}/spawner/v1/labs/alice/create",
                json={
                    "options": {"image_dropdown": nublado.image(), "size": "small"},
                    "env": {"JUPYTERHUB_SERVICE_PREFIX": prefix},
                },
            )
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"][:2] == ["body", "env"]
        async with nublado.client("hub") as hub:
            state = await hub.get(f"{prefix_path}/spawner/v1/labs/alice")
        assert state.status_code == 404
        assert await still_serving(nublado.url)
