"""REST routing for the Kubernetes API paths: verbs, options, response shapes.

Paths served (``{p}`` = a plural such as ``pods``; ``/api/v1`` for the core group,
``/apis/{group}/{version}`` for the others):

* ``{base}/{p}`` (cluster-scoped kinds, or all namespaces for namespaced ones)
* ``{base}/namespaces/{ns}/{p}`` and ``.../{p}/{name}`` and ``.../{p}/{name}/status``
* discovery: ``/api``, ``/api/v1``, ``/apis``, ``/apis/{group}``, ``/apis/{group}/{version}``,
  ``/version``; health: ``/healthz``, ``/livez``, ``/readyz``.

The path is split at its literal slashes before each segment is percent-decoded, so a
namespace or name sent encoded (``nb-a%3Fx``, ``a%2Fb``) is exactly that one string. Names a
path cannot carry (``.``, ``..``, anything with ``/`` or ``%``) are 400 ``BadRequest``, as on
a real API server; other names that no object has are the usual 404.

Verbs: GET (get / list / watch with ``watch=1|true``), POST (create, 201), PUT (update),
PATCH (merge, strategic-merge -- served as merge -- and JSON patch), DELETE (delete; on a
collection, deletecollection). Anything else is 405. Injected faults (see
:mod:`kubesim.faults`) apply to these paths only. Every request reaching this handler is
counted in ``site.stats`` first (:mod:`kubesim.stats`), so that errors, including 404s and
injected faults, are load on the server like any other request.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import trio

from kubesim import discovery, openapi, podlogs, schemas, tables
from kubesim.errors import (
    ApiError,
    bad_request,
    invalid,
    method_not_allowed,
    path_not_found,
    unsupported_media_type,
)
from kubesim.faults import CORRUPT_OBJECT
from kubesim.http import DropConnection, Request, Response, StreamingResponse
from kubesim.requestlog import NAME, PARTITIONED, STATUS, VERB
from kubesim.resources import RESOURCES, ResourceType
from kubesim.validation import path_segment_problem
from kubesim.watch import WatchStream, event_line

if TYPE_CHECKING:
    from kubesim.site import Site


class _TableEvents:
    """Renders watch events as one-row Tables for a client that asked for them.

    The first Table carries the column definitions; the later ones leave them out, as a
    real server does, since the client already printed the header.
    """

    def __init__(self, kind: str, include: str) -> None:
        self.kind = kind
        self.include = include
        self.first = True

    def __call__(self, type_: str, obj: dict[str, Any]) -> dict[str, Any]:
        if type_ in ("ERROR", "BOOKMARK"):
            return obj
        metadata = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
        result = tables.table(
            self.kind, [obj], include=self.include, metadata=metadata, columns=self.first
        )
        self.first = False
        return result


#: The log entry of the create being served in this task (its name is known only once the
#: body is read: it may even be generated).
_CREATING: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar(
    "kubesim_creating", default=None
)

_BY_PATH: dict[tuple[str, str, str], ResourceType] = {
    (r.group, r.version, r.plural): r for r in RESOURCES
}
_TRUE = ("1", "true", "True")


def _int_param(query: dict[str, str], name: str) -> int | None:
    value = query.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise bad_request(f"invalid {name} {value!r}: must be an integer") from None


def _patch_type(content_type: str) -> str:
    media = content_type.split(";")[0].strip().lower()
    if media == "application/json-patch+json":
        return "json"
    if media == "application/merge-patch+json":
        return "merge"
    if media == "application/strategic-merge-patch+json":
        return "strategic"
    raise unsupported_media_type(media)


def _field_validation(query: dict[str, str]) -> str | None:
    """The ``fieldValidation`` parameter (Ignore, Warn, Strict), or ``None`` if absent."""
    value = query.get("fieldValidation")
    if value in (None, ""):
        return None
    if value not in ("Ignore", "Warn", "Strict"):
        raise bad_request(
            f'fieldValidation: Unsupported value: "{value}": supported values: "Ignore",'
            ' "Strict", "Warn"'
        )
    return value


def _refuse_dry_run(query: dict[str, str]) -> None:
    """kubesim cannot run a write without storing it: refuse rather than store."""
    if query.get("dryRun"):
        raise bad_request("kubesim does not support dry-run requests (dryRun)")


def _warning_headers(paths: list[schemas.FieldPath]) -> list[tuple[str, str]]:
    return [
        ("warning", f'299 - "unknown field \\"{schemas.render_path(path)}\\""') for path in paths
    ]


class KubeApi:
    """The Kubernetes REST handler of a :class:`~kubesim.site.Site`."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.store = site.store
        self.faults = site.faults
        self.stats = site.stats

    async def handle(self, request: Request) -> Response | StreamingResponse:
        path = request.path.rstrip("/") or "/"
        # Split before decoding: an encoded "/" or "?" in a name stays part of that name.
        parts = request.segments
        if self.faults.partitions:
            partition = self.faults.partition_for(request.headers.get("user-agent", ""))
            if partition is not None:
                dropped = self.stats.record_partitioned(request, parts, path)
                if dropped[VERB] == "create":
                    dropped[NAME] = _name_in_body(request)
                await partition.hold()
                raise DropConnection
        entry = self.stats.record(request, parts, path)
        creating = _CREATING.set(entry) if entry[VERB] == "create" else None
        try:
            response = await self._route(request, parts, path)
        except ApiError as exc:
            entry[STATUS] = exc.status
            raise
        except DropConnection:  # partitioned while the latency fault held it
            entry[PARTITIONED] = True
            if entry[VERB] == "create":
                entry[NAME] = _name_in_body(request)
            raise
        except Exception:
            entry[STATUS] = 500
            raise
        finally:
            if creating is not None:
                _CREATING.reset(creating)
        entry[STATUS] = response.status
        return response

    async def _route(
        self, request: Request, parts: list[str], path: str
    ) -> Response | StreamingResponse:
        head = parts[0]
        if head == "api":
            if len(parts) == 1:
                return Response.json(200, discovery.api_versions(self.site.server_address))
            group, version, rest = "", parts[1], parts[2:]
        elif head == "apis":
            if len(parts) == 1:
                return Response.json(200, discovery.api_group_list())
            if len(parts) == 2:
                doc = discovery.api_group(parts[1])
                if doc is None:
                    raise path_not_found(path)
                return Response.json(200, doc)
            group, version, rest = parts[1], parts[2], parts[3:]
        elif head == "openapi" and len(parts) > 1 and parts[1] == "v3":
            document = openapi.document_for(path)
            if document is None:
                raise path_not_found(path)
            return Response(200, document, [("content-type", "application/json")])
        elif path == "/version":
            return Response.json(200, discovery.SERVER_VERSION)
        elif path in ("/healthz", "/livez", "/readyz"):
            return Response(200, b"ok", [("content-type", "text/plain")])
        else:
            raise path_not_found(path)
        if not rest:
            doc = discovery.resource_list(f"{group}/{version}" if group else version)
            if doc is None:
                raise path_not_found(path)
            return Response.json(200, doc)
        return await self._resource_request(request, group, version, rest)

    async def _resource_request(
        self, request: Request, group: str, version: str, rest: list[str]
    ) -> Response | StreamingResponse:
        namespace: str | None = None
        if len(rest) >= 3 and rest[0] == "namespaces" and (group, version, rest[2]) in _BY_PATH:
            namespace, rest = rest[1], rest[2:]
        res = _BY_PATH.get((group, version, rest[0]))
        if res is None or len(rest) > 3:
            raise path_not_found(request.path)
        if namespace is not None and not res.namespaced:
            raise path_not_found(request.path)
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else None
        if subresource is not None and not (
            (subresource == "status" and res.status_subresource)
            or (subresource == "finalize" and res.kind == "Namespace")
            or (subresource == "log" and res.kind == "Pod" and request.method == "GET")
        ):
            raise path_not_found(request.path)
        if name is not None and res.namespaced and namespace is None:
            raise path_not_found(request.path)
        for label, value in (("Namespace", namespace), ("Name", name)):
            if value is not None and (problem := path_segment_problem(value)) is not None:
                raise bad_request(f"{label} parameter invalid: {value!r}: {problem}")
        verb = self._verb(request, name, subresource)
        delay = self.faults.latency_for(verb, res.plural)
        if delay:
            await trio.sleep(delay)
            if self.faults.partition_for(request.headers.get("user-agent", "")) is not None:
                raise DropConnection  # partitioned while held: the request never arrives
        if (error := self.faults.pick_error(verb, res.plural)) is not None:
            raise error
        if self.faults.pick_corruption(verb, res.plural):
            if verb == "watch":
                return StreamingResponse(
                    200, [("content-type", "application/json")], _corrupt_watch_stream()
                )
            return Response.json(200, CORRUPT_OBJECT)
        handler = getattr(self, f"_{verb}")
        result: Response | StreamingResponse = await handler(
            request, res, namespace, name, subresource
        )
        return result

    def _verb(self, request: Request, name: str | None, subresource: str | None) -> str:
        method = request.method
        if method == "GET":
            if name is None:
                return "watch" if request.query.get("watch") in _TRUE else "list"
            return "get"
        if name is None:
            if method == "POST":
                return "create"
            if method == "DELETE":
                return "deletecollection"
        elif method == "PUT":
            return "update"
        elif method == "PATCH":
            return "patch"
        elif method == "DELETE" and subresource is None:
            return "delete"
        raise method_not_allowed(method, request.path)

    def _body(self, request: Request) -> Any:
        try:
            return request.json()
        except ValueError as exc:
            raise bad_request(f"the request body is not valid JSON: {exc}") from None

    # ----------------------------------------------------------------- verbs
    async def _get(
        self,
        request: Request,
        res: ResourceType,
        namespace: str | None,
        name: str,
        subresource: str | None,
    ) -> Response | StreamingResponse:
        obj = self.store.get(res, namespace, name, copy_=False)
        if subresource == "log":
            return self._log(request, obj)
        if tables.wants_table(request.headers.get("accept", "")):
            include = tables.include_object(request.query)
            metadata = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
            return Response.json(
                200, tables.table(res.kind, [obj], include=include, metadata=metadata)
            )
        return Response.json(200, obj)

    def _log(self, request: Request, pod: dict[str, Any]) -> Response | StreamingResponse:
        query = request.query
        name, init = podlogs.resolve(pod, query)
        env: dict[str, Any] = {}
        configmaps = self.store.resource("configmaps")
        for source in podlogs.env_from_sources(podlogs.container_spec(pod, name, init)):
            found = self.store.find(configmaps, pod["metadata"]["namespace"], source)
            env.update((found or {}).get("data") or {})
        text = podlogs.render(pod, name, init, query, env)
        headers = [("content-type", "text/plain")]
        if query.get("follow") not in _TRUE:
            return Response(200, text, headers)
        client = request.headers.get("user-agent", "")
        return StreamingResponse(200, headers, self._follow(pod, name, init, text, client))

    async def _follow(
        self, pod: dict[str, Any], name: str, init: bool, text: bytes, client: str
    ) -> AsyncIterator[bytes]:
        """The log, then nothing until the container stops or the pod goes (``-f``).

        The pod's watcher carries the client, so the partition fault cuts this stream too;
        it is open before the log goes out, so a client that has the log is cut with it.
        """
        meta = pod["metadata"]
        res = self.store.resource("pods")
        events = self.store.open_watcher(
            res,
            meta["namespace"],
            field_selector=f"metadata.name={meta['name']}",
            copy_events=False,
        )
        events.client = client
        try:
            yield text
            async for event in events:
                if event.type == "DELETED" or event.object["metadata"].get("uid") != meta.get(
                    "uid"
                ):
                    return
                if "running" not in podlogs.container_state(event.object, name, init):
                    return
            if events.dropped:
                raise DropConnection
        finally:
            events.close()

    async def _list(
        self,
        request: Request,
        res: ResourceType,
        namespace: str | None,
        name: None,
        subresource: None,
    ) -> Response:
        query = request.query
        items, rv, token, remaining = self.store.list_page(
            res,
            namespace,
            label_selector=query.get("labelSelector"),
            field_selector=query.get("fieldSelector"),
            limit=_int_param(query, "limit"),
            continue_token=query.get("continue") or None,
        )
        metadata: dict[str, Any] = {"resourceVersion": rv}
        if token is not None:
            metadata["continue"] = token
            metadata["remainingItemCount"] = remaining
        if tables.wants_table(request.headers.get("accept", "")):
            include = tables.include_object(query)
            return Response.json(
                200, tables.table(res.kind, items, include=include, metadata=metadata)
            )
        return Response.json(
            200,
            {
                "kind": res.list_kind,
                "apiVersion": res.api_version,
                "metadata": metadata,
                "items": items,
            },
        )

    async def _watch(
        self,
        request: Request,
        res: ResourceType,
        namespace: str | None,
        name: None,
        subresource: None,
    ) -> StreamingResponse:
        query = request.query
        timeout = _int_param(query, "timeoutSeconds")
        config = self.site.config
        streaming = self._streaming_list(query)
        error: ApiError | None = None
        watcher = None
        try:
            watcher = self.store.open_watcher(
                res,
                namespace,
                # A streaming list reads the current state whatever revision it names (the
                # state is never older than one the client saw: "not older than").
                resource_version=None if streaming else query.get("resourceVersion"),
                label_selector=query.get("labelSelector"),
                field_selector=query.get("fieldSelector"),
                external=True,
                initial_events_end=streaming,
            )
        except ApiError as exc:
            if exc.status != 410:
                raise
            error = exc
        if watcher is not None:
            watcher.client = request.headers.get("user-agent", "")
        render = None
        if tables.wants_table(request.headers.get("accept", "")):
            render = _TableEvents(res.kind, tables.include_object(query))
        stream = WatchStream(
            self.store,
            res,
            watcher,
            render=render,
            error=error,
            timeout=float(timeout) if timeout and timeout > 0 else config.watch_default_timeout,
            bookmarks=query.get("allowWatchBookmarks") in _TRUE,
            bookmark_interval=config.bookmark_interval,
            stats=self.stats,
        )
        return StreamingResponse(200, [("content-type", "application/json")], stream)

    def _streaming_list(self, query: dict[str, str]) -> bool:
        """Whether a watch is a streaming list, after the API server's checks of its options.

        ``sendInitialEvents=true`` needs ``resourceVersionMatch=NotOlderThan`` and bookmarks;
        ``resourceVersionMatch`` on a watch means nothing without it.
        """
        send_initial = query.get("sendInitialEvents")
        match = query.get("resourceVersionMatch")
        if send_initial is None or send_initial in ("false", "0"):
            if match:
                raise invalid_options(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is set",
                )
            return False
        if send_initial not in _TRUE:
            raise bad_request(f"invalid sendInitialEvents {send_initial!r}")
        if not self.store.config.streaming_lists:
            raise invalid_options(
                "sendInitialEvents",
                "sendInitialEvents is forbidden for watch unless the WatchList feature gate "
                "is enabled",
            )
        if match != "NotOlderThan":
            raise invalid_options(
                "resourceVersionMatch",
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            )
        if query.get("allowWatchBookmarks") not in _TRUE:
            raise invalid_options(
                "allowWatchBookmarks",
                "allowWatchBookmarks must be set to true when sendInitialEvents is set",
            )
        return True

    def _check_fields(self, request: Request, res: ResourceType, obj: Any) -> list[tuple[str, str]]:
        """Apply ``fieldValidation`` to a body about to be written; the warning headers.

        Strict refuses unknown fields (400, as a real server's strict decoding does); Warn
        and Ignore drop them, Warn saying so in ``Warning`` headers. Without the parameter
        the body is stored as sent (see docs/kubesim.md).
        """
        _refuse_dry_run(request.query)
        mode = _field_validation(request.query)
        if mode is None or not isinstance(obj, dict):
            return []
        unknown = schemas.unknown_fields(res.kind, obj)
        if not unknown:
            return []
        if mode == "Strict":
            found = ", ".join(f'unknown field "{schemas.render_path(p)}"' for p in unknown)
            raise bad_request(
                f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}:'
                f" strict decoding error: {found}"
            )
        schemas.drop_fields(obj, unknown)
        return _warning_headers(unknown) if mode == "Warn" else []

    async def _create(
        self,
        request: Request,
        res: ResourceType,
        namespace: str | None,
        name: None,
        subresource: None,
    ) -> Response:
        # The parsed body belongs to this request alone and the result is serialised at
        # once: no copy either way (see the ``copy_`` contract in kubesim.store).
        body = self._body(request)
        # The log names the object a create is about, as an audit log does: the name sent
        # (so a refused create is named too), or the one generated.
        entry = _CREATING.get()
        if entry is not None:
            entry[NAME] = _name_of(body)
        warnings = self._check_fields(request, res, body)
        created = self.store.create(res, namespace, body, copy_=False)
        if entry is not None:
            entry[NAME] = created["metadata"]["name"]
        return Response.json(201, created, warnings)

    async def _update(
        self,
        request: Request,
        res: ResourceType,
        namespace: str | None,
        name: str,
        subresource: str | None,
    ) -> Response:
        body = self._body(request)
        warnings = self._check_fields(request, res, body)
        if subresource == "finalize":
            subresource = None
        if (
            res.create_on_update
            and subresource is None
            and self.store.find(res, namespace, name) is None
        ):
            return Response.json(201, self._create_on_update(res, namespace, name, body), warnings)
        return Response.json(
            200,
            self.store.replace(res, namespace, name, body, subresource=subresource, copy_=False),
            warnings,
        )

    def _create_on_update(
        self, res: ResourceType, namespace: str | None, name: str, body: Any
    ) -> dict[str, Any]:
        """A PUT to a missing name of a kind that allows it creates the object (201), as
        with a POST whose body carries the URL's name."""
        if not isinstance(body, dict):
            raise bad_request("the request body must be a JSON object")
        metadata = body.get("metadata")
        if isinstance(metadata, dict) and metadata.get("name") not in (None, "", name):
            raise bad_request(
                f"the name of the object ({metadata['name']}) does not match the name on the"
                f" URL ({name})"
            )
        if metadata is None:
            body["metadata"] = metadata = {}
        if isinstance(metadata, dict):
            metadata["name"] = name
        return self.store.create(res, namespace, body, copy_=False)

    async def _patch(
        self,
        request: Request,
        res: ResourceType,
        namespace: str | None,
        name: str,
        subresource: str | None,
    ) -> Response:
        patch_type = _patch_type(request.headers.get("content-type", ""))
        body = self._body(request)
        # Merge patches name fields as the object does (directives aside); a JSON patch's
        # values are checked where they land by the store's own merge below.
        warnings = self._check_fields(request, res, body) if patch_type != "json" else []
        if patch_type == "json":
            _refuse_dry_run(request.query)
            _field_validation(request.query)
        return Response.json(
            200,
            self.store.patch(
                res,
                namespace,
                name,
                body,
                patch_type=patch_type,
                subresource=subresource,
                copy_=False,
            ),
            warnings,
        )

    def _delete_options(self, request: Request) -> tuple[int | None, str | None, dict[str, Any]]:
        options: dict[str, Any] = {}
        if request.body.strip():
            body = self._body(request)
            if not isinstance(body, dict):
                raise bad_request("DeleteOptions must be a JSON object")
            options = body
        grace = _int_param(request.query, "gracePeriodSeconds")
        if grace is None and options.get("gracePeriodSeconds") is not None:
            grace = int(options["gracePeriodSeconds"])
        policy = request.query.get("propagationPolicy") or options.get("propagationPolicy")
        orphan = request.query.get("orphanDependents", options.get("orphanDependents"))
        if policy is None and orphan is not None:
            policy = "Orphan" if str(orphan).lower() in ("1", "true") else "Background"
        return grace, policy, options.get("preconditions") or {}

    def _deleted_response(self, res: ResourceType, obj: dict[str, Any], gone: bool) -> Response:
        if not gone or res.returns_deleted_object:
            return Response.json(200, obj)
        details: dict[str, Any] = {
            "name": obj["metadata"]["name"],
            "kind": res.plural,
            "uid": obj["metadata"]["uid"],
        }
        if res.group:
            details["group"] = res.group
        return Response.json(
            200,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": details,
            },
        )

    async def _delete(
        self,
        request: Request,
        res: ResourceType,
        namespace: str | None,
        name: str,
        subresource: None,
    ) -> Response:
        grace, policy, preconditions = self._delete_options(request)
        obj = self.store.delete(
            res,
            namespace,
            name,
            grace_period_seconds=grace,
            propagation_policy=policy,
            preconditions=preconditions,
            copy_=False,
        )
        gone = self._gone(res, obj)
        return self._deleted_response(res, obj, gone)

    def _gone(self, res: ResourceType, obj: dict[str, Any]) -> bool:
        try:
            current = self.store.get(
                res, obj["metadata"].get("namespace"), obj["metadata"]["name"], copy_=False
            )
        except ApiError:
            return True
        return bool(current["metadata"]["uid"] != obj["metadata"]["uid"])

    async def _deletecollection(
        self,
        request: Request,
        res: ResourceType,
        namespace: str | None,
        name: None,
        subresource: None,
    ) -> Response:
        grace, policy, _ = self._delete_options(request)
        items, _, _, _ = self.store.list_page(
            res,
            namespace,
            label_selector=request.query.get("labelSelector"),
            field_selector=request.query.get("fieldSelector"),
        )
        deleted = []
        for obj in list(items):
            meta = obj["metadata"]
            try:
                deleted.append(
                    self.store.delete(
                        res,
                        meta.get("namespace"),
                        meta["name"],
                        grace_period_seconds=grace,
                        propagation_policy=policy,
                        copy_=False,
                    )
                )
            except ApiError as exc:
                if exc.status != 404:
                    raise
        return Response.json(
            200,
            {
                "kind": res.list_kind,
                "apiVersion": res.api_version,
                "metadata": {"resourceVersion": self.store.resource_version},
                "items": deleted,
            },
        )


def invalid_options(field: str, message: str) -> ApiError:
    """422 for list/watch options the API server refuses (it names them ``ListOptions``)."""
    return invalid("ListOptions", "", [(field, message)], group="meta.k8s.io")


def _name_of(body: Any) -> str:
    """``metadata.name`` of a request body, or ``""``."""
    metadata = body.get("metadata") if isinstance(body, dict) else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else ""


def _name_in_body(request: Request) -> str:
    """The name a create that will never be served was about (for the request log)."""
    try:
        return _name_of(request.json())
    except ValueError:
        return ""


async def _corrupt_watch_stream() -> AsyncIterator[bytes]:
    """A watch answered by a corruption fault: one event whose object nothing can read."""
    yield event_line("ADDED", CORRUPT_OBJECT)
