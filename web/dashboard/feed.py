"""The dashboard's one WebSocket feed: what changed, coalesced, as small JSON messages.

One connection carries everything the page shows, each part at its own pace:

* ``labs`` — every lab as a row (``actors.labs.summary``): the whole list on connect, then
  only the rows that changed and the users whose lab went away, at most every
  ``LAB_INTERVAL`` seconds however many events arrive in between (a storm of 300 spawns is a
  few messages per second, not thousands);
* ``activity`` — spawns accepted, completed and failed per 10 s over the last ten minutes;
* ``actors`` — the actor tree, at most every ``TREE_INTERVAL`` seconds, with large sets of
  children (3,000 ``lab/<user>``) reduced to the ones that need attention plus counts;
* ``services`` — file servers, fsadmin and migrations (from the tree), and ``images`` —
  the prepuller's images and nodes, both every ``SLOW_INTERVAL`` seconds, sent only when
  they changed.

A part that cannot be read this time (an actor busy or restarting) is skipped until the next
tick: the feed never fails because the controller is under load.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import structlog
import trio

from actors.errors import ControllerError
from actors.labs.activity import BUCKET_SECONDS
from actors.runtime import ActorSnapshot, ActorStatus, ActorStopped, AskTimeout, MailboxFull
from web.state import AppState
from web.streams import send_text

__all__ = [
    "LAB_INTERVAL",
    "MAX_CHILDREN",
    "SLOW_INTERVAL",
    "TREE_INTERVAL",
    "compact_tree",
    "push_dashboard",
]

_log = structlog.stdlib.get_logger(__name__)

LAB_INTERVAL = 0.5
TREE_INTERVAL = 1.0
SLOW_INTERVAL = 5.0
MAX_CHILDREN = 40
"""Children of one actor shown at most; beyond it only those that need attention."""

SERVICE_KINDS = ("fileserver", "fsadmin", "migration")

_BUSY = (AskTimeout, MailboxFull, ActorStopped, ControllerError, trio.TooSlowError)
"""What a part of the feed may meet when the controller is loaded; it is retried later."""


def _needs_attention(node: ActorSnapshot) -> bool:
    return (
        node.status not in (ActorStatus.RUNNING, ActorStatus.STOPPED)
        or node.restarts > 0
        or node.last_error is not None
        or node.mailbox_depth * 2 >= max(node.mailbox_capacity, 1)
    )


def _degraded(node: ActorSnapshot) -> bool:
    """Unhealthy now: restarting, failed, or a mailbox at least half full."""
    return node.status in (ActorStatus.RESTARTING, ActorStatus.FAILED) or (
        node.mailbox_depth * 2 >= max(node.mailbox_capacity, 1)
    )


def compact_tree(node: ActorSnapshot) -> dict[str, Any]:
    """``node`` as JSON with at most ``MAX_CHILDREN`` children per actor (those needing
    attention first); ``omitted`` and ``omitted_status`` count what was left out."""
    data = node.model_dump(mode="json", exclude={"children", "details"})
    data["degraded"] = _degraded(node)
    children = node.children
    if len(children) > MAX_CHILDREN:
        notable = [child for child in children if _needs_attention(child)][:MAX_CHILDREN]
        shown_names = {child.name for child in notable}
        rest = [child for child in children if child.name not in shown_names]
        data["omitted"] = len(rest)
        data["omitted_status"] = dict(Counter(child.status.value for child in rest))
        children = notable
    data["children"] = [compact_tree(child) for child in children]
    return data


def _services(tree: ActorSnapshot) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if node.kind in SERVICE_KINDS:
            found.append(
                {
                    "kind": node.kind,
                    "name": node.name,
                    "status": node.status.value,
                    "phase": node.phase,
                    "restarts": node.restarts,
                    "last_error": node.last_error,
                    "details": node.details,
                }
            )
        stack.extend(node.children)
    return sorted(found, key=lambda item: (item["kind"], item["name"]))


def leadership(state: AppState) -> dict[str, Any]:
    """Who leads and since when, as the replica serving this feed (the leader) sees it."""
    replicas = state.replicas
    if replicas is None or not replicas.enabled:
        return {"enabled": False}
    view = replicas.view
    leader = view.leader
    term = view.terms.current
    return {
        "enabled": True,
        "replica": view.identity,
        "leader": leader.identity if leader is not None else None,
        "since": leader.since if leader is not None else None,
        "term": term.number if term is not None and term.valid else None,
        "changes": view.leader_changes,
    }


class DashboardFeed:
    """One connection's view: what it last sent, to send only differences."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.rows: dict[str, dict[str, Any]] | None = None
        self.lab_version = -1
        self.tree_version = -1
        self.next_tree = 0.0
        self.next_slow = 0.0
        self.next_activity = 0.0
        self.last_slow: dict[str, str] = {}

    async def tick(self) -> None:
        now = trio.current_time()
        await self._labs(now)
        if now >= self.next_tree and self.state.system.version != self.tree_version:
            self.next_tree = now + TREE_INTERVAL
            self.tree_version = self.state.system.version
            tree = self.state.system.snapshot()
            await _send({"type": "actors", "tree": compact_tree(tree)})
            await self._send_if_changed("services", {"items": _services(tree)})
            await self._send_if_changed("leadership", leadership(self.state))
        if now >= self.next_slow:
            self.next_slow = now + SLOW_INTERVAL
            await self._slow_parts()

    async def _labs(self, now: float) -> None:
        labs = self.state.labs
        if labs is None:
            return
        version = labs.activity.version
        if version != self.lab_version:
            try:
                summaries = await labs.summaries()
            except _BUSY as error:
                _log.debug("Dashboard skipped a lab update", error=str(error))
                return
            self.lab_version = version
            await self._send_rows({row.user: row.as_json() for row in summaries})
            self.next_activity = 0.0
        if now >= self.next_activity:
            self.next_activity = now + BUCKET_SECONDS
            buckets = [[b.started, b.completed, b.failed] for b in labs.activity.window()]
            await _send({"type": "activity", "bucket_seconds": BUCKET_SECONDS, "buckets": buckets})

    async def _send_rows(self, rows: dict[str, dict[str, Any]]) -> None:
        if self.rows is None:
            await _send({"type": "labs", "full": True, "rows": list(rows.values())})
        else:
            old = self.rows
            changed = [row for user, row in rows.items() if old.get(user) != row]
            removed = [user for user in old if user not in rows]
            if changed or removed:
                await _send({"type": "labs", "full": False, "rows": changed, "removed": removed})
        self.rows = rows

    async def _slow_parts(self) -> None:
        images = self.state.images
        if images is not None:
            try:
                prepulls = await images.prepuller_status()
            except _BUSY as error:
                _log.debug("Dashboard skipped an image update", error=str(error))
            else:
                await self._send_if_changed("images", prepulls.model_dump(mode="json"))
        fileservers = self.state.fileservers
        if fileservers is not None:
            try:
                running = await fileservers.running()
            except _BUSY as error:
                _log.debug("Dashboard skipped a file-server update", error=str(error))
            else:
                await self._send_if_changed("fileservers", {"running": sorted(running)})

    async def _send_if_changed(self, kind: str, payload: dict[str, Any]) -> None:
        text = json.dumps({"type": kind, **payload})
        if self.last_slow.get(kind) != text:
            self.last_slow[kind] = text
            await send_text(text)


async def _send(message: dict[str, Any]) -> None:
    await send_text(json.dumps(message))


async def push_dashboard(state: AppState) -> None:
    """Feed the current WebSocket until the client or the server ends it."""
    feed = DashboardFeed(state)
    while True:
        await feed.tick()
        await trio.sleep(LAB_INTERVAL)
