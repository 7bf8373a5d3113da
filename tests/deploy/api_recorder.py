"""Which Kubernetes API requests a client made, as RBAC would authorize them.

An RBAC rule grants verbs on (API group, resource) either in one namespace (a Role) or in
every namespace and at cluster scope (a ClusterRole bound cluster-wide). So each request the
controller sends to kubesim is reduced to exactly those four things: the verb (named the way
the API server names it, :func:`kubesim.stats.classify`), the group, the resource (with its
subresource, if any) and the namespace it addresses (``None`` for a cluster-scoped object or
a request across all namespaces).

The recorder wraps the site's Kubernetes API handler: it sees every request the API sees,
after kubesim's admin API and mounted fakes (Gafaelfawr, the registries) have taken theirs,
and changes nothing about the answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from kubesim.http import Request, Response, StreamingResponse
from kubesim.site import Site
from kubesim.stats import classify


class ApiUse(NamedTuple):
    """One kind of request: what an RBAC rule must allow for it."""

    verb: str
    group: str
    resource: str
    namespace: str | None

    def __str__(self) -> str:
        group = self.group or "core"
        where = f"namespace {self.namespace}" if self.namespace else "cluster scope"
        return f"{self.verb} {group}/{self.resource} ({where})"


def api_use(request: Request) -> ApiUse | None:
    """The RBAC view of ``request``; ``None`` for discovery and other non-resource paths."""
    path = request.path.rstrip("/") or "/"
    parts = request.segments
    verb, resource = classify(request.method, parts, request.query, path)
    if resource.startswith("/"):
        return None
    if parts[0] == "api":
        group, rest = "", parts[2:]
    else:
        group, rest = parts[1], parts[3:]
    if rest and rest[0] == "watch":
        rest = rest[1:]
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
        namespace = rest[1]
    return ApiUse(verb, group, resource, namespace)


@dataclass
class ApiRecorder:
    """Every distinct :class:`ApiUse` seen since :func:`record_api` installed it."""

    uses: set[ApiUse] = field(default_factory=set)


class _RecordingApi:
    def __init__(self, api: object, recorder: ApiRecorder) -> None:
        self._api = api
        self._recorder = recorder

    async def handle(self, request: Request) -> Response | StreamingResponse:
        use = api_use(request)
        if use is not None:
            self._recorder.uses.add(use)
        return await self._api.handle(request)  # type: ignore[attr-defined, no-any-return]


def record_api(site: Site) -> ApiRecorder:
    """Start recording the Kubernetes API requests ``site`` receives from now on."""
    recorder = ApiRecorder()
    site.api = _RecordingApi(site.api, recorder)  # type: ignore[assignment]
    return recorder
