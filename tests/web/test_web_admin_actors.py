"""Admin actor inspection: the tree, one actor by (slashed) name, and the live WebSocket."""

from __future__ import annotations

import json
from typing import Any

import httpx
import trio
from quart_trio import QuartTrio
from trio_websocket import ConnectionClosed, WebSocketConnection

from actors.config import ControllerConfig
from actors.runtime import ActorRef, ActorSystem, Supervisor
from tests.web.conftest import run_server
from tests.web.trees import Napper
from tests.web.wsclient import connect
from web.server import RunningServer
from web.state import app_state


def names(tree: dict[str, Any]) -> set[str]:
    """Every actor name in a JSON tree."""
    found = {tree["name"]}
    for child in tree["children"]:
        found |= names(child)
    return found


async def messages_until_closed(ws: WebSocketConnection) -> int:
    """Read until the server closes the WebSocket; return its close code."""
    try:
        while True:
            await ws.get_message()
    except ConnectionClosed as closed:
        return closed.reason.code


def ws_url(server: RunningServer) -> str:
    return server.base_url.replace("http://", "ws://") + "/nublado/admin/actors/ws"


def start_lab(system: ActorSystem, user: str) -> None:
    labs = system.node("labs")
    assert isinstance(labs, Supervisor)
    labs.start_child(ActorRef(f"lab/{user}", Napper))


async def test_tree_lists_every_actor(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        response = await client.get("/nublado/admin/actors")
    assert response.status_code == 200
    tree = response.json()
    assert tree["name"] == "root"
    assert names(tree) == {"root", "napper", "labs", "lab/alice"}
    assert {"kind", "status", "mailbox_depth", "mailbox_capacity", "restarts"} <= tree.keys()


async def test_one_actor_is_found_by_a_name_with_a_slash(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        response = await client.get("/nublado/admin/actors/lab/alice")
    assert response.status_code == 200
    actor = response.json()
    assert (actor["name"], actor["kind"], actor["status"]) == ("lab/alice", "napper", "running")


async def test_unknown_actor_is_404_unknown_actor(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        response = await client.get("/nublado/admin/actors/lab/nobody")
    assert response.status_code == 404
    assert response.json() == {
        "detail": [
            {"loc": ["path", "name"], "msg": "Unknown actor lab/nobody", "type": "unknown_actor"}
        ]
    }


async def test_websocket_sends_the_tree_then_pushes_changes(
    server: RunningServer, system: ActorSystem
) -> None:
    with trio.fail_after(10):
        async with connect(ws_url(server)) as ws:
            first = json.loads(await ws.get_message())
            assert "lab/bob" not in names(first)
            assert b"x-request-id" in dict(ws.handshake_headers)
            start_lab(system, "bob")
            while "lab/bob" not in names(json.loads(await ws.get_message())):
                pass


async def test_websocket_coalesces_bursts_of_changes(
    server: RunningServer, system: ActorSystem
) -> None:
    received: list[dict[str, Any]] = []

    async def change_the_tree_40_times_in_one_second() -> None:
        for number in range(40):
            start_lab(system, f"user{number}")
            await trio.sleep(0.025)

    with trio.fail_after(10):
        async with connect(ws_url(server)) as ws:
            received.append(json.loads(await ws.get_message()))
            async with trio.open_nursery() as nursery:
                nursery.start_soon(change_the_tree_40_times_in_one_second)
                with trio.move_on_after(1.5):
                    while True:
                        received.append(json.loads(await ws.get_message()))
    # The initial tree plus at most 4 pushes per second, not one push per change.
    assert 3 <= len(received) <= 9
    assert {f"lab/user{n}" for n in range(40)} <= names(received[-1])


async def test_websocket_keeps_pushing_while_the_client_talks(
    server: RunningServer, system: ActorSystem, app: QuartTrio
) -> None:
    with trio.fail_after(10):
        async with connect(ws_url(server)) as ws:
            await ws.get_message()
            for _ in range(50):
                await ws.send_message("chatter the server must drain")
            start_lab(system, "carol")
            while "lab/carol" not in names(json.loads(await ws.get_message())):
                pass
        streams = app_state(app).streams
        while streams.open_streams:
            await trio.sleep(0.01)


async def test_websocket_is_closed_with_1001_when_the_server_shuts_down(
    config: ControllerConfig, system: ActorSystem
) -> None:
    with trio.fail_after(10):
        async with run_server(config, system) as server, connect(ws_url(server)) as ws:
            await ws.get_message()
            server.request_shutdown()
            close_code = await messages_until_closed(ws)
    assert close_code == 1001
