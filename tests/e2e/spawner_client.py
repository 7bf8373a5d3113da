"""A test client that drives the lab API the way JupyterHub's Nublado spawner does.

Written from ``api.md`` §7 (not from any upstream code), so that end-to-end tests exercise the
controller exactly as its main client will:

* :class:`SpawnerClient` — ``options_form``, ``start`` (create, the one-time 409 → stop →
  retry recovery, progress read from the SSE stream with the spawner's mapping rules, then the
  internal URL), ``poll``, ``get_url`` and ``stop``, each with the credential §7 names (user
  calls with the user's token, hub calls with JupyterHub's own token).
* :class:`Credentials` — the headers each kind of call carries, either straight to the
  controller (direct mode: ``Authorization: Bearer``) or as the Gafaelfawr ingress forwards
  them (``X-Auth-Request-User`` / ``X-Auth-Request-Token``; hub calls carry nothing).
* :class:`SpawnForm` — what a browser does with the HTML fragment of ``options_form``: parse
  the controls (stdlib :mod:`html.parser`), let the user pick, and submit every field as a
  list of strings, which is the shape JupyterHub forwards.
* :func:`parse_sse` / :func:`progress_of` — the SSE wire format and the spawner's
  event → progress mapping, usable on their own by protocol tests.
* :func:`open_events_websocket` — the same progress over a WebSocket, for browsers and tools.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, NamedTuple

import httpx
import trio
from trio_websocket import (
    ConnectionClosed,
    ConnectionRejected,
    WebSocketConnection,
    wrap_client_stream,
)

from tests.e2e.harness import RunningController
from web.simulate import DEMO_TOKENS

__all__ = [
    "PROGRESS_ON_COMPLETE",
    "Choice",
    "Credentials",
    "FormControl",
    "ProgressEvent",
    "ServerSentEvent",
    "SpawnForm",
    "SpawnerClient",
    "SpawnerError",
    "demo_token",
    "jupyterhub_env",
    "open_events_websocket",
    "open_spawner",
    "parse_sse",
    "progress_of",
    "receive_all_json",
]

PROGRESS_ON_COMPLETE = 75
"""The spawner jumps to this value on ``complete``; the rest is JupyterHub's own wait."""

STOP_TIMEOUT = 300.0
"""The spawner's timeout for ``DELETE`` (§7); the default for other calls is 60 s."""


class SpawnerError(Exception):
    """What makes the spawner fail a call (a non-2xx answer, a ``failed`` event, no URL)."""

    def __init__(self, message: str, response: httpx.Response | None = None) -> None:
        super().__init__(message)
        self.response = response


# -- credentials --------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """Headers for the two kinds of calls the spawner makes (§2.2, §7)."""

    user: Mapping[str, str]
    """For the user route group (form, create, events)."""
    hub: Mapping[str, str]
    """For the hub route group (status, delete)."""

    @classmethod
    def direct(cls, user_token: str, hub_token: str) -> Credentials:
        """Calls sent straight to a controller that checks bearer tokens itself."""
        return cls(
            user={"Authorization": f"Bearer {user_token}"},
            hub={"Authorization": f"Bearer {hub_token}"},
        )

    @classmethod
    def behind_ingress(cls, username: str, delegated_token: str) -> Credentials:
        """Calls as the Gafaelfawr ingress forwards them: identity headers on user routes
        (with the token it delegated), nothing on hub routes."""
        return cls(
            user={"X-Auth-Request-User": username, "X-Auth-Request-Token": delegated_token},
            hub={},
        )


# -- the SSE wire format and the spawner's progress mapping -------------------------------


@dataclass(frozen=True)
class ServerSentEvent:
    """One dispatched event: its type (``message`` when no ``event:`` line) and raw data."""

    event: str
    data: str


def parse_sse(lines: Iterable[str]) -> list[ServerSentEvent]:
    """Events from stream lines (CRLF or LF already stripped or not); comments are skipped.

    Follows the event-stream rules: ``field: value`` (one optional space after the colon),
    several ``data`` lines joined with newlines, an event dispatched at a blank line, and
    nothing dispatched for a block without data.
    """
    events: list[ServerSentEvent] = []
    event_type = ""
    data: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r\n")
        if line == "":
            if data:
                events.append(ServerSentEvent(event_type or "message", "\n".join(data)))
            event_type, data = "", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event_type = value
        elif name == "data":
            data.append(value)
    return events


@dataclass(frozen=True)
class ProgressEvent:
    """What JupyterHub shows: a percentage and ``[<severity>] <message>``."""

    progress: int
    severity: str
    message: str

    @property
    def display(self) -> str:
        return f"[{self.severity}] {self.message}"


def _message_and_progress(data: str, previous: int) -> tuple[str, int]:
    """§7: JSON with only ``message``/``progress`` (an integer 0 to 100) is used as such;
    anything else is shown raw with the previous progress."""
    try:
        parsed = json.loads(data)
    except ValueError:
        return data, previous
    if not isinstance(parsed, dict) or not set(parsed) <= {"message", "progress"}:
        return data, previous
    progress = parsed.get("progress", previous)
    if isinstance(progress, bool) or not isinstance(progress, int) or not 0 <= progress <= 100:
        return data, previous
    message = parsed.get("message", data)
    return str(message), progress


def progress_of(event: ServerSentEvent, previous: int) -> ProgressEvent | None:
    """The spawner's view of one event; ``None`` for events it skips (``ping``)."""
    if event.event == "ping":
        return None
    message, progress = _message_and_progress(event.data, previous)
    match event.event:
        case "complete":
            return ProgressEvent(PROGRESS_ON_COMPLETE, "info", message)
        case "info" | "error":
            return ProgressEvent(progress, event.event, message)
        case "failed":
            return ProgressEvent(progress, "error", message)
        case _:
            return ProgressEvent(progress, "unknown", message)


# -- the spawner --------------------------------------------------------------------------


@dataclass
class SpawnerClient:
    """One user's JupyterHub spawner, talking to the controller at ``base_url``.

    ``base_url`` already contains ``{prefix}`` (the spawner finds it by service discovery).
    ``progress`` records every progress event ``start`` produced, as JupyterHub's progress
    bar would show them.
    """

    http: httpx.AsyncClient
    base_url: str
    username: str
    credentials: Credentials
    progress: list[ProgressEvent] = field(default_factory=list)
    stored_url: str | None = None
    """JupyterHub's own record of the lab URL, the fallback of ``get_url``."""
    start_timeout: float = 60.0
    """JupyterHub's start timeout: the HTTP timeout of the create and events calls."""

    def url(self, *components: str) -> str:
        return "/".join([f"{self.base_url}/spawner/v1", *components])

    async def options_form(self) -> str:
        """The spawn form fragment; any non-2xx fails."""
        response = await self.http.get(
            self.url("lab-form", self.username), headers=dict(self.credentials.user)
        )
        _raise_unless_success(response, "Cannot get the spawn form")
        return response.text

    async def start(self, options: Mapping[str, list[str]], env: Mapping[str, str]) -> str:
        """Create the lab (recovering once from 409), follow its progress, return its URL."""
        await self._create_with_recovery(options, env)
        await self._follow_progress()
        url = await self._internal_url()
        self.stored_url = url
        return url

    async def poll(self) -> int | None:
        """``None`` while the lab lives, 0 when stopped, 1 when it failed (§6.1, §7)."""
        response = await self.http.get(self.url("labs", self.username), headers=self._hub)
        if response.status_code == 404:
            return 0
        _raise_unless_success(response, "Cannot get lab status")
        status = response.json()["status"]
        if status == "failed":
            return 1
        if status in ("terminating", "terminated"):
            return 0
        return None

    async def get_url(self) -> str | None:
        """The lab's internal URL, or JupyterHub's stored one when that fails (never raises)."""
        try:
            response = await self.http.get(self.url("labs", self.username), headers=self._hub)
            if response.is_success:
                url = response.json().get("internal_url")
                if url:
                    return str(url)
        except (httpx.HTTPError, ValueError):
            pass
        return self.stored_url

    async def lab_state(self) -> dict[str, Any] | None:
        """The ``LabState`` the hub reads (not a spawner method; tests look closer)."""
        response = await self.http.get(self.url("labs", self.username), headers=self._hub)
        if response.status_code == 404:
            return None
        _raise_unless_success(response, "Cannot get lab status")
        state: dict[str, Any] = response.json()
        return state

    async def stop(self) -> None:
        """Delete the lab; an absent lab counts as stopped."""
        response = await self.http.delete(
            self.url("labs", self.username), headers=self._hub, timeout=STOP_TIMEOUT
        )
        if response.status_code == 404:
            return
        _raise_unless_success(response, "Cannot delete lab")

    # -- start, step by step --------------------------------------------------------------

    @property
    def _hub(self) -> dict[str, str]:
        return dict(self.credentials.hub)

    async def create(
        self, options: Mapping[str, list[str]], env: Mapping[str, str]
    ) -> httpx.Response:
        """One create POST, as the spawner sends it; the answer is returned unread."""
        return await self.http.post(
            self.url("labs", self.username, "create"),
            json={"options": dict(options), "env": dict(env)},
            headers=dict(self.credentials.user),
            timeout=self.start_timeout,
        )

    async def _create_with_recovery(
        self, options: Mapping[str, list[str]], env: Mapping[str, str]
    ) -> None:
        response = await self.create(options, env)
        if response.status_code == 409:
            self.progress.append(ProgressEvent(1, "warning", "Deleting existing orphaned lab"))
            await self.stop()
            response = await self.create(options, env)
        _raise_unless_success(response, "Cannot create lab")

    @asynccontextmanager
    async def open_events(self) -> AsyncIterator[trio.MemoryReceiveChannel[ServerSentEvent]]:
        """The progress stream's events as they arrive; the channel ends with the stream.

        A non-2xx answer raises :class:`SpawnerError` at once. Leaving the block early closes
        the HTTP stream (its reader task is cancelled, so httpx's iterators end cleanly).
        """
        async with self.http.stream(
            "GET",
            self.url("labs", self.username, "events"),
            headers=dict(self.credentials.user),
            timeout=self.start_timeout,
        ) as response:
            if not response.is_success:
                await response.aread()
                _raise_unless_success(response, "Cannot follow lab progress")
            send, receive = trio.open_memory_channel[ServerSentEvent](math.inf)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_read_events, response, send)
                with receive:
                    yield receive
                nursery.cancel_scope.cancel()

    async def read_events(self) -> list[ServerSentEvent]:
        """The whole progress stream (for a finished operation: its replay, then the end)."""
        async with self.open_events() as events:
            return [event async for event in events]

    async def _follow_progress(self) -> None:
        """Read progress until ``complete`` (done) or ``failed`` (raises); a stream that ends
        without either is not an error (§7)."""
        previous = 0
        failure: str | None = None
        async with self.open_events() as events:
            async for event in events:
                shown = progress_of(event, previous)
                if shown is None:
                    continue
                self.progress.append(shown)
                previous = shown.progress
                if event.event == "failed":
                    failure = shown.message
                if event.event in ("complete", "failed"):
                    break
        # Raised outside the block, so that it is not wrapped in the reader's nursery group.
        if failure is not None:
            raise SpawnerError(failure)

    async def _internal_url(self) -> str:
        response = await self.http.get(self.url("labs", self.username), headers=self._hub)
        _raise_unless_success(response, "Cannot get lab status")
        url = response.json().get("internal_url")
        if not url:
            raise SpawnerError("Lab has no internal URL", response)
        return str(url)


async def _read_events(
    response: httpx.Response, send: trio.MemorySendChannel[ServerSentEvent]
) -> None:
    async with send:
        block: list[str] = []
        async for line in response.aiter_lines():
            block.append(line)
            if line.rstrip("\r\n") == "":
                for event in parse_sse(block):
                    await send.send(event)
                block = []


def _raise_unless_success(response: httpx.Response, doing: str) -> None:
    if not response.is_success:
        raise SpawnerError(f"{doing}: {response.status_code} {response.text}", response)


# -- the spawn form, as a browser sees it -------------------------------------------------


@dataclass
class FormControl:
    """One form control: ``kind`` is the input type, ``select`` or ``textarea``."""

    kind: str
    name: str
    value: str = ""
    checked: bool = False
    element_id: str | None = None
    options: list[tuple[str, str, bool]] = field(default_factory=list)
    """For a ``select``: ``(value, text, selected)`` per option."""


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.controls: list[FormControl] = []
        self.labels: dict[str, str] = {}
        self.headings: list[str] = []
        self.text: list[str] = []
        self._label_for: str | None = None
        self._label_text: list[str] = []
        self._select: FormControl | None = None
        self._option: tuple[str, bool] | None = None
        self._option_text: list[str] = []
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value if value is not None else "" for name, value in attrs}
        match tag:
            case "input":
                kind = attributes.get("type", "text").lower()
                default = "on" if kind in ("radio", "checkbox") else ""
                self.controls.append(
                    FormControl(
                        kind=kind,
                        name=attributes.get("name", ""),
                        value=attributes.get("value", default),
                        checked="checked" in attributes,
                        element_id=attributes.get("id"),
                    )
                )
            case "select":
                self._select = FormControl(kind="select", name=attributes.get("name", ""))
                self.controls.append(self._select)
            case "option":
                self._option = (attributes.get("value", ""), "selected" in attributes)
                self._option_text = []
            case "textarea":
                self.controls.append(FormControl(kind="textarea", name=attributes.get("name", "")))
            case "label":
                self._label_for = attributes.get("for")
                self._label_text = []
            case "h1" | "h2" | "h3" | "h4":
                self._heading = []

    def handle_endtag(self, tag: str) -> None:
        match tag:
            case "option" if self._option is not None and self._select is not None:
                value, selected = self._option
                self._select.options.append((value, "".join(self._option_text).strip(), selected))
                self._option = None
            case "select":
                self._select = None
            case "label" if self._label_for is not None:
                self.labels[self._label_for] = " ".join("".join(self._label_text).split())
                self._label_for = None
            case "h1" | "h2" | "h3" | "h4" if self._heading is not None:
                self.headings.append(" ".join("".join(self._heading).split()))
                self._heading = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._option is not None:
            self._option_text.append(data)
        if self._label_for is not None:
            self._label_text.append(data)
        if self._heading is not None:
            self._heading.append(data)


class Choice(NamedTuple):
    """A radio button or an option: what it submits and what the user reads."""

    value: str
    label: str
    selected: bool


class SpawnForm:
    """The controls of the spawn form fragment, and the user's choices in it."""

    def __init__(self, html: str) -> None:
        parser = _FormParser()
        parser.feed(html)
        parser.close()
        self.controls = parser.controls
        self.labels = parser.labels
        self.headings = parser.headings
        self.text = " ".join("".join(parser.text).split())

    def named(self, name: str) -> list[FormControl]:
        return [control for control in self.controls if control.name == name]

    def choices(self, name: str) -> list[Choice]:
        """The radios of group ``name`` (or the options of select ``name``), in page order."""
        found: list[Choice] = []
        for control in self.named(name):
            if control.kind == "select":
                found.extend(Choice(v, text, sel) for v, text, sel in control.options)
            elif control.kind == "radio":
                label = self.labels.get(control.element_id or "", "")
                found.append(Choice(control.value, label, control.checked))
        return found

    def choose(self, name: str, value: str) -> None:
        """Click the radio of group ``name`` with ``value`` (the others are unchecked)."""
        radios = [c for c in self.named(name) if c.kind == "radio"]
        if value not in [radio.value for radio in radios]:
            raise ValueError(f"no radio {name}={value!r} in the form")
        for radio in radios:
            radio.checked = radio.value == value

    def tick(self, name: str, checked: bool = True) -> None:
        """Tick (or untick) the checkbox ``name``."""
        [box] = [c for c in self.named(name) if c.kind == "checkbox"]
        box.checked = checked

    def select(self, name: str, value: str) -> None:
        """Pick the option ``value`` of the select ``name``."""
        [menu] = [c for c in self.named(name) if c.kind == "select"]
        if value not in [v for v, _, _ in menu.options]:
            raise ValueError(f"no option {name}={value!r} in the form")
        menu.options = [(v, text, v == value) for v, text, _ in menu.options]

    def fill(self, name: str, text: str) -> None:
        """Type ``text`` into the text field ``name`` (as its input handler fires)."""
        [text_field] = [c for c in self.named(name) if c.kind in ("text", "textarea")]
        text_field.value = text

    def submission(self) -> dict[str, list[str]]:
        """The successful controls a browser submits, every field as a list of strings."""
        fields: dict[str, list[str]] = {}
        for control in self.controls:
            if not control.name:
                continue
            value: str | None
            if control.kind in ("radio", "checkbox"):
                value = control.value if control.checked else None
            elif control.kind == "select":
                # The selected option, else the first one (a single-choice select).
                selected = [v for v, _, sel in control.options if sel] + [
                    v for v, _, _ in control.options[:1]
                ]
                value = selected[0] if selected else None
            elif control.kind in ("submit", "button", "reset", "image", "file"):
                value = None
            else:
                value = control.value
            if value is not None:
                fields.setdefault(control.name, []).append(value)
        return fields


def jupyterhub_env(username: str) -> dict[str, str]:
    """The environment JupyterHub computes for a user's lab (the part the API requires)."""
    return {
        "JUPYTERHUB_SERVICE_PREFIX": f"/nb/user/{username}/",
        "JUPYTERHUB_USER": username,
        "JUPYTERHUB_API_URL": "http://hub.nublado:8081/nb/hub/api",
    }


# -- wiring to the end-to-end harness ----------------------------------------------------


def demo_token(who: str) -> str:
    """The kubesim demo token of ``who`` (``<user>-demo-token``)."""
    return DEMO_TOKENS.get(who, f"{who}-demo-token")


@asynccontextmanager
async def open_spawner(
    running: RunningController, username: str, credentials: Credentials | None = None
) -> AsyncIterator[SpawnerClient]:
    """A spawner for ``username`` against ``running``; direct-mode demo tokens by default.

    Like JupyterHub's, its HTTP client has no connection-pool limit.
    """
    if credentials is None:
        credentials = Credentials.direct(demo_token(username), demo_token("hub"))
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(limits=limits, timeout=60.0) as http:
        yield SpawnerClient(http, f"{running.url}{running.prefix}", username, credentials)


# -- the same progress over a WebSocket ---------------------------------------------------


@asynccontextmanager
async def open_events_websocket(
    url: str, headers: Mapping[str, str]
) -> AsyncIterator[WebSocketConnection]:
    """A WebSocket to ``url`` (``http://`` or ``ws://``) sending ``headers`` at the upgrade.

    A refused upgrade raises trio-websocket's ``ConnectionRejected`` (with ``status_code``).
    The TCP stream is opened and closed here, because trio-websocket 0.12.2 leaves it open
    when the server closes first or refuses the upgrade (STACK-NOTES.md).
    """
    target = httpx.URL(url)
    host = target.host
    port = target.port or 80
    resource = target.raw_path.decode()
    extra = [(name.encode(), value.encode()) for name, value in headers.items()]
    stream = await trio.open_tcp_stream(host, port)
    try:
        async with trio.open_nursery() as nursery:
            connection = await wrap_client_stream(
                nursery, stream, f"{host}:{port}", resource, extra_headers=extra
            )
            try:
                yield connection
            finally:
                with trio.move_on_after(10) as cleanup:
                    cleanup.shield = True
                    await connection.aclose()
    except BaseExceptionGroup as group:
        # A refusal is raised by trio-websocket's reader task; hand it over unwrapped.
        refusal = _only_rejection(group)
        if refusal is None:
            raise
        raise refusal from None
    finally:
        await stream.aclose()


def _only_rejection(group: BaseExceptionGroup[BaseException]) -> ConnectionRejected | None:
    rejected, rest = group.split(ConnectionRejected)
    if rejected is None or rest is not None:
        return None
    leaf: BaseException = rejected
    while isinstance(leaf, BaseExceptionGroup):
        leaf = leaf.exceptions[0]
    return leaf if isinstance(leaf, ConnectionRejected) else None


async def receive_all_json(connection: WebSocketConnection) -> list[dict[str, Any]]:
    """Every message until the server closes the connection, decoded from JSON."""
    messages: list[dict[str, Any]] = []
    try:
        while True:
            messages.append(json.loads(await connection.get_message()))
    except ConnectionClosed:
        return messages
