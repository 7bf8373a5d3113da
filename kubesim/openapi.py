"""``/openapi/v3``: the OpenAPI documents of the kinds kubesim serves.

``kubectl`` reads them for three things: ``kubectl explain`` (the schemas, their field
documentation and their ``x-kubernetes-group-version-kind``), ``kubectl apply``'s check that
the server validates fields itself (the ``fieldValidation`` parameter of each kind's PATCH
operation: then kubectl sends ``fieldValidation=Strict`` instead of validating on its own)
and its three-way merge (the patch strategies and merge keys of list fields).

The root document lists one document per group/version, each with its paths (the operations
of every kind) and ``components.schemas``, built from :mod:`kubesim.schemas`. A real server
names schemas after the Go packages (``io.k8s.api.core.v1.PodSpec``), which clients only use
as references; kubesim's are ``io.k8s.kubesim.`` plus the model's name (see
:func:`schema_name`). The documents are built once per process and cached.

OpenAPI v2 (``/openapi/v2``) is not served: a real server sends it as protobuf, and every
kubectl that reads v3 (1.27 and later) only falls back to v2 when v3 is missing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from typing import Any

from pydantic import BaseModel

from kubesim.resources import ResourceType, group_versions
from kubesim.schemas import (
    PATCH_META,
    RETAIN_KEYS,
    Field,
    description_of,
    fields_of,
    model_for,
)

PREFIX = "/openapi/v3"


_CLASS_NAME = re.compile(r"^([A-Z][a-z]+)?(V\d+(?:alpha\d+|beta\d+)?)(\w+)$")


def schema_name(model: type[BaseModel]) -> str:
    """``V1PodSpec`` -> ``io.k8s.kubesim.v1.PodSpec``, ``RbacV1Subject`` ->
    ``io.k8s.kubesim.rbac.v1.Subject``: clients show the part after the last dot."""
    match = _CLASS_NAME.match(model.__name__)
    if match is None:
        return f"io.k8s.kubesim.{model.__name__}"
    group, version, name = match.groups()
    prefix = f"{group.lower()}." if group else ""
    return f"io.k8s.kubesim.{prefix}{version.lower()}.{name}"


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _scalar(field: Field) -> dict[str, Any]:
    if field.scalar == "int-or-string":
        return {"type": "string", "format": "int-or-string", "x-kubernetes-int-or-string": True}
    if field.scalar in ("byte", "date-time"):
        return {"type": "string", "format": field.scalar}
    if field.scalar == "object":
        return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {"type": field.scalar}


def _field_schema(owner: str, field: Field, schemas: dict[str, Any]) -> dict[str, Any]:
    if field.model is not None:
        _add_model(field.model, schemas)
        value: dict[str, Any] = {"allOf": [_ref(schema_name(field.model))]}
        if field.shape == "scalar":
            value["default"] = {}
    else:
        value = _scalar(field)
    if field.shape == "list":
        schema: dict[str, Any] = {"type": "array", "items": value}
    elif field.shape == "map":
        schema = {"type": "object", "additionalProperties": value}
    else:
        schema = value
    if field.description:
        schema["description"] = field.description
    strategy, merge_key = PATCH_META.get((owner, field.name), ("", ""))
    if strategy:
        schema["x-kubernetes-patch-strategy"] = strategy
        if merge_key:
            schema["x-kubernetes-patch-merge-key"] = merge_key
    if (owner, field.name) in RETAIN_KEYS:
        schema["x-kubernetes-patch-strategy"] = "retainKeys"
    return schema


def _add_model(model: type[BaseModel], schemas: dict[str, Any]) -> None:
    name = schema_name(model)
    if name in schemas:
        return
    schemas[name] = {}  # placeholder: models refer to themselves (JSONSchemaProps)
    fields = fields_of(model)
    schema: dict[str, Any] = {
        "description": description_of(model),
        "type": "object",
        "properties": {key: _field_schema(model.__name__, f, schemas) for key, f in fields.items()},
    }
    required = sorted(key for key, f in fields.items() if f.required)
    if required:
        schema["required"] = required
    schemas[name] = schema


def _custom_schema(res: ResourceType) -> dict[str, Any]:
    """The structural schema of GafaelfawrIngress, as its CRD declares it."""
    open_object = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "description": "GafaelfawrIngress defines the parameters used to create an Ingress"
        " protected by Gafaelfawr authentication.",
        "type": "object",
        "required": ["config", "template"],
        "properties": {
            "apiVersion": {"type": "string", "description": "The versioned schema."},
            "kind": {"type": "string", "description": "The REST resource."},
            "metadata": {"type": "object"},
            "config": {**open_object, "description": "Gafaelfawr protection settings."},
            "template": {**open_object, "description": "Template for the generated Ingress."},
            "status": {**open_object, "description": "Status written by Gafaelfawr."},
        },
    }


def _parameter(name: str, where: str, description: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    return {"name": name, "in": where, "description": description, "schema": schema}


_FIELD_VALIDATION = _parameter(
    "fieldValidation",
    "query",
    "How to treat fields the kind does not have: Ignore drops them, Warn drops them and"
    " answers with a Warning header, Strict refuses the request.",
)
_FIELD_MANAGER = _parameter("fieldManager", "query", "Name of the client making the change.")


def _operation(
    res: ResourceType, action: str, summary: str, *, writes: bool = False
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "description": summary,
        "operationId": f"{action}{res.kind}",
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {
            "group": res.group,
            "version": res.version,
            "kind": res.kind,
        },
    }
    if writes:
        operation["parameters"] = [_FIELD_VALIDATION, _FIELD_MANAGER]
    return operation


def _paths(res: ResourceType) -> dict[str, Any]:
    base = res.base_path
    collection = (
        f"{base}/namespaces/{{namespace}}/{res.plural}"
        if res.namespaced
        else f"{base}/{res.plural}"
    )
    patch_types = [
        "application/json-patch+json",
        "application/merge-patch+json",
        *(["application/strategic-merge-patch+json"] if model_for(res.kind) else []),
    ]
    body = {"content": {"application/json": {"schema": _ref(_schema_name(res))}}}
    patch = _operation(res, "patch", f"partially update the specified {res.kind}", writes=True)
    patch["requestBody"] = {"content": {t: {"schema": {"type": "object"}} for t in patch_types}}
    create = _operation(res, "post", f"create a {res.kind}", writes=True)
    create["requestBody"] = body
    replace = _operation(res, "put", f"replace the specified {res.kind}", writes=True)
    replace["requestBody"] = body
    paths = {
        collection: {
            "get": _operation(res, "list", f"list or watch objects of kind {res.kind}"),
            "post": create,
            "delete": _operation(res, "deletecollection", f"delete a collection of {res.kind}"),
        },
        f"{collection}/{{name}}": {
            "get": _operation(res, "get", f"read the specified {res.kind}"),
            "put": replace,
            "patch": patch,
            "delete": _operation(res, "delete", f"delete a {res.kind}"),
        },
    }
    if res.status_subresource:
        paths[f"{collection}/{{name}}/status"] = {
            "get": _operation(res, "get", f"read status of the specified {res.kind}"),
            "put": _operation(
                res, "put", f"replace status of the specified {res.kind}", writes=True
            ),
            "patch": _operation(
                res, "patch", f"partially update status of {res.kind}", writes=True
            ),
        }
    return paths


def _schema_name(res: ResourceType) -> str:
    model = model_for(res.kind)
    return schema_name(model) if model is not None else f"{res.group}.{res.version}.{res.kind}"


def _gvk(res: ResourceType) -> list[dict[str, str]]:
    return [{"group": res.group, "version": res.version, "kind": res.kind}]


@functools.cache
def group_version_document(api_version: str) -> bytes | None:
    """The serialised document of one group/version (``v1``, ``apps/v1``), or ``None``."""
    kinds = group_versions().get(api_version)
    if kinds is None:
        return None
    schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for res in kinds:
        model = model_for(res.kind)
        if model is not None:
            _add_model(model, schemas)
        else:
            schemas[_schema_name(res)] = _custom_schema(res)
        schema = dict(schemas[_schema_name(res)])
        schema["x-kubernetes-group-version-kind"] = _gvk(res)
        schemas[_schema_name(res)] = schema
        paths.update(_paths(res))
    document = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (kubesim)", "version": "v1.31.0-kubesim"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
    return json.dumps(document, separators=(",", ":")).encode()


def _path_key(api_version: str) -> str:
    return f"apis/{api_version}" if "/" in api_version else f"api/{api_version}"


@functools.cache
def root_document() -> bytes:
    """The index: one entry per group/version, pointing at its document by content hash."""
    paths = {}
    for api_version in group_versions():
        document = group_version_document(api_version)
        assert document is not None
        digest = hashlib.sha512(document).hexdigest().upper()
        key = _path_key(api_version)
        paths[key] = {"serverRelativeURL": f"{PREFIX}/{key}?hash={digest}"}
    return json.dumps({"paths": paths}, separators=(",", ":")).encode()


def document_for(path: str) -> bytes | None:
    """The document served at ``path`` (under :data:`PREFIX`), or ``None`` for a 404."""
    rest = path.removeprefix(PREFIX).strip("/")
    if not rest:
        return root_document()
    parts = rest.split("/")
    if parts[0] == "api" and len(parts) == 2:
        return group_version_document(parts[1])
    if parts[0] == "apis" and len(parts) == 3:
        return group_version_document(f"{parts[1]}/{parts[2]}")
    return None
