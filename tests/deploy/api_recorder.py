"""Which Kubernetes API requests a client made, as RBAC would authorize them.

An RBAC rule grants verbs on (API group, resource) either in one namespace (a Role) or in
every namespace and at cluster scope (a ClusterRole bound cluster-wide), optionally only for
objects of given names (``resourceNames``). So each request the controller sends to kubesim
is reduced to exactly those five things: the verb (named the way the API server names it,
:func:`kubesim.stats.classify`), the group, the resource (with its subresource, if any), the
namespace it addresses (``None`` for a cluster-scoped object or a request across all
namespaces) and the name the authorizer sees (``None`` when it sees none).

The name is the one a real API server hands its authorizer: the object's name in the path,
or, for a list or a watch of a collection, the name an exact ``metadata.name`` field
selector asks for (that is what lets a ``resourceNames`` rule allow a watch of one object).
A create has no name at authorization time, whatever its body says.

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
    name: str | None = None

    def __str__(self) -> str:
        group = self.group or "core"
        where = f"namespace {self.namespace}" if self.namespace else "cluster scope"
        named = f" {self.name}" if self.name else ""
        return f"{self.verb} {group}/{self.resource}{named} ({where})"


def selected_name(field_selector: str | None) -> str | None:
    """The name an exact ``metadata.name`` term of ``field_selector`` requires, if any.

    The API server's request parser does the same for a list or watch (and drops a name
    that could not be a path segment), so a ``resourceNames`` rule can authorize it.
    """
    for term in (field_selector or "").split(","):
        key, found, value = term.partition("=")
        if not found or key.endswith("!"):
            continue  # no operator, or "!="
        value = value.removeprefix("=")  # "==" means "="
        valid = value not in ("", ".", "..") and not {"/", "%"} & set(value)
        if key.strip() == "metadata.name" and valid:
            return value
    return None


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
        rest = rest[2:]
    name = rest[1] if len(rest) >= 2 else None
    if verb in ("list", "watch") and name is None:
        name = selected_name(request.query.get("fieldSelector"))
    return ApiUse(verb, group, resource, namespace, name)


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
