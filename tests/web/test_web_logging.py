"""Request ids, per-request log context and the production JSON log format."""

from __future__ import annotations

import io
import logging
import re

import httpx
import pytest
import structlog
import trio
from quart_trio import QuartTrio

from actors.config import ControllerConfig
from actors.runtime import ActorSystem
from tests.web.conftest import LogCapture
from web.app import create_app
from web.logging import configure_logging

TOKEN = "gt-secret-token-value"


@pytest.fixture
def app(config: ControllerConfig, system: ActorSystem) -> QuartTrio:
    app = create_app(config, system)

    @app.get("/test/log")
    async def log_something() -> dict[str, str]:
        structlog.stdlib.get_logger("test.route").info("Handling the request")
        return {}

    @app.get("/test/crash")
    async def crash() -> dict[str, str]:
        raise RuntimeError("route exploded")

    return app


async def test_generated_request_id_is_returned(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        first = await client.get("/")
        second = await client.get("/no/such/route")
    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["x-request-id"])
    assert second.headers["x-request-id"] != first.headers["x-request-id"]


async def test_incoming_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        response = await client.get("/", headers={"X-Request-Id": "trace-42"})
    assert response.headers["x-request-id"] == "trace-42"


async def test_malformed_incoming_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        response = await client.get("/", headers={"X-Request-Id": "a b\tc" + "x" * 300})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_every_log_line_is_a_json_object(logs: LogCapture, client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        await client.get("/test/log")
    records = logs.records()
    assert records, "nothing was logged"
    assert all({"event", "level", "timestamp", "logger"} <= r.keys() for r in records)


async def test_route_and_access_log_lines_carry_request_id_and_user(
    logs: LogCapture, client: httpx.AsyncClient
) -> None:
    headers = {"X-Request-Id": "req-1", "X-Auth-Request-User": "alice"}
    with trio.fail_after(5):
        await client.get("/test/log", headers=headers)
        # The access line is written once the response has gone out.
        access = await logs.wait_for(lambda r: r["logger"] == "web.access")
    route = next(r for r in logs.records() if r["event"] == "Handling the request")
    assert (route["request_id"], route["user"]) == ("req-1", "alice")
    assert (access["request_id"], access["user"]) == ("req-1", "alice")
    assert (access["method"], access["path"], access["status"]) == ("GET", "/test/log", "200")


async def test_tokens_never_reach_the_logs(logs: LogCapture, client: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Auth-Request-Token": TOKEN}
    with trio.fail_after(5):
        await client.get("/test/log", headers=headers)
        await client.get("/test/crash", headers=headers)
    assert logs.records()
    assert TOKEN not in logs.text


async def test_unhandled_exception_is_logged_with_traceback_and_request_id(
    logs: LogCapture, client: httpx.AsyncClient
) -> None:
    with trio.fail_after(5):
        response = await client.get("/test/crash", headers={"X-Request-Id": "req-crash"})
    assert "route exploded" not in response.text
    [record] = [r for r in logs.records() if r["event"] == "Unhandled exception"]
    assert record["level"] == "error"
    assert record["request_id"] == "req-crash"
    assert "RuntimeError: route exploded" in record["exception"]


def test_development_profile_writes_readable_lines_with_the_same_context() -> None:
    stream = io.StringIO()
    handler = configure_logging(level="INFO", profile="development", stream=stream)
    try:
        structlog.contextvars.bind_contextvars(request_id="req-dev")
        structlog.stdlib.get_logger("test.dev").info("Something happened", lab="alice")
        logging.getLogger("hypercorn.error").info("Running on somewhere")
    finally:
        structlog.contextvars.clear_contextvars()
        logging.getLogger().removeHandler(handler)
    first, second = stream.getvalue().splitlines()
    assert not first.startswith("{")
    assert "Something happened" in first
    assert "request_id=req-dev" in first
    assert "lab=alice" in first
    assert "Running on somewhere" in second


def test_development_tracebacks_never_show_local_variables() -> None:
    stream = io.StringIO()
    handler = configure_logging(level="INFO", profile="development", stream=stream)

    def fail(credential: str) -> None:
        raise RuntimeError("spawn exploded")

    try:
        try:
            fail("-".join(["local", "secret", "value"]))  # not in the source lines shown
        except RuntimeError:
            structlog.stdlib.get_logger("test.dev").exception("Spawn failed")
    finally:
        logging.getLogger().removeHandler(handler)
    output = stream.getvalue()
    assert "RuntimeError: spawn exploded" in output
    assert "local-secret-value" not in output


async def test_one_access_line_per_request_each_with_its_status(
    logs: LogCapture, client: httpx.AsyncClient
) -> None:
    paths = ["/", "/no/such/route", "/test/log", "/test/crash", "/"]
    with trio.fail_after(5):
        statuses = [(await client.get(path)).status_code for path in paths]
        while len([r for r in logs.records() if r["logger"] == "web.access"]) < len(paths):
            await trio.sleep(0.01)
        await trio.sleep(0.2)  # room for a second line, were one to come
    access = [r for r in logs.records() if r["logger"].endswith(".access")]
    assert [(r["path"], r["status"]) for r in access] == [
        (path, str(status)) for path, status in zip(paths, statuses, strict=True)
    ]
    assert all("outcome" not in r for r in access), "every response was completed"


def test_credentials_quoted_by_an_error_are_redacted_in_every_line() -> None:
    stream = io.StringIO()
    handler = configure_logging(level="INFO", profile="production", stream=stream)
    try:
        log = structlog.stdlib.get_logger("test.redaction")
        try:
            raise RuntimeError("GET https://demo:pa55word@registry.example.org failed")
        except RuntimeError:
            log.exception("Registry call failed", header="Bearer gt-abcdefghij.klmnopqrstuv")
        logging.getLogger("foreign").warning("token=abcdefgh12345 in a stdlib record")
    finally:
        logging.getLogger().removeHandler(handler)
    text = stream.getvalue()
    for secret in ("pa55word", "gt-abcdefghij.klmnopqrstuv", "abcdefgh12345"):
        assert secret not in text
    assert text.count("<redacted>") >= 3
