"""api.md §3: every error response has the documented body, whatever raised it.

The 422/500/503 cases need routes that fail on purpose; they are added to a test-only app
built by the ``app`` fixture below, never to production code.
"""

from __future__ import annotations

import httpx
import pytest
import trio
from pydantic import BaseModel, Field
from quart_trio import QuartTrio

from actors.config import ControllerConfig
from actors.errors import UnknownUserError
from actors.runtime import ActorSystem, MailboxFull
from tests.web.trees import Nap
from web.app import create_app
from web.errors import parse_body, require_header

LEAKY_TEXT = "password=hunter2 at /internal/path"


class Greeting(BaseModel):
    name: str
    times: int = Field(ge=1)


@pytest.fixture
def app(config: ControllerConfig, system: ActorSystem) -> QuartTrio:
    app = create_app(config, system)

    @app.post("/test/greet")
    async def greet() -> dict[str, str]:
        greeting = await parse_body(Greeting)
        return {"hello": greeting.name * greeting.times}

    @app.get("/test/needs-header")
    async def needs_header() -> dict[str, str]:
        return {"user": require_header("X-Auth-Request-User")}

    @app.get("/test/unknown-user")
    async def unknown_user() -> dict[str, str]:
        raise UnknownUserError("Unknown user ada", loc=["path", "username"])

    @app.get("/test/crash")
    async def crash() -> dict[str, str]:
        raise RuntimeError(LEAKY_TEXT)

    @app.get("/test/busy")
    async def busy() -> dict[str, str]:
        raise MailboxFull("lab/alice", capacity=8, retry_after=2.5)

    @app.get("/test/slow-actor")
    async def slow_actor() -> dict[str, str]:
        napper = system.ref("napper")
        assert napper is not None
        return {"reply": await napper.ask(Nap(seconds=5.0), timeout=0.05)}

    return app


async def test_unknown_route_is_404_with_string_detail(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        response = await client.get("/nublado/no/such/route")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


async def test_wrong_method_is_405_with_string_detail(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        response = await client.delete("/nublado")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}
    assert "GET" in response.headers["allow"]


async def test_malformed_json_is_422_json_invalid(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        response = await client.post("/test/greet", content=b'{"name": ')
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["type"] == "json_invalid"
    assert error["loc"] == ["body"]


async def test_invalid_body_lists_every_problem_with_location_and_input(
    client: httpx.AsyncClient,
) -> None:
    with trio.fail_after(5):
        response = await client.post("/test/greet", json={"times": 0, "ignored": True})
    assert response.status_code == 422
    errors = {tuple(e["loc"]): e for e in response.json()["detail"]}
    assert errors[("body", "name")]["type"] == "missing"
    assert errors[("body", "times")]["type"] == "greater_than_equal"
    assert errors[("body", "times")]["input"] == 0
    assert all({"loc", "msg", "type", "input"} <= e.keys() for e in errors.values())


async def test_valid_body_reaches_the_route(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        response = await client.post("/test/greet", json={"name": "ab", "times": 2})
    assert response.json() == {"hello": "abab"}


async def test_missing_required_header_is_422_with_header_location(
    client: httpx.AsyncClient,
) -> None:
    with trio.fail_after(5):
        response = await client.get("/test/needs-header")
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "missing",
                "loc": ["header", "x-auth-request-user"],
                "msg": "Field required",
                "input": None,
            }
        ]
    }


async def test_controller_error_has_one_detail_with_its_type(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        response = await client.get("/test/unknown-user")
    assert response.status_code == 404
    assert response.json() == {
        "detail": [{"loc": ["path", "username"], "msg": "Unknown user ada", "type": "unknown_user"}]
    }


async def test_unhandled_exception_is_500_that_leaks_nothing(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        response = await client.get("/test/crash")
    assert response.status_code == 500
    assert response.json() == {
        "detail": [{"msg": "Internal Server Error", "type": "internal_error"}]
    }
    assert "hunter2" not in response.text


async def test_full_mailbox_is_503_with_retry_after(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        response = await client.get("/test/busy")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "3"
    [error] = response.json()["detail"]
    assert error["type"] == "mailbox_full"
    assert "loc" not in error


async def test_actor_that_does_not_answer_in_time_is_500(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        response = await client.get("/test/slow-actor")
    assert response.status_code == 500
    assert response.json()["detail"][0]["type"] == "internal_error"
