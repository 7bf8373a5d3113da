"""Resumable watches: an async iterator of typed events that never ends silently.

A :class:`Watch` is an async context manager and an async iterator::

    async with client.pods.watch("ns", label_selector={"app": "x"}) as events:
        async for item in events:
            match item:
                case WatchSync(objects=pods): ...       # full state: (re)build yours from it
                case WatchEvent(type="DELETED", object=pod): ...

Invariants:

* The stream always knows a resourceVersion. Without one from the caller, the watch begins
  with a list and yields it as a :class:`WatchSync` (``relisted=False``); the watch then
  continues from the list's resourceVersion, so nothing between the list and the watch is lost.
* Every restart resumes from the last resourceVersion seen (object events *and* bookmarks), so
  no event is delivered twice (quirk Q6) and none is lost.
* ``410 Gone`` — as an HTTP status or as an ``ERROR`` event inside a 200 stream — means the
  resourceVersion is too old: the watch relists and yields a :class:`WatchSync` with
  ``relisted=True``. Consumers must treat its ``objects`` as the complete current state
  (objects missing from it were deleted while the watch could not see them).
* Server-side timeouts and dropped connections restart the stream (with capped exponential
  backoff after failures); a stream silent for longer than ``idle_timeout`` is restarted too.
* Bookmarks (``allowWatchBookmarks=true``) only advance the resourceVersion.
* Other API errors (403, 404, ...) are raised as :class:`KubernetesError`.

A watch made with ``streaming_list=True`` (what informers use) lists *by watching*: instead
of a list request, one watch request with ``sendInitialEvents=true`` makes the API server
send the current objects as ``ADDED`` events, then a bookmark annotated
``k8s.io/initial-events-end`` that carries the list's resourceVersion, then the changes as
usual (Kubernetes' "streaming lists", the WatchList feature). The consumer sees
:class:`WatchListStart`, each current object as a :class:`WatchEvent` with ``initial=True``,
then :class:`WatchListEnd`: only then is the state complete. A stream that breaks before the
end starts over with a new :class:`WatchListStart` (the consumer drops what it collected).
Objects arrive one at a time, so a consumer keeping a digest never holds the whole list, and a
list costs one request instead of one per page plus one for the watch. An API server that
refuses the parameters (the feature is off: ``400``/``422``) or ignores them (it sends no end
bookmark but a plain one, or changes) is remembered as unable, for the whole client, and the
watch lists as above instead.

The iterator is a plain class rather than an async generator so that leaving the ``async
with`` block closes the connection deterministically, even when the consumer stops early.
Each open watch holds one connection and the bytes of at most one partial line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Literal, TypeVar

import structlog
import trio

from actors.runtime.snapshot import describe_error

from .backoff import Backoff
from .errors import KubernetesError, ObjectRef
from .http11 import HttpTransportError, LineStream
from .resources import ResourceType
from .transport import ApiTransport, timeout_seconds

__all__ = [
    "DEFAULT_WATCH_RECONNECT_TIMEOUT",
    "ObjectWatch",
    "Watch",
    "WatchEvent",
    "WatchItem",
    "WatchListEnd",
    "WatchListStart",
    "WatchSync",
]

log = structlog.get_logger(__name__)

T = TypeVar("T")

DEFAULT_WATCH_RECONNECT_TIMEOUT = 180.0
"""``watchReconnectTimeout``: lifetime of one watch request and the default idle limit."""

_HASTY_STREAM = 1.0
"""A stream that ends without data within this many seconds counts as a failure."""

EventType = Literal["ADDED", "MODIFIED", "DELETED"]

Lister = Callable[[], Awaitable[tuple[list[dict[str, Any]], str]]]
"""Lists the watched collection with the watch's selectors: (raw items, list resourceVersion)."""


INITIAL_EVENTS_END = "k8s.io/initial-events-end"
"""The annotation on the bookmark that ends a streaming list's initial events."""


@dataclass(frozen=True, slots=True)
class WatchEvent(Generic[T]):
    """One change to one object, in server order.

    ``initial``: one of the current objects of a streaming list (between
    :class:`WatchListStart` and :class:`WatchListEnd`), not a change.
    """

    type: EventType
    object: T
    resource_version: str
    initial: bool = False


@dataclass(frozen=True, slots=True)
class WatchListStart:
    """A streaming list begins: forget initial objects received before this.

    ``relisted`` as for :class:`WatchSync`: the previous resourceVersion had expired.
    """

    relisted: bool


@dataclass(frozen=True, slots=True)
class WatchListEnd:
    """The streaming list is complete: the initial objects since :class:`WatchListStart`
    are the whole current state (objects not among them are gone)."""

    resource_version: str


@dataclass(frozen=True, slots=True)
class WatchSync(Generic[T]):
    """The complete current state of the watched collection.

    Sent first when the watch was started without a resourceVersion (``relisted=False``) and
    again whenever the server expired the watch's resourceVersion (``relisted=True``), in which
    case events may have been missed and the consumer must resynchronise from ``objects``.
    """

    objects: list[T]
    resource_version: str
    relisted: bool


WatchItem = WatchEvent[T] | WatchSync[T] | WatchListStart | WatchListEnd


class _Restart(Exception):
    """Internal: the current stream is finished; ``failed`` selects a backoff delay."""

    def __init__(self, why: str, *, failed: bool) -> None:
        super().__init__(why)
        self.why = why
        self.failed = failed


class Watch(Generic[T]):
    """A resumable watch on one collection (see the module docstring for the guarantees)."""

    def __init__(
        self,
        transport: ApiTransport,
        resource: ResourceType[T],
        namespace: str | None,
        lister: Lister,
        *,
        params: dict[str, str],
        resource_version: str | None = None,
        reconnect_timeout: float = DEFAULT_WATCH_RECONNECT_TIMEOUT,
        idle_timeout: float | None = None,
        backoff: Backoff | None = None,
        streaming_list: bool = False,
    ) -> None:
        self._transport = transport
        self._streaming_list = streaming_list
        self._initial = False
        """Receiving a streaming list's initial events (the resourceVersion is not known yet)."""
        self._resource = resource
        self._path = resource.path(namespace)
        self._ref = ObjectRef(resource.kind, namespace)
        self._lister = lister
        self._params = params
        self._rv = resource_version
        self._relisting = False
        self._reconnect_timeout = reconnect_timeout
        self._idle_timeout = idle_timeout if idle_timeout is not None else reconnect_timeout
        self._backoff = backoff or Backoff(initial=0.2, maximum=10.0)
        self._delay = 0.0
        self._stream: LineStream | None = None
        self._got_data = False
        self._opened_at = 0.0
        self.restarts = 0
        """Number of streams opened after the first one (for tests and metrics)."""
        self.last_progress = -math.inf
        """When the server last showed the watch current (an event or a bookmark after the
        list): everything it had committed by then has been delivered."""

    @property
    def connected(self) -> bool:
        """Whether a stream is open past its list: changes arrive as the server makes them."""
        return self._stream is not None and self._rv is not None and not self._initial

    @property
    def resource_version(self) -> str | None:
        """The resourceVersion the next stream would resume from."""
        return self._rv

    async def __aenter__(self) -> Watch[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> Watch[T]:
        return self

    async def __anext__(self) -> WatchItem[T]:
        while True:
            streaming = self._streaming_list and self._transport.streaming_lists
            if self._rv is None and not streaming:
                return await self._sync()
            if self._stream is None:
                await self._start_stream()
                if self._rv is None and self._stream is not None:
                    self._initial = True
                    relisted, self._relisting = self._relisting, False
                    return WatchListStart(relisted)
                continue
            try:
                line = await self._next_line()
                item = self._handle_line(line)
            except _Restart as restart:
                await self._close_stream()
                self._schedule_restart(restart)
                continue
            if item is not None:
                return item

    async def aclose(self) -> None:
        """Close the current stream, if any. The watch can not be iterated afterwards."""
        await self._close_stream()

    async def _sync(self) -> WatchSync[T]:
        while True:
            if self._delay > 0:
                await trio.sleep(self._delay)
            try:
                items, rv = await self._lister()
            except KubernetesError as error:
                if not error.transient:
                    raise
                self._schedule_restart(_Restart(f"list failed: {error.reason}", failed=True))
                continue
            break
        self._delay = 0.0
        relisted, self._relisting = self._relisting, False
        self._rv = rv
        self.last_progress = trio.current_time()
        if relisted:
            log.info("Watch relisted after its resourceVersion expired", watch=str(self._ref))
        return WatchSync([self._resource.decode(item) for item in items], rv, relisted)

    async def _start_stream(self) -> None:
        if self._delay > 0:
            await trio.sleep(self._delay)
        params = dict(self._params)
        params.update(
            watch="true",
            allowWatchBookmarks="true",
            timeoutSeconds=str(timeout_seconds(self._reconnect_timeout)),
        )
        if self._rv is None:
            # A streaming list: a consistent read (no resourceVersion) sent as events.
            params.update(sendInitialEvents="true", resourceVersionMatch="NotOlderThan")
        else:
            params["resourceVersion"] = self._rv
        stream = None
        try:
            # A server that accepts the request but never answers is as silent as a quiet
            # stream: the idle limit covers the wait for the response head too.
            with trio.move_on_after(self._idle_timeout):
                stream = await self._transport.open_watch(self._path, self._ref, params)
        except KubernetesError as error:
            if self._rv is None and error.status in (400, 422):
                self._no_streaming_lists(f"{error.status} {error.reason}")
            elif error.gone:
                self._expire()
            elif error.transient:
                self._schedule_restart(_Restart(f"{error.status} {error.reason}", failed=True))
            else:
                raise
            return
        if stream is None:
            self._schedule_restart(_Restart("no response head", failed=True))
            return
        self._stream = stream
        self._got_data = False
        self._opened_at = trio.current_time()

    async def _next_line(self) -> str:
        assert self._stream is not None
        idle = self._idle_timeout
        line: str | None = None
        with trio.move_on_after(idle) as waited:
            try:
                line = await self._stream.next_line()
            except HttpTransportError as exc:
                raise _Restart(f"connection lost: {exc}", failed=True) from None
        if waited.cancelled_caught:
            raise _Restart(f"no data for {idle:g} s", failed=False)
        if line is None:
            # A server-side timeout ends a quiet stream normally; only a stream that ends at
            # once without any data looks like a failure worth backing off from.
            hasty = trio.current_time() - self._opened_at < _HASTY_STREAM
            raise _Restart("stream ended", failed=hasty and not self._got_data)
        return line

    def _handle_line(self, line: str) -> WatchItem[T] | None:
        if not line.strip():
            return None
        self._got_data = True
        try:
            data = json.loads(line)
            kind = data["type"]
            obj = data["object"]
            if not isinstance(obj, dict):
                raise TypeError("object is not a dict")
        except (ValueError, KeyError, TypeError) as exc:
            log.warning(
                "Unparseable watch event; restarting",
                watch=str(self._ref),
                error=describe_error(exc),
            )
            raise _Restart("unparseable event", failed=True) from None
        if kind == "ERROR":
            error = KubernetesError.from_status(None, obj, self._ref)
            if error.gone:
                self._expire()
                raise _Restart("resourceVersion expired", failed=False)
            raise error
        rv = _resource_version(obj)
        if self._initial:
            return self._handle_initial(kind, obj, rv)
        self.last_progress = trio.current_time()
        if kind == "BOOKMARK":
            if rv:
                self._rv = rv
            return None
        if kind not in ("ADDED", "MODIFIED", "DELETED"):
            log.warning("Ignoring unknown watch event type", watch=str(self._ref), type=kind)
            return None
        self._backoff.reset()
        self._delay = 0.0
        if rv:
            self._rv = rv
        return WatchEvent(kind, self._resource.decode(obj), rv)

    def _handle_initial(self, kind: str, obj: dict[str, Any], rv: str) -> WatchItem[T] | None:
        """One event of a streaming list's initial phase."""
        if kind == "ADDED":
            return WatchEvent("ADDED", self._resource.decode(obj), rv, initial=True)
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if kind == "BOOKMARK" and annotations.get(INITIAL_EVENTS_END) == "true" and rv:
            self._initial = False
            self._rv = rv
            self.last_progress = trio.current_time()
            self._backoff.reset()
            self._delay = 0.0
            return WatchListEnd(rv)
        # A plain bookmark or a change before the end marker: the server ignored
        # ``sendInitialEvents`` and this is an ordinary watch from "now".
        self._no_streaming_lists(f"{kind} event before the end of the initial events")
        raise _Restart("streaming lists unsupported", failed=False)

    def _no_streaming_lists(self, why: str) -> None:
        """The API server cannot list by watch: list instead, from now on, client-wide."""
        if self._transport.streaming_lists:
            log.warning(
                "The API server does not support streaming lists; listing instead",
                watch=str(self._ref),
                why=why,
            )
        self._transport.streaming_lists = False
        self._initial = False
        self._delay = 0.0

    def _expire(self) -> None:
        if self._transport.observer is not None:
            self._transport.observer.watch_relisted(self._ref.kind)
        self._rv = None
        self._relisting = True
        self._delay = 0.0

    def _schedule_restart(self, restart: _Restart) -> None:
        self.restarts += 1
        if self._transport.observer is not None:
            self._transport.observer.watch_restarted(self._ref.kind, failed=restart.failed)
        self._delay = self._backoff.next_delay() if restart.failed else 0.0
        log.info(
            "Restarting watch",
            watch=str(self._ref),
            why=restart.why,
            delay=round(self._delay, 3),
        )

    async def _close_stream(self) -> None:
        self._initial = False
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.aclose()


class ObjectWatch(Generic[T]):
    """The states of one named object: what a wait for that object needs of a watch.

    Built on a :class:`Watch` that selects the object by name (``metadata.name``), it yields
    the object after each change and ``None`` whenever it is absent (an empty list or relist,
    a ``DELETED`` event), so that every wait on one object is the same short loop::

        async with kube.pods.watch_one("ns", "name", resource_version=rv) as states:
            async for pod in states:
                if pod is None: ...

    Short-lived waits use it (a deletion, a creation, a pod leaving Pending); whatever follows
    objects for as long as they live does so through a shared informer
    (:mod:`actors.kube.informer`), not through one of these per object. Leaving the ``async
    with`` block closes the connection, as for :class:`Watch`.
    """

    def __init__(self, watch: Watch[T]) -> None:
        self._watch = watch

    async def __aenter__(self) -> ObjectWatch[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._watch.aclose()

    def __aiter__(self) -> ObjectWatch[T]:
        return self

    async def __anext__(self) -> T | None:
        while True:
            item = await anext(self._watch)
            if isinstance(item, WatchSync):
                return item.objects[0] if item.objects else None
            if isinstance(item, WatchEvent):  # never a streaming list: that is for informers
                return None if item.type == "DELETED" else item.object


def _resource_version(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        rv = metadata.get("resourceVersion")
        if isinstance(rv, str):
            return rv
    return ""
