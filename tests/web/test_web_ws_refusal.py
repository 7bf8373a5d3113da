"""A refused WebSocket upgrade never takes the server down."""

from __future__ import annotations

import httpx
import trio
from quart import websocket

from actors.config import ControllerConfig
from actors.runtime import ActorSystem
from tests.web.conftest import run_server
from web.app import create_app
from web.server import RunningServer

UPGRADE = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}


async def test_refused_upgrades_on_one_connection_leave_the_server_serving(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    with trio.fail_after(10):
        for _ in range(3):
            refused = await client.get("/nublado/no-such-socket", headers=UPGRADE)
            assert refused.status_code == 404
        # The server is still up and answers on a fresh connection too.
        async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as fresh:
            assert (await fresh.get("/")).status_code == 200


async def test_a_handler_that_closes_before_accepting_refuses_with_403(
    config: ControllerConfig, system: ActorSystem
) -> None:
    app = create_app(config, system)

    @app.websocket("/closing")
    async def closing() -> None:
        await websocket.close(1008)

    with trio.fail_after(10):
        async with (
            run_server(config, system, app=app) as running,
            httpx.AsyncClient(base_url=running.base_url, timeout=5) as client,
        ):
            for _ in range(3):
                refused = await client.get("/closing", headers=UPGRADE)
                assert refused.status_code == 403
                assert refused.headers["connection"] == "close"
            assert (await client.get("/")).status_code == 200
