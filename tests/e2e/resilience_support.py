"""Helpers for the resilience tests: users, spawn bodies, event streams, cluster contents.

Everything goes through the same doors as in production: the controller over HTTP, and the
simulated cluster through kubesim's store (what ``kubectl`` would show). Users beyond the
demo ones are added to kubesim's fake Gafaelfawr, which the site serves.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import trio

from kubesim.gafaelfawr import API_PREFIX, FakeGafaelfawr, Group, TokenRecord, UserRecord
from kubesim.site import Site, SiteConfig
from tests.e2e.harness import RunningController, fast_site_config

LAB_NAMESPACE_PREFIX = "nublado-"
"""``lab.namespacePrefix`` of the simulated configuration, plus the dash."""

POLL_INTERVAL = 0.05


@dataclass(frozen=True)
class Event:
    """One server-sent event of a lab's progress stream."""

    type: str
    message: str
    progress: int | None = None


def add_user(site: Site, username: str, uid: int) -> str:
    """Make ``username`` known to the fake Gafaelfawr (no quota); return their bearer token."""
    fake = site.mounted(API_PREFIX)
    assert isinstance(fake, FakeGafaelfawr)
    fake.data.add_user(
        UserRecord(
            username=username,
            name=f"Test user {username}",
            uid=uid,
            gid=uid,
            groups=(Group(username, uid),),
        )
    )
    token = f"{username}-resilience-token"
    fake.data.add_token(
        TokenRecord(token=token, username=username, scopes=("exec:notebook", "read:image"))
    )
    return token


SLOW_TAG = "w_2026_42"
"""A lab image outside the prepull set: slowing its pull slows lab spawns and nothing else."""


def slow_lab_site(pull_seconds: float) -> SiteConfig:
    """A fast site where pulling :data:`SLOW_TAG` takes ``pull_seconds``.

    Only labs spawned with that tag (``spawn_body(..., tag=SLOW_TAG)``) are slow; prepull pods
    stay instant, so no controller shutdown waits on them.
    """
    return fast_site_config(pull_delays={f"*sciplat-lab:{SLOW_TAG}*": pull_seconds})


def spawn_body(
    running: RunningController, username: str, size: str = "small", *, tag: str = "w_2026_46"
) -> dict[str, Any]:
    """A create body as JupyterHub sends it (form fields as lists)."""
    return {
        "options": {"image_dropdown": [running.image(tag)], "size": [size]},
        "env": {"JUPYTERHUB_SERVICE_PREFIX": f"/nb/user/{username}/"},
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def parse_events(text: str) -> list[Event]:
    """Parse a complete ``text/event-stream`` body (CRLF or LF; comments ignored)."""
    return [event for block in _blocks(text) if (event := _parse_block(block)) is not None]


def _blocks(text: str) -> list[str]:
    return text.replace("\r\n", "\n").split("\n\n")


def _parse_block(block: str) -> Event | None:
    kind: str | None = None
    data: dict[str, Any] = {}
    for line in block.split("\n"):
        if line.startswith("event:"):
            kind = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data = json.loads(line.removeprefix("data:").strip())
    if kind is None:
        return None
    return Event(kind, data["message"], data.get("progress"))


class EventReader:
    """An open progress stream read event by event (to act in the middle of an operation)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.events: list[Event] = []
        self._lines = response.aiter_lines()
        self._block: list[str] = []

    async def next(self) -> Event | None:
        """The next event, or ``None`` when the server ended the stream."""
        async for line in self._lines:
            if line.strip():
                self._block.append(line)
                continue
            if not self._block:
                continue
            event = _parse_block("\n".join(self._block))
            self._block = []
            if event is not None:
                self.events.append(event)
                return event
        return None

    async def until(self, message_start: str) -> Event:
        """Read until an event whose message starts with ``message_start``."""
        while True:
            event = await self.next()
            assert event is not None, f"stream ended before {message_start!r}: {self.events}"
            if event.message.startswith(message_start):
                return event

    async def abandon(self) -> None:
        """Finish httpx's chain of line/text/byte generators when leaving a stream early.

        Closing only the outer generator leaves the inner ones suspended, and Trio warns about
        each when it is garbage collected. Stepping the chain in a cancelled scope makes the
        next network read raise ``Cancelled`` at the bottom, which finishes all of them.
        """
        with trio.CancelScope() as scope:
            scope.cancel()
            try:
                while True:
                    await anext(self._lines)
            except (StopAsyncIteration, httpx.TransportError):
                pass

    async def rest(self) -> list[Event]:
        """Read to the end of the stream; return every event read so far."""
        while await self.next() is not None:
            pass
        return self.events


@asynccontextmanager
async def open_events(
    client: httpx.AsyncClient, prefix: str, username: str
) -> AsyncIterator[EventReader]:
    """Subscribe to ``username``'s progress stream for the block."""
    url = f"{prefix}/spawner/v1/labs/{username}/events"
    async with client.stream("GET", url, timeout=httpx.Timeout(30.0)) as response:
        assert response.status_code == 200, response.status_code
        reader = EventReader(response)
        try:
            yield reader
        finally:
            await reader.abandon()


async def finished_events(client: httpx.AsyncClient, prefix: str, username: str) -> list[Event]:
    """The whole progress stream of ``username``'s current operation (waits for its end)."""
    response = await client.get(f"{prefix}/spawner/v1/labs/{username}/events")
    assert response.status_code == 200, response.text
    return parse_events(response.text)


async def lab_status(hub: httpx.AsyncClient, prefix: str, username: str) -> str | None:
    """The lab status the hub sees, ``None`` for 404."""
    response = await hub.get(f"{prefix}/spawner/v1/labs/{username}")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


async def wait_for_status(
    hub: httpx.AsyncClient, prefix: str, username: str, wanted: str | None
) -> None:
    """Poll the hub status route until it reports ``wanted`` (bounded by the test's deadline)."""
    while await lab_status(hub, prefix, username) != wanted:
        await trio.sleep(POLL_INTERVAL)


def lab_namespaces(site: Site) -> set[str]:
    """Names of the lab namespaces in the cluster (terminating ones included)."""
    namespaces, _ = site.store.list(site.store.resource("namespaces"))
    return {
        n["metadata"]["name"]
        for n in namespaces
        if n["metadata"]["name"].startswith(LAB_NAMESPACE_PREFIX)
    }


def objects_in(site: Site, namespace: str, plural: str) -> list[str]:
    """Names of the ``plural`` objects in ``namespace``."""
    items, _ = site.store.list(site.store.resource(plural), namespace)
    return sorted(item["metadata"]["name"] for item in items)


async def wait_until_gone(site: Site, namespace: str) -> None:
    """Wait until ``namespace`` has left the cluster (bounded by the test's deadline)."""
    while namespace in lab_namespaces(site):
        await trio.sleep(POLL_INTERVAL)


async def actor(admin: httpx.AsyncClient, prefix: str, name: str) -> dict[str, Any] | None:
    """The admin view of one actor (``None`` when it is not in the tree)."""
    response = await admin.get(f"{prefix}/admin/actors/{name}")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    snapshot: dict[str, Any] = response.json()
    return snapshot
