"""The dashboard's WebSocket feed over real HTTP: what a page receives as labs spawn."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import trio
from trio_websocket import ConnectionRejected, WebSocketConnection

from actors.runtime import ActorSnapshot, ActorStatus
from tests.e2e.harness import RunningController
from tests.e2e.resilience_support import spawn_body
from tests.e2e.spawner_client import demo_token, open_events_websocket
from web.dashboard.access import COOKIE_NAME
from web.dashboard.feed import MAX_CHILDREN, compact_tree

DEADLINE = 30
Message = dict[str, Any]


@asynccontextmanager
async def feed(
    nublado: RunningController, headers: dict[str, str]
) -> AsyncIterator[WebSocketConnection]:
    url = f"{nublado.url}{nublado.prefix}/admin/dashboard/ws"
    async with open_events_websocket(url, headers) as connection:
        yield connection


async def until(socket: WebSocketConnection, wanted: Callable[[Message], bool]) -> Message:
    while True:
        message: Message = json.loads(await socket.get_message())
        if wanted(message):
            return message


def _lab(user: str, progress: int) -> Callable[[Message], bool]:
    def wanted(message: Message) -> bool:
        return message["type"] == "labs" and any(
            row["user"] == user and row["progress"] == progress for row in message["rows"]
        )

    return wanted


async def test_the_feed_streams_lab_rows_activity_and_the_tree(nublado: RunningController) -> None:
    prefix = nublado.prefix
    bearer = {"Authorization": f"Bearer {demo_token('admin')}"}
    with trio.fail_after(DEADLINE):
        async with feed(nublado, bearer) as socket:
            first = await until(socket, lambda m: m["type"] == "labs")
            assert first == {"type": "labs", "full": True, "rows": []}
            tree = await until(socket, lambda m: m["type"] == "actors")
            assert tree["tree"]["name"] == "root"
            assert tree["tree"]["degraded"] is False
            async with nublado.client("alice") as alice:
                url = f"{prefix}/spawner/v1/labs/alice/create"
                created = await alice.post(url, json=spawn_body(nublado, "alice"))
                assert created.status_code == 201
            done = await until(socket, _lab("alice", 100))
            assert done["full"] is False  # only what changed
            [row] = [row for row in done["rows"] if row["user"] == "alice"]
            assert (row["status"], row["outcome"], row["size"]) == ("running", "complete", "small")
            assert row["message"] == "Lab Kubernetes pod started for alice"
            activity = await until(
                socket, lambda m: m["type"] == "activity" and sum(b[1] for b in m["buckets"]) > 0
            )
            assert sum(b[0] for b in activity["buckets"]) == 1  # one spawn accepted
            assert sum(b[2] for b in activity["buckets"]) == 0
            images = await until(socket, lambda m: m["type"] == "images")
            assert images["nodes"]
            async with nublado.client("admin") as admin:
                gone = await admin.delete(f"{prefix}/admin/labs/alice")
                assert gone.status_code == 204
            removed = await until(socket, lambda m: m["type"] == "labs" and m.get("removed"))
            assert removed["removed"] == ["alice"]


async def test_the_feed_refuses_strangers_and_foreign_origins(nublado: RunningController) -> None:
    prefix = nublado.prefix
    with trio.fail_after(DEADLINE):
        async with nublado.client() as browser:
            response = await browser.post(
                f"{prefix}/admin/login", data={"token": demo_token("admin")}
            )
            cookie = response.cookies[COOKIE_NAME]
        own_origin = {"Cookie": f"{COOKIE_NAME}={cookie}", "Origin": nublado.url}
        async with feed(nublado, own_origin) as socket:
            assert (await until(socket, lambda m: m["type"] == "labs"))["full"] is True
        for headers, status in (
            ({}, 401),
            ({"Authorization": f"Bearer {demo_token('alice')}"}, 403),
            ({**own_origin, "Origin": "https://evil.example.com"}, 403),
        ):
            with pytest.raises(ConnectionRejected) as refused:
                async with feed(nublado, headers):
                    pass
            assert refused.value.status_code == status


def _node(name: str, *, restarts: int = 0, children: list[ActorSnapshot] | None = None) -> Any:
    now = datetime.now(UTC)
    return ActorSnapshot(
        kind="lab",
        name=name,
        status=ActorStatus.RUNNING,
        phase="running",
        mailbox_depth=0,
        mailbox_capacity=64,
        processed=0,
        current_message=None,
        current_since=None,
        restarts=restarts,
        last_error="ValueError: boom" if restarts else None,
        last_error_at=now if restarts else None,
        started_at=now,
        children=children or [],
    )


def test_large_sets_of_children_are_reduced_to_those_needing_attention() -> None:
    labs = [_node(f"lab/u{i}", restarts=1 if i in (7, 2000) else 0) for i in range(3000)]
    tree = compact_tree(_node("lab-users", children=labs))
    assert [child["name"] for child in tree["children"]] == ["lab/u7", "lab/u2000"]
    assert tree["omitted"] == 2998
    assert tree["omitted_status"] == {"running": 2998}
    small = compact_tree(_node("lab-users", children=labs[:MAX_CHILDREN]))
    assert len(small["children"]) == MAX_CHILDREN
    assert "omitted" not in small
