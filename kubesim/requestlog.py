"""A bounded log of the Kubernetes API requests kubesim received, by client.

Why: a test of leader election must show that a replica which lost its lease (killed, or
cut off by the partition fault) wrote nothing after a given moment. The request counters
(:mod:`kubesim.stats`) say how many requests of each kind a client made, not when; this log
keeps each request with its time, so a test can ask "which writes did client X send after
T?". It plays the part of a real cluster's audit log.

An entry is made when a request is *received*, before it is routed or answered, so a write
the server refused (409, 422, an injected fault) is in the log with its status. The status
is filled in when the answer is known; it stays ``None`` when no answer was sent: a request
the partition fault dropped (``partitioned`` is then true; it never reached the API server)
or one still being served (a request held by the latency fault). A watch's status is the
one its stream started with.

The log is a ring buffer of ``size`` entries (``request_log_size`` in the site
configuration, 100,000 by default; 0 turns it off): the oldest entries go first, and
:meth:`RequestLog.query` says whether what it returns is complete for the period asked
about. An entry is a small list (two floats and references to strings the request already
carries, the client string shared between entries): about 300 bytes, so 30 MB at the
default size, and about 0.3 µs per request.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Collection
from typing import Any

from kubesim.errors import bad_request, method_not_allowed, path_not_found
from kubesim.http import Request, Response

__all__ = ["REQUESTS_PREFIX", "RequestLog", "requests_handler"]

REQUESTS_PREFIX = "/_kubesim/requests"

#: Slots of an entry (a list, the cheapest mutable record to build per request).
MONOTONIC, WALL, CLIENT, VERB, RESOURCE, NAMESPACE, NAME, STATUS, PARTITIONED = range(9)
#: Distinct client strings shared between entries; the table restarts beyond that.
_MAX_CLIENTS = 4096


class RequestLog:
    """The last ``size`` requests; see the module docstring."""

    def __init__(self, size: int = 100_000) -> None:
        if size < 0:
            raise ValueError("request_log_size must be 0 or more")
        self.size = size
        self._entries: deque[list[Any]] = deque(maxlen=size or 1)
        self._clients: dict[str, str] = {}
        self.recorded = 0
        #: Wall and monotonic times of the newest entry evicted so far.
        self._last_evicted = (float("-inf"), float("-inf"))

    def record(
        self,
        client: str,
        verb: str,
        resource: str,
        namespace: str,
        name: str,
        *,
        partitioned: bool = False,
    ) -> list[Any]:
        """Append one request; the returned entry takes its status later (``STATUS``)."""
        shared = self._clients.get(client)
        if shared is None:
            if len(self._clients) >= _MAX_CLIENTS:
                self._clients.clear()
            self._clients[client] = shared = client
        entry = [
            time.monotonic(),
            time.time(),
            shared,
            verb,
            resource,
            namespace,
            name,
            None,
            partitioned,
        ]
        if self.size:
            entries = self._entries
            if len(entries) == self.size:
                gone = entries[0]  # the append below evicts it
                self._last_evicted = (gone[WALL], gone[MONOTONIC])
            entries.append(entry)
            self.recorded += 1
        return entry

    def clear(self) -> None:
        self._entries.clear()
        self.recorded = 0
        self._last_evicted = (float("-inf"), float("-inf"))

    @property
    def evicted(self) -> int:
        """Entries dropped to make room since the last :meth:`clear`."""
        return self.recorded - len(self._entries)

    def query(
        self,
        *,
        client: str | None = None,
        since: float | None = None,
        since_monotonic: float | None = None,
        verbs: Collection[str] | None = None,
        resource: str | None = None,
        namespace: str | None = None,
    ) -> dict[str, Any]:
        """The entries matching every filter given, oldest first, as JSON-ready dicts.

        ``client`` is a substring of the User-Agent (as the partition fault matches
        clients); ``since`` a Unix time (``time.time()``) and ``since_monotonic`` a
        ``time.monotonic()`` value, both inclusive (on Linux the monotonic clock is shared
        by the processes of one machine, so a test in another process may use it too).
        ``complete`` is false when entries in the period asked about (everything, without
        ``since``) may have been evicted.
        """
        wanted_verbs = set(verbs) if verbs is not None else None
        items = []
        for entry in self._entries:
            if since is not None and entry[WALL] < since:
                continue
            if since_monotonic is not None and entry[MONOTONIC] < since_monotonic:
                continue
            if client is not None and client not in entry[CLIENT]:
                continue
            if wanted_verbs is not None and entry[VERB] not in wanted_verbs:
                continue
            if resource is not None and entry[RESOURCE] != resource:
                continue
            if namespace is not None and entry[NAMESPACE] != namespace:
                continue
            items.append(_render(entry))
        return {
            "requests": items,
            "complete": self._complete(since, since_monotonic),
            "capacity": self.size,
            "recorded": self.recorded,
            "evicted": self.evicted,
        }

    def _complete(self, since: float | None, since_monotonic: float | None) -> bool:
        if not self.size:
            return False
        if not self.evicted:
            return True
        # Complete when everything evicted is older than the period asked about.
        wall, monotonic = self._last_evicted
        if since is not None and wall < since:
            return True
        return since_monotonic is not None and monotonic < since_monotonic


def _render(entry: list[Any]) -> dict[str, Any]:
    return {
        "monotonic": entry[MONOTONIC],
        "time": entry[WALL],
        "client": entry[CLIENT],
        "verb": entry[VERB],
        "resource": entry[RESOURCE],
        "namespace": entry[NAMESPACE],
        "name": entry[NAME],
        "status": entry[STATUS],
        "partitioned": entry[PARTITIONED],
    }


_QUERY_KEYS = frozenset({"client", "since", "sinceMonotonic", "verbs", "resource", "namespace"})


def _float_param(query: dict[str, str], key: str) -> float | None:
    value = query.get(key)
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except ValueError:
        raise bad_request(f"{key} must be a number of seconds, not {value[:40]!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise bad_request(f"{key} must be a finite number of seconds")
    return number


async def requests_handler(log: RequestLog, request: Request) -> Response:
    """Serve ``GET /_kubesim/requests`` (filters in the query, see :meth:`RequestLog.query`).

    ``verbs`` is a comma-separated list (``create,update,patch,delete``). The log is emptied
    by the statistics reset (``POST /_kubesim/stats/reset``), not here.
    """
    if request.path.rstrip("/") != REQUESTS_PREFIX:
        raise path_not_found(request.path)
    if request.method != "GET":
        raise method_not_allowed(request.method, request.path)
    query = request.query
    unknown = sorted(set(query) - _QUERY_KEYS)
    if unknown:
        raise bad_request(f"unknown query parameters {unknown[:5]}; known: {sorted(_QUERY_KEYS)}")
    verbs = query.get("verbs")
    return Response.json(
        200,
        log.query(
            client=query.get("client") or None,
            since=_float_param(query, "since"),
            since_monotonic=_float_param(query, "sinceMonotonic"),
            verbs=[verb.strip() for verb in verbs.split(",") if verb.strip()] if verbs else None,
            resource=query.get("resource") or None,
            namespace=query.get("namespace"),
        ),
    )
