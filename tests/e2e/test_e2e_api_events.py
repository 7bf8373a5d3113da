"""The spawn progress stream (``api.md`` §5.5, §13 items 1 and 2): SSE wire format, the same
events over a WebSocket, replay for late subscribers, and who gets a stream at all.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
from trio_websocket import ConnectionRejected, WebSocketConnection

from tests.e2e.harness import RunningController
from tests.e2e.spawner_client import (
    SpawnerClient,
    demo_token,
    jupyterhub_env,
    open_events_websocket,
    open_spawner,
    parse_sse,
    receive_all_json,
)

OPTIONS = {"image_list": ["use_image_from_dropdown"], "size": ["small"]}


async def start_spawn(nublado: RunningController, spawner: SpawnerClient) -> None:
    options = {**OPTIONS, "image_dropdown": [nublado.image()]}
    created = await spawner.create(options, jupyterhub_env(spawner.username))
    assert created.status_code == 201, created.text


def events_url(nublado: RunningController, username: str) -> str:
    return f"{nublado.url}{nublado.prefix}/spawner/v1/labs/{username}/events"


def sse_as_messages(body: str) -> list[dict[str, Any]]:
    """SSE events in the WebSocket message shape: ``{"event": ..., **data}``."""
    return [{"event": e.event, **json.loads(e.data)} for e in parse_sse(body.splitlines(True))]


async def receive_until_closed(
    connection: WebSocketConnection,
) -> tuple[list[dict[str, Any]], int | None]:
    messages = await receive_all_json(connection)
    assert connection.closed is not None
    return messages, connection.closed.code


async def test_the_sse_stream_has_the_reference_wire_format(nublado: RunningController) -> None:
    with trio.fail_after(30):
        async with open_spawner(nublado, "alice") as spawner:
            await start_spawn(nublado, spawner)
            response = await spawner.http.get(
                events_url(nublado, "alice"), headers=dict(spawner.credentials.user)
            )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-accel-buffering"] == "no"
    body = response.content.decode()
    assert body.endswith("\r\n\r\n")
    blocks = body.removesuffix("\r\n\r\n").split("\r\n\r\n")
    for block in blocks:
        event_line, data_line = block.split("\r\n")
        assert event_line.startswith("event: ")
        assert data_line.startswith("data: ")
        payload = data_line.removeprefix("data: ")
        data = json.loads(payload)
        assert json.dumps(data, separators=(", ", ": ")) == payload
        assert set(data) <= {"message", "progress"}
        if event_line in ("event: complete", "event: failed", "event: error"):
            assert "progress" not in data
        else:
            assert isinstance(data["progress"], int)
            assert 1 <= data["progress"] < 75
    complete = 'event: complete\r\ndata: {"message": "Lab Kubernetes pod started for alice"}'
    assert blocks[-1] == complete
    assert "\n" not in body.replace("\r\n", "")


async def test_websocket_and_sse_subscribers_see_the_same_events(
    nublado: RunningController,
) -> None:
    with trio.fail_after(30):
        async with open_spawner(nublado, "alice") as spawner:
            nublado.site.faults.kubelet_frozen = True
            await start_spawn(nublado, spawner)
            headers = dict(spawner.credentials.user)
            seen: dict[str, Any] = {}

            async def follow_sse() -> None:
                response = await spawner.http.get(events_url(nublado, "alice"), headers=headers)
                seen["sse"] = sse_as_messages(response.text)

            async def follow_websocket(connection: WebSocketConnection) -> None:
                seen["ws"], seen["ws_close"] = await receive_until_closed(connection)

            async with (
                open_events_websocket(events_url(nublado, "alice"), headers) as connection,
                trio.open_nursery() as nursery,
            ):
                nursery.start_soon(follow_sse)
                nursery.start_soon(follow_websocket, connection)
                await trio.sleep(0.2)  # both subscribed while the pod is held Pending
                nublado.site.faults.kubelet_frozen = False
    assert seen["ws"] == seen["sse"]
    complete = {"event": "complete", "message": "Lab Kubernetes pod started for alice"}
    assert seen["ws"][-1] == complete
    assert seen["ws_close"] == 1000


async def test_late_subscribers_get_the_replay_and_the_stream_ends(
    nublado: RunningController,
) -> None:
    with trio.fail_after(30):
        async with open_spawner(nublado, "alice") as spawner:
            await start_spawn(nublado, spawner)
            first = await spawner.read_events()
            second = await spawner.read_events()
            headers = dict(spawner.credentials.user)
            async with open_events_websocket(events_url(nublado, "alice"), headers) as ws:
                replayed, code = await receive_until_closed(ws)
    assert first == second
    assert first[0].event == "info"
    assert first[-1].event == "complete"
    assert replayed == [{"event": e.event, **json.loads(e.data)} for e in first]
    assert code == 1000


async def test_after_a_delete_the_stream_replays_the_deletion(
    nublado: RunningController,
) -> None:
    with trio.fail_after(30):
        async with open_spawner(nublado, "alice") as spawner:
            await start_spawn(nublado, spawner)
            await spawner.read_events()
            await spawner.stop()
            events = await spawner.read_events()
    assert [(e.event, json.loads(e.data)) for e in events] == [
        ("info", {"message": "Shutting down Kubernetes pod", "progress": 25}),
        ("info", {"message": "Deleting user namespace", "progress": 62}),
        ("info", {"message": "Lab for alice deleted", "progress": 100}),
    ]


async def test_a_delete_during_a_spawn_ends_its_stream_with_failed(
    nublado: RunningController,
) -> None:
    with trio.fail_after(30):
        async with open_spawner(nublado, "alice") as spawner:
            nublado.site.faults.kubelet_frozen = True
            await start_spawn(nublado, spawner)
            async with spawner.open_events() as events:
                first = await events.receive()
                assert first.event == "info"
                await spawner.stop()
                rest = [event async for event in events]
    assert rest[-1].event == "failed"
    assert json.loads(rest[-1].data) == {"message": "Operation cancelled"}
    assert "complete" not in [event.event for event in rest]


async def test_only_registered_users_have_a_stream(nublado: RunningController) -> None:
    with trio.fail_after(30):
        async with open_spawner(nublado, "bob") as bob:
            unknown = await bob.http.get(events_url(nublado, "bob"), headers=bob.credentials.user)
            refused = await bob.create(
                {**OPTIONS, "image_dropdown": [nublado.image()], "size": ["medium"]},
                jupyterhub_env("bob"),
            )
            assert refused.status_code == 403
            async with bob.http.stream(
                "GET", events_url(nublado, "bob"), headers=dict(bob.credentials.user)
            ) as registered:
                assert registered.status_code == 200
                assert registered.headers["content-type"].startswith("text/event-stream")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/json"
    assert unknown.json() == {
        "detail": [{"loc": ["path", "username"], "msg": "Unknown user bob", "type": "unknown_user"}]
    }


async def test_the_admin_feed_carries_every_labs_events_with_the_user(
    nublado: RunningController,
) -> None:
    url = f"{nublado.url}{nublado.prefix}/admin/labs/events"
    admin = {"Authorization": f"Bearer {demo_token('admin')}"}
    with trio.fail_after(30):
        async with (
            open_spawner(nublado, "alice") as spawner,
            open_events_websocket(url, admin) as feed,
        ):
            await trio.sleep(0.1)  # the feed is live only: subscribe before the spawn
            await start_spawn(nublado, spawner)
            spawn_events = await spawner.read_events()
            received: list[dict[str, Any]] = []
            while len(received) < len(spawn_events):
                received.append(json.loads(await feed.get_message()))
    assert received == [
        {"user": "alice", "event": e.event, **json.loads(e.data)} for e in spawn_events
    ]


async def test_the_admin_feed_refuses_user_and_hub_tokens(nublado: RunningController) -> None:
    url = f"{nublado.url}{nublado.prefix}/admin/labs/events"
    with trio.fail_after(30):
        for who in ("alice", "hub"):
            headers = {"Authorization": f"Bearer {demo_token(who)}"}
            with pytest.raises(ConnectionRejected) as rejected:
                async with open_events_websocket(url, headers):
                    pass
            assert rejected.value.status_code == 403


async def test_websocket_upgrades_are_refused_like_the_sse_requests(
    nublado: RunningController,
) -> None:
    alice = {"Authorization": f"Bearer {demo_token('alice')}"}
    with trio.fail_after(30):
        with pytest.raises(ConnectionRejected) as unknown:
            async with open_events_websocket(events_url(nublado, "alice"), alice):
                pass
        with pytest.raises(ConnectionRejected) as other_user:
            async with open_events_websocket(events_url(nublado, "bob"), alice):
                pass
    assert unknown.value.status_code == 404
    assert json.loads(unknown.value.body or b"{}")["detail"][0]["type"] == "unknown_user"
    assert other_user.value.status_code == 403


async def test_a_stream_waiting_for_an_operation_ends_empty_when_a_spawn_starts(
    nublado: RunningController,
) -> None:
    small = {**OPTIONS, "image_dropdown": [nublado.image()]}
    with trio.fail_after(30):
        async with open_spawner(nublado, "bob") as bob:
            refused = await bob.create({**small, "size": ["medium"]}, jupyterhub_env("bob"))
            assert refused.status_code == 403
            async with bob.open_events() as waiting:
                await trio.sleep(0.2)  # subscribed, with nothing recorded yet
                assert (await bob.create(small, jupyterhub_env("bob"))).status_code == 201
                old = [event async for event in waiting]
            new = await bob.read_events()
    assert old == [], "current subscribers never see a new operation's events"
    assert new[0].data == '{"message": "Starting lab creation for bob", "progress": 1}'
    assert new[-1].event == "complete"
