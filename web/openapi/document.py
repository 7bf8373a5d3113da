"""Build the OpenAPI 3.1 document for one configuration from the operation table.

JSON Schemas come from pydantic (draft 2020-12, which OpenAPI 3.1 uses as is): request
bodies in validation mode, responses in serialisation mode, so the document describes what
the routes accept and what they send with the models that do it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from actors.config import ControllerConfig
from actors.config.auth import AuthMode

from .models import ErrorBody, FrameworkError
from .operations import OPERATIONS, WEBSOCKETS, Answer, Auth, Operation, Param, WebSocketRoute

__all__ = ["FILESERVERS", "openapi_document", "operations_for", "websockets_for"]

FILESERVERS = "fileservers"
"""File-server routes always exist; disabled, they answer 404 ``not_supported``."""

_REF = "#/components/schemas/{model}"
ERROR_REF = {"$ref": "#/components/schemas/Error"}

_DIRECT_AUTH: dict[Auth, tuple[Answer, ...]] = {
    Auth.GROUP: (
        Answer(401, "No bearer token, or an unknown or expired one (`invalid_token`)"),
        Answer(403, "The token lacks the route group's scope (`permission_denied`)"),
    ),
    Auth.IDENTITY: (
        Answer(401, "No bearer token, or an unknown or expired one (`invalid_token`)"),
        Answer(
            403,
            "The token lacks the scope, or belongs to someone other than the path's user"
            " (`permission_denied`)",
        ),
        Answer(422, "The token's owner is not a valid username (`invalid_username`)"),
    ),
    Auth.DELEGATED: (
        Answer(401, "No bearer token, or an unknown or expired one (`invalid_token`)"),
        Answer(
            403,
            "The token lacks the scope, or belongs to someone other than the path's user"
            " (`permission_denied`)",
        ),
        Answer(422, "The token's owner is not a valid username (`invalid_username`)"),
    ),
}

_INGRESS_AUTH: dict[Auth, tuple[Answer, ...]] = {
    Auth.IDENTITY: (
        Answer(
            422,
            "`X-Auth-Request-User` is missing (`missing`) or not a valid username"
            " (`invalid_username`)",
        ),
    ),
    Auth.DELEGATED: (
        Answer(401, "Gafaelfawr rejected the delegated token (`invalid_token`)"),
        Answer(
            403,
            "The token belongs to someone else than `X-Auth-Request-User`, or the path names"
            " another user (`permission_denied`)",
        ),
        Answer(
            422,
            "`X-Auth-Request-User` or `X-Auth-Request-Token` is missing (`missing`), or the"
            " username is not valid (`invalid_username`)",
        ),
    ),
}

_MISMATCH = Answer(403, "The path names another user than the caller (`permission_denied`)")
_BAD_USERNAME = Answer(422, "The path's username is not valid (`invalid_username`)")
_BAD_BODY = Answer(422, "The body is not valid (pydantic error types, `json_invalid` ...)")
_BAD_QUERY = Answer(422, "A query parameter is missing or not valid")
_DISABLED = Answer(404, "File servers are disabled in the configuration (`not_supported`)")
_DEFAULT = (
    "Any other answer is an error body: 503 `mailbox_full` or `actor_stopped` (overloaded or"
    " restarting; see `Retry-After`), 502 `gafaelfawr_unavailable`, 500 `internal_error` and"
    " the controller's own 500s (`delete_failed`, `migration_failed` ...)"
)


def _fill(path: str, prefix: str, files: str) -> str:
    return path.replace("{prefix}", prefix).replace("{files}", files)


def _present(service: str | None, services: frozenset[str], prefix: str, path: str) -> bool:
    if path == "{prefix}" and not prefix:
        return False  # with an empty prefix, GET {prefix} is the root route itself
    return service is None or service == FILESERVERS or service in services


def operations_for(
    config: ControllerConfig, services: frozenset[str]
) -> list[tuple[str, Operation]]:
    """The operations the app serves for ``config`` and ``services``, with filled-in paths."""
    prefix = _prefix(config)
    files = config.fileserver.path_prefix
    return [
        (_fill(op.path, prefix, files), op)
        for op in OPERATIONS
        if _present(op.service, services, prefix, op.path)
    ]


def websockets_for(
    config: ControllerConfig, services: frozenset[str]
) -> list[tuple[str, WebSocketRoute]]:
    prefix = _prefix(config)
    files = config.fileserver.path_prefix
    return [
        (_fill(ws.path, prefix, files), ws)
        for ws in WEBSOCKETS
        if _present(ws.service, services, prefix, ws.path)
    ]


def _prefix(config: ControllerConfig) -> str:
    prefix = "/" + config.path_prefix.strip("/")
    return "" if prefix == "/" else prefix


def _answers(op: Operation, mode: AuthMode, fileservers_enabled: bool) -> list[Answer]:
    if op.service == FILESERVERS and not fileservers_enabled:
        # The routes still authenticate and check usernames first; then they refuse.
        own: tuple[Answer, ...] = (_DISABLED,)
    else:
        own = op.answers
    auth = (_DIRECT_AUTH if mode is AuthMode.DIRECT else _INGRESS_AUTH).get(op.auth, ())
    extra: list[Answer] = list(auth)
    if op.path_username:
        extra.append(_BAD_USERNAME)
        if op.auth in (Auth.IDENTITY, Auth.DELEGATED):
            extra.append(_MISMATCH)
    if op.body is not None:
        extra.append(_BAD_BODY)
    if any(p.where == "query" for p in op.params):
        extra.append(_BAD_QUERY)
    merged: dict[int, Answer] = {}
    for answer in [*own, *extra]:
        known = merged.get(answer.status)
        if known is None:
            merged[answer.status] = answer
        elif answer.description not in known.description:
            merged[answer.status] = Answer(
                known.status,
                f"{known.description}; {answer.description[:1].lower()}{answer.description[1:]}",
                known.body,
                known.media,
                known.headers,
            )
    return [merged[status] for status in sorted(merged)]


class _Schemas:
    """Collects the models the document names and generates their schemas in one pass."""

    def __init__(self) -> None:
        self._models: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {}

    def ref(self, body: Any, mode: JsonSchemaMode) -> dict[str, Any] | type[BaseModel]:
        if isinstance(body, type) and issubclass(body, BaseModel):
            self._models[(body, mode)] = None
            return body
        return TypeAdapter(body).json_schema(mode=mode, ref_template=_REF)

    def generate(self) -> tuple[dict[Any, dict[str, Any]], dict[str, Any]]:
        keys, top = models_json_schema(list(self._models), ref_template=_REF)
        definitions: dict[str, Any] = top.get("$defs", {})
        return dict(keys), definitions


def _param(param: Param) -> dict[str, Any]:
    return {
        "name": param.name,
        "in": param.where,
        "required": True,
        "description": param.description,
        "schema": param.schema,
    }


def _header(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


def _ingress_headers(op: Operation) -> list[dict[str, Any]]:
    if op.auth is Auth.IDENTITY:
        return [_header("X-Auth-Request-User", "The caller, as the Gafaelfawr ingress says")]
    if op.auth is Auth.DELEGATED:
        return [
            _header("X-Auth-Request-User", "The caller, as the Gafaelfawr ingress says"),
            _header("X-Auth-Request-Token", "The caller's delegated token"),
        ]
    return []


def openapi_document(
    config: ControllerConfig, services: Iterable[str], *, version: str
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the app built for ``config`` with ``services``."""
    services = frozenset(services)
    mode = config.auth.mode
    fileservers_enabled = FILESERVERS in services
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    pending: list[tuple[dict[str, Any], JsonSchemaMode, Any]] = []
    for path, op in operations_for(config, services):
        entry: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "tags": [op.group],
        }
        if op.description:
            entry["description"] = op.description
        parameters = [_param(p) for p in op.params]
        if mode is AuthMode.INGRESS:
            parameters += _ingress_headers(op)
        if parameters:
            entry["parameters"] = parameters
        if op.auth is not Auth.NONE and mode is AuthMode.DIRECT:
            entry["security"] = [{"bearer": []}]
        elif op.auth is Auth.NONE or op.auth is Auth.GROUP:
            entry["security"] = []
        if op.body is not None:
            body: dict[str, Any] = {"required": True, "content": {"application/json": {}}}
            pending.append((body["content"]["application/json"], "validation", op.body))
            entry["requestBody"] = body
        responses: dict[str, Any] = {}
        for answer in _answers(op, mode, fileservers_enabled):
            response: dict[str, Any] = {"description": answer.description}
            if answer.headers:
                response["headers"] = {
                    name: {"schema": {"type": "string"}, "required": True}
                    for name in answer.headers
                }
            if answer.status >= 400:
                response["content"] = {"application/json": {"schema": ERROR_REF}}
            elif answer.body is not None:
                media: dict[str, Any] = {}
                response["content"] = {answer.media: media}
                pending.append((media, "serialization", answer.body))
            elif answer.status == 201:
                response["content"] = {"application/json": {"schema": {"type": "null"}}}
            responses[str(answer.status)] = response
        responses["default"] = {
            "description": _DEFAULT,
            "content": {"application/json": {"schema": ERROR_REF}},
        }
        entry["responses"] = responses
        paths.setdefault(path, {})[op.method.lower()] = entry
    refs = [(media, mode_, schemas.ref(body, mode_)) for media, mode_, body in pending]
    for model in (ErrorBody, FrameworkError):
        schemas.ref(model, "serialization")
    keys, definitions = schemas.generate()
    for media, mode_, ref in refs:
        media["schema"] = keys[(ref, mode_)] if isinstance(ref, type) else ref
    definitions["Error"] = {
        "anyOf": [
            keys[(ErrorBody, "serialization")],
            keys[(FrameworkError, "serialization")],
        ]
    }
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": config.name,
            "version": version,
            "description": (
                "The lab controller's HTTP API. Authentication mode of this controller:"
                f" `{mode.value}` (see docs/auth.md)."
            ),
        },
        "paths": paths,
        "components": {"schemas": dict(sorted(definitions.items()))},
        "x-websockets": [
            {"path": path, "summary": ws.summary, "group": ws.group}
            for path, ws in websockets_for(config, services)
        ],
    }
    if mode is AuthMode.DIRECT:
        document["components"]["securitySchemes"] = {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "A Gafaelfawr token with the route group's scope",
            }
        }
    return document
