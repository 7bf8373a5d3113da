"""The HTTP side of a watch: a :class:`Watcher` turned into a newline-delimited JSON stream.

Wire format (what real API servers send and clients such as ``kubernetes.watch.Watch``
parse): one ``{"type": ..., "object": ...}`` JSON document per line, in a ``200`` chunked
response. Types: ADDED, MODIFIED, DELETED, BOOKMARK (only with ``allowWatchBookmarks=true``,
every ``bookmark_interval`` seconds when the watcher has nothing queued, the object carrying
only ``kind``, ``apiVersion`` and ``metadata.resourceVersion``) and ERROR (a ``Status``; a
too-old ``resourceVersion`` produces one ERROR event with code 410 and reason ``Expired``,
then the stream ends -- inside a 200 response, exactly as a real server does).

The stream ends cleanly at ``timeoutSeconds``; a dropped watcher (fault injection, or a
consumer that fell too far behind) cuts the connection instead.

A stream given ``render`` sends ``render(type, object)`` instead of each stored object
(``kubectl get -w`` asks for Tables).

A stream given ``stats`` counts itself as an open watch connection from its creation until
:meth:`WatchStream.aclose`, which the HTTP server calls however the connection ends.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import trio

from kubesim.errors import ApiError
from kubesim.http import DropConnection
from kubesim.resources import ResourceType
from kubesim.stats import ApiStats
from kubesim.store import Store, Watcher


def event_line(type_: str, obj: dict[str, Any]) -> bytes:
    return b'{"type":"%s","object":%s}\n' % (
        type_.encode(),
        json.dumps(obj, separators=(",", ":")).encode(),
    )


class WatchStream:
    """Async iterator of encoded event lines for one HTTP watch request."""

    def __init__(
        self,
        store: Store,
        res: ResourceType,
        watcher: Watcher | None,
        *,
        error: ApiError | None = None,
        timeout: float,
        bookmarks: bool,
        bookmark_interval: float,
        stats: ApiStats | None = None,
        render: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self._store = store
        self._res = res
        self._watcher = watcher
        self._error = error
        self._deadline = trio.current_time() + timeout
        self._bookmarks = bookmarks
        self._interval = bookmark_interval
        self._next_bookmark = trio.current_time() + bookmark_interval
        self._done = False
        self._stats = stats
        #: Turns each event's object into what the client asked for (a Table, for kubectl).
        self._render = render
        if stats is not None:
            stats.watch_opened(res.plural)

    def __aiter__(self) -> WatchStream:
        return self

    def _bookmark(self) -> bytes:
        self._next_bookmark = trio.current_time() + self._interval
        return event_line(
            "BOOKMARK",
            {
                "kind": self._res.kind,
                "apiVersion": self._res.api_version,
                "metadata": {"resourceVersion": self._store.resource_version},
            },
        )

    async def __anext__(self) -> bytes:
        if self._done:
            raise StopAsyncIteration
        if self._error is not None:
            self._done = True
            return event_line("ERROR", self._error.status_body())
        watcher = self._watcher
        assert watcher is not None
        while True:
            now = trio.current_time()
            if now >= self._deadline:
                self._done = True
                raise StopAsyncIteration
            wait = self._deadline - now
            if self._bookmarks:
                if now >= self._next_bookmark and watcher.pending == 0:
                    return self._bookmark()
                wait = min(wait, max(self._next_bookmark - now, 0.0))
            try:
                event = await watcher.next(wait)
            except StopAsyncIteration:
                self._done = True
                if watcher.dropped:
                    raise DropConnection from None
                raise
            if event is not None:
                if self._render is not None:
                    return event_line(event.type, self._render(event.type, event.object))
                return event_line(event.type, event.object)

    async def aclose(self) -> None:
        self._done = True
        if self._watcher is not None:
            self._watcher.close()
        stats, self._stats = self._stats, None
        if stats is not None:  # once, however often aclose is called
            stats.watch_closed(self._res.plural)
