"""Request counters, open-watch counts and process CPU of the simulated API server.

Why: comparing how much load two controller designs put on the API server (one watch per
resource fanned out to the actors, against one watch per lab) needs the server's own view:
how many requests of which kind, how many watch connections stay open, and what it cost the
server in CPU. A real cluster answers that with ``apiserver_request_total`` and the audit
log; kubesim keeps the equivalent here, so benchmarks and tests need no wrapper around it.

**Classification.** Every request that reaches the Kubernetes API (not the ``/_kubesim``
admin API, not the fakes mounted on the site) is named the way a real API server's
request-info step names it, from the method, the path and ``watch`` alone, before routing
and whether or not kubesim serves that path:

* ``GET``/``HEAD`` on a named object: ``get``; on a collection: ``list``, or ``watch`` when
  the query says ``watch=1|true`` (or the path uses the deprecated ``/watch/`` prefix);
  ``POST``: ``create``; ``PUT``: ``update``; ``PATCH``: ``patch``; ``DELETE`` on a named
  object: ``delete``, on a collection: ``deletecollection``.
* The resource is the plural; a subresource is appended after a slash (``pods/status``,
  ``pods/log``, ``pods/eviction``, ``namespaces/finalize``), so a ``POST`` to
  ``.../pods/x/eviction`` is ``create pods/eviction`` even though kubesim answers it 404,
  as a real server would still count it.
* Requests outside ``/api/{version}/...`` and ``/apis/{group}/{version}/...`` resources
  (discovery, ``/version``, health) are non-resource requests: the verb is the lowercased
  HTTP method and the "resource" is the path, which always starts with ``/``.

**Client identity.** Each count is also keyed by the ``User-Agent`` header and by the name of
the bearer token, so that requests can be attributed to one client among several. kubesim
authenticates nobody, so a token has a name only if the site was told one (``SiteConfig
.tokens``, the equivalent of a real server's static token file: token → user name);
otherwise its name is a fingerprint, ``token-sha256:`` and the first 12 hex digits of the
token's SHA-256, so the statistics never expose a token itself. Other schemes are named by
the scheme (``basic``).

**Watches.** A watch connection counts as open from the moment its response is built until
the connection is finished, whichever way it ends (timeout, client disconnect, the
drop-watches fault, an expired resourceVersion). ``peak_total`` is the largest number open at
once since the last reset.

**CPU.** ``time.process_time()``: user + system CPU of the whole process. It measures the API
server alone only when kubesim runs standalone (``python -m kubesim``); in-process, it
includes the tests or benchmark sharing the process.

The cost per request is one classification (a few list and dict look-ups) and one dict
increment; the token name is cached per ``Authorization`` value. The same classification
feeds the request log (``ApiStats.log``, :mod:`kubesim.requestlog`), which says *when* each
request came; :meth:`ApiStats.reset` empties it with the counters.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from kubesim.errors import method_not_allowed, path_not_found
from kubesim.http import Request, Response
from kubesim.requestlog import RequestLog

__all__ = ["STATS_PREFIX", "ApiStats", "classify", "describe", "stats_handler"]

STATS_PREFIX = "/_kubesim/stats"

#: Values of ``watch`` that make a list a watch: the ones kubesim's API handler honours
#: (the official Python client sends ``True``).
_TRUE = ("1", "true", "True")
#: Subresources of a namespace: ``namespaces/{name}/{these}`` is not a namespaced collection.
_NAMESPACE_SUBRESOURCES = ("status", "finalize")
_WRITE_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}
#: Distinct ``Authorization`` values whose names are cached; the cache restarts beyond that
#: (a client rotating tokens forever must not grow kubesim's memory).
_MAX_CACHED_CREDENTIALS = 4096


def classify(method: str, parts: list[str], query: dict[str, str], path: str) -> tuple[str, str]:
    """``(verb, resource)`` of one request, as a real API server names it for its metrics.

    ``parts`` are the path's decoded segments (``Request.segments``) and ``path`` the decoded
    path, used as the "resource" of non-resource requests.
    """
    verb, resource, _, _ = describe(method, parts, query, path)
    return verb, resource


def describe(
    method: str, parts: list[str], query: dict[str, str], path: str
) -> tuple[str, str, str, str]:
    """``(verb, resource, namespace, name)`` of one request (see :func:`classify`).

    As a real server's request info: the namespace of ``.../namespaces/{ns}/...``, and for
    a namespace itself its own name; ``""`` where the path names none.
    """
    head = parts[0]
    if head == "api":
        rest = parts[2:]
    elif head == "apis":
        rest = parts[3:]
    else:
        rest = []
    watching = False
    if rest and rest[0] == "watch":
        rest = rest[1:]
        watching = True
    if not rest:
        return method.lower(), path, "", ""
    namespace = ""
    if len(rest) >= 2 and rest[0] == "namespaces":
        namespace = rest[1]
        if len(rest) >= 3 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0] if len(rest) < 3 else f"{rest[0]}/{rest[2]}"
    named = len(rest) >= 2
    name = rest[1] if named else ""
    if method == "GET" or method == "HEAD":
        if watching or (not named and query.get("watch") in _TRUE):
            return "watch", resource, namespace, name
        return ("get" if named else "list"), resource, namespace, name
    if method == "DELETE":
        return ("delete" if named else "deletecollection"), resource, namespace, name
    return _WRITE_VERBS.get(method) or method.lower(), resource, namespace, name


class ApiStats:
    """The counters of one site; see the module docstring for what is counted and why.

    ``token_names`` maps a bearer token to the user name reported for it.
    """

    def __init__(
        self, token_names: dict[str, str] | None = None, *, log_size: int = 100_000
    ) -> None:
        self.token_names = dict(token_names or {})
        #: Each request with its time and client (:mod:`kubesim.requestlog`).
        self.log = RequestLog(log_size)
        self._requests: dict[tuple[str, str, str, str], int] = {}
        self._credential_names: dict[str, str] = {}
        self._open: dict[str, int] = {}
        self.open_total = 0
        self.peak_total = 0
        self._cpu_at_reset = time.process_time()

    # ------------------------------------------------------------- recording
    def record(self, request: Request, parts: list[str], path: str) -> list[Any]:
        """Count and log one Kubernetes API request (``parts``/``path`` as the API handler
        has them); returns its log entry, whose status the caller fills in."""
        verb, resource, namespace, name = describe(request.method, parts, request.query, path)
        headers = request.headers
        credential = headers.get("authorization")
        user = self._credential_name(credential) if credential else ""
        client = headers.get("user-agent", "")
        key = (verb, resource, client, user)
        requests = self._requests
        requests[key] = requests.get(key, 0) + 1
        return self.log.record(client, verb, resource, namespace, name)

    def record_partitioned(self, request: Request, parts: list[str], path: str) -> list[Any]:
        """Log a request the partition fault drops: not counted, since it never reaches the
        API server, but kept so a test can see what a cut-off client still tried."""
        verb, resource, namespace, name = describe(request.method, parts, request.query, path)
        client = request.headers.get("user-agent", "")
        return self.log.record(client, verb, resource, namespace, name, partitioned=True)

    def _credential_name(self, credential: str) -> str:
        name = self._credential_names.get(credential)
        if name is None:
            scheme, _, token = credential.strip().partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer":
                name = scheme.lower()
            elif token in self.token_names:
                name = self.token_names[token]
            else:
                name = "token-sha256:" + hashlib.sha256(token.encode()).hexdigest()[:12]
            if len(self._credential_names) >= _MAX_CACHED_CREDENTIALS:
                self._credential_names.clear()
            self._credential_names[credential] = name
        return name

    def name_token(self, token: str, name: str) -> None:
        """Report requests with ``Authorization: Bearer <token>`` under the user ``name``."""
        self.token_names[token] = name
        self._credential_names.clear()

    def watch_opened(self, resource: str) -> None:
        self._open[resource] = self._open.get(resource, 0) + 1
        self.open_total += 1
        if self.open_total > self.peak_total:
            self.peak_total = self.open_total

    def watch_closed(self, resource: str) -> None:
        left = self._open[resource] - 1
        if left:
            self._open[resource] = left
        else:
            del self._open[resource]
        self.open_total -= 1

    # --------------------------------------------------------------- reading
    def reset(self) -> None:
        """Zero the request counters, empty the request log, restart the peak from what is
        open now and the CPU figure since reset from now. Open watches stay counted: they
        are still open."""
        self._requests = {}
        self.peak_total = self.open_total
        self._cpu_at_reset = time.process_time()
        self.log.clear()

    def count(
        self,
        verb: str | None = None,
        resource: str | None = None,
        *,
        client: str | None = None,
        user: str | None = None,
    ) -> int:
        """Requests counted since the last reset matching every argument given."""
        return sum(
            n
            for (v, r, c, u), n in self._requests.items()
            if (verb is None or v == verb)
            and (resource is None or r == resource)
            and (client is None or c == client)
            and (user is None or u == user)
        )

    def open_watches(self, resource: str | None = None) -> int:
        """Watch connections open now (on ``resource``, or on every resource)."""
        return self.open_total if resource is None else self._open.get(resource, 0)

    def snapshot(self) -> dict[str, Any]:
        """The JSON document served at ``GET /_kubesim/stats`` (see docs/kubesim.md)."""
        cpu = time.process_time()
        requests = [
            {"verb": v, "resource": r, "client": c, "user": u, "count": n}
            for (v, r, c, u), n in sorted(self._requests.items())
        ]
        return {
            "requests": requests,
            "requests_total": sum(self._requests.values()),
            "watches": {
                "open": dict(sorted(self._open.items())),
                "open_total": self.open_total,
                "peak_total": self.peak_total,
            },
            "cpu_seconds": cpu,
            "cpu_seconds_since_reset": cpu - self._cpu_at_reset,
        }


async def stats_handler(stats: ApiStats, request: Request) -> Response:
    """Serve ``GET /_kubesim/stats`` and ``POST /_kubesim/stats/reset``.

    The reset answers with the statistics as they were just before it, so a benchmark can
    read one phase and start the next in one request, without losing the requests that
    would fall between a read and a separate reset.
    """
    sub = request.path[len(STATS_PREFIX) :].strip("/")
    if sub == "":
        if request.method == "GET":
            return Response.json(200, stats.snapshot())
        raise method_not_allowed(request.method, request.path)
    if sub == "reset":
        if request.method == "POST":
            before = stats.snapshot()
            stats.reset()
            return Response.json(200, before)
        raise method_not_allowed(request.method, request.path)
    raise path_not_found(request.path)
