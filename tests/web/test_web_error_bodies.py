"""Error bodies are strict JSON of the documented shape and bounded, whatever raised them.

The routes here fail on purpose (test-only app built by the ``app`` fixture): a validation
error whose ``input`` is infinite, validation errors as large as they can be, a controller
error quoting a huge value, framework errors other than 404/405, and a body that arrives too
slowly. Before the fix these produced ``Infinity`` in the reply (not JSON), replies as large
as the request, string ``detail`` values, and quart's default limits (16 MiB, 60 s) that
nobody had chosen.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import trio
from pydantic import BaseModel, Field
from quart_trio import QuartTrio
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from actors.config import ControllerConfig
from actors.errors import UnknownUserError
from actors.runtime import ActorSystem
from web.app import create_app
from web.errors import RequestValidationError, parse_body
from web.server import RunningServer

MAX_ERROR_BODY = 32 * 1024


class Reading(BaseModel):
    value: float = Field(lt=10)


@pytest.fixture
def app(config: ControllerConfig, system: ActorSystem) -> QuartTrio:
    app = create_app(config, system)

    @app.post("/test/reading")
    async def reading() -> dict[str, float]:
        return {"value": (await parse_body(Reading)).value}

    @app.get("/test/worst-validation")
    async def worst_validation() -> dict[str, str]:
        # As large as every part of an item may be, fifty times over.
        item: dict[str, Any] = {
            "type": "t" * 5000,
            "loc": ["body", *["\N{GRINNING FACE}" * 5000] * 50],
            "msg": "\u0000" * 100_000,
            "input": {str(index): "\u2028" * 1000 for index in range(1000)},
            "ctx": {str(index): ["x" * 10_000] for index in range(100)},
        }
        raise RequestValidationError([item] * 50)

    @app.get("/test/huge-message")
    async def huge_message() -> dict[str, str]:
        raise UnknownUserError("Unknown user " + "u" * 1_000_000, loc=["path", "x" * 100_000])

    @app.get("/test/bad-request")
    async def bad_request() -> dict[str, str]:
        raise BadRequest()

    @app.get("/test/unsupported")
    async def unsupported() -> dict[str, str]:
        raise UnsupportedMediaType()

    return app


def strict_json(response: httpx.Response) -> Any:
    """The body as RFC 8259 JSON (``NaN``/``Infinity`` refused), after the size check."""
    assert response.headers["content-type"] == "application/json"
    assert len(response.content) <= MAX_ERROR_BODY, len(response.content)

    def refuse(constant: str) -> Any:
        raise AssertionError(f"{constant} is not JSON")

    value = json.loads(response.content.decode("utf-8"), parse_constant=refuse)
    json.dumps(value, allow_nan=False)
    return value


async def test_an_infinite_input_is_echoed_as_a_string(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        response = await client.post("/test/reading", content=b'{"value": 1e999}')
    assert response.status_code == 422
    assert strict_json(response) == {
        "detail": [
            {
                "type": "less_than",
                "loc": ["body", "value"],
                "msg": "Input should be less than 10",
                "input": "Infinity",
                "ctx": {"lt": 10.0},
            }
        ]
    }


async def test_nan_in_a_body_is_invalid_json(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        response = await client.post("/test/reading", content=b'{"value": NaN}')
    assert response.status_code == 422
    [item] = strict_json(response)["detail"]
    assert item["type"] == "json_invalid"
    assert item["loc"] == ["body"]


async def test_the_largest_validation_error_stays_under_32_kib(
    client: httpx.AsyncClient,
) -> None:
    with trio.fail_after(5):
        response = await client.get("/test/worst-validation")
    assert response.status_code == 422
    detail = strict_json(response)["detail"]
    assert 2 <= len(detail) <= 11
    assert detail[-1]["type"] == "too_many_errors"
    hidden = int(detail[-1]["msg"].split()[0])
    assert hidden + len(detail) - 1 == 50
    first = detail[0]
    assert first["loc"][0] == "body"
    assert len(first["loc"]) == 8
    assert all(part.endswith("...") for part in first["loc"][1:])
    assert first["msg"].endswith("...")
    assert first["input"] == "<object with 1000 keys>"
    assert len(first["ctx"]) == 4


async def test_a_controller_message_quoting_a_huge_value_is_cut(
    client: httpx.AsyncClient,
) -> None:
    with trio.fail_after(5):
        response = await client.get("/test/huge-message")
    assert response.status_code == 404
    [item] = strict_json(response)["detail"]
    assert item["type"] == "unknown_user"
    assert item["msg"].startswith("Unknown user uuu")
    assert item["msg"].endswith("...")
    assert len(item["msg"]) <= 1003
    assert item["loc"][0] == "path"
    assert len(item["loc"][1]) <= 131


@pytest.mark.parametrize(
    ("path", "status", "error_type", "msg"),
    [
        ("/test/bad-request", 400, "bad_request", "Bad Request"),
        ("/test/unsupported", 415, "unsupported_media_type", "Unsupported Media Type"),
    ],
)
async def test_other_framework_errors_use_the_list_shape(
    client: httpx.AsyncClient, path: str, status: int, error_type: str, msg: str
) -> None:
    with trio.fail_after(5):
        response = await client.get(path)
    assert response.status_code == status
    assert strict_json(response) == {"detail": [{"msg": msg, "type": error_type}]}


async def test_unknown_routes_and_methods_keep_the_string_detail(
    client: httpx.AsyncClient,
) -> None:
    with trio.fail_after(5):
        missing = await client.post("/test/nowhere", content=b"\xff" * 10)
        wrong = await client.put("/test/reading", content=b"\xff" * 10)
    assert missing.status_code == 404
    assert strict_json(missing) == {"detail": "Not Found"}
    assert wrong.status_code == 405
    assert strict_json(wrong) == {"detail": "Method Not Allowed"}


def test_the_body_limits_are_set_explicitly(app: QuartTrio) -> None:
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    assert app.config["BODY_TIMEOUT"] == 60


async def test_a_body_that_arrives_too_slowly_is_408(app: QuartTrio, server: RunningServer) -> None:
    app.config["BODY_TIMEOUT"] = 0.3
    stream = await trio.open_tcp_stream("127.0.0.1", server.port)
    async with stream:
        await stream.send_all(
            b"POST /test/reading HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n{"
        )
        received = b""
        with trio.fail_after(5):
            while not received.endswith(b"}]}"):
                chunk = await stream.receive_some(4096)
                assert chunk, received
                received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert json.loads(body) == {"detail": [{"msg": "Request Timeout", "type": "request_timeout"}]}
