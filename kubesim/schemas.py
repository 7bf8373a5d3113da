"""The shape of every stored kind, read from the official ``kubernetes`` package's models.

The project already depends on the ``kubernetes`` client, whose generated (pydantic) models
carry, for every API type, its fields with their JSON names, types, whether they are required
and their documentation. kubesim reads that once to answer three questions a real API server
answers from its compiled-in types:

* which fields exist (``fieldValidation``: unknown fields are refused or dropped),
* how lists merge in a strategic merge patch (the patch strategies and merge keys below,
  which the generated models do not carry: they are part of the Go types' tags),
* what ``/openapi/v3`` publishes (so that ``kubectl explain`` and ``kubectl apply`` work).

GafaelfawrIngress is a custom resource the package knows nothing about; its schema is the
structural one its CRD declares (top-level ``config`` and ``template``, both open).
"""

from __future__ import annotations

import collections.abc
import datetime
import functools
import typing
from dataclasses import dataclass
from typing import Any

import kubernetes.client
from pydantic import BaseModel

#: Kind -> name of its model in ``kubernetes.client``.
MODEL_NAMES = {
    "Namespace": "V1Namespace",
    "Pod": "V1Pod",
    "Service": "V1Service",
    "ConfigMap": "V1ConfigMap",
    "Secret": "V1Secret",
    "PersistentVolumeClaim": "V1PersistentVolumeClaim",
    "ResourceQuota": "V1ResourceQuota",
    "ServiceAccount": "V1ServiceAccount",
    "Node": "V1Node",
    "Event": "CoreV1Event",
    "LimitRange": "V1LimitRange",
    "NetworkPolicy": "V1NetworkPolicy",
    "Ingress": "V1Ingress",
    "Job": "V1Job",
    "Deployment": "V1Deployment",
    "PodDisruptionBudget": "V1PodDisruptionBudget",
    "Role": "V1Role",
    "ClusterRole": "V1ClusterRole",
    "RoleBinding": "V1RoleBinding",
    "ClusterRoleBinding": "V1ClusterRoleBinding",
    "Lease": "V1Lease",
}

#: (model, JSON field) -> (patch strategy, merge key): how a strategic merge patch merges a
#: list field instead of replacing it (the ``patchStrategy``/``patchMergeKey`` tags of the
#: Kubernetes Go types, for the types kubesim stores). A merge key of ``""`` merges a list
#: of scalars as a set. ``retainKeys`` clears the keys of a map that the patch leaves out.
PATCH_META: dict[tuple[str, str], tuple[str, str]] = {
    ("V1ObjectMeta", "finalizers"): ("merge", ""),
    ("V1ObjectMeta", "ownerReferences"): ("merge", "uid"),
    ("V1PodSpec", "volumes"): ("merge,retainKeys", "name"),
    ("V1PodSpec", "initContainers"): ("merge", "name"),
    ("V1PodSpec", "containers"): ("merge", "name"),
    ("V1PodSpec", "ephemeralContainers"): ("merge", "name"),
    ("V1PodSpec", "imagePullSecrets"): ("merge", "name"),
    ("V1PodSpec", "hostAliases"): ("merge", "ip"),
    ("V1PodSpec", "schedulingGates"): ("merge", "name"),
    ("V1PodSpec", "topologySpreadConstraints"): ("merge", "topologyKey"),
    ("V1PodSpec", "resourceClaims"): ("merge,retainKeys", "name"),
    ("V1Container", "ports"): ("merge", "containerPort"),
    ("V1Container", "env"): ("merge", "name"),
    ("V1Container", "volumeMounts"): ("merge", "mountPath"),
    ("V1Container", "volumeDevices"): ("merge", "devicePath"),
    ("V1EphemeralContainer", "env"): ("merge", "name"),
    ("V1EphemeralContainer", "volumeMounts"): ("merge", "mountPath"),
    ("V1EphemeralContainer", "volumeDevices"): ("merge", "devicePath"),
    ("V1ServiceSpec", "ports"): ("merge", "port"),
    ("V1ServiceAccount", "secrets"): ("merge", "name"),
    ("V1PodStatus", "conditions"): ("merge", "type"),
    ("V1PodStatus", "podIPs"): ("merge", "ip"),
    ("V1PodStatus", "hostIPs"): ("merge", "ip"),
    ("V1NodeSpec", "podCIDRs"): ("merge", ""),
    ("V1NodeStatus", "conditions"): ("merge", "type"),
    ("V1NodeStatus", "addresses"): ("merge", "type"),
    ("V1NamespaceStatus", "conditions"): ("merge", "type"),
    ("V1PersistentVolumeClaimStatus", "conditions"): ("merge", "type"),
    ("V1DeploymentStatus", "conditions"): ("merge", "type"),
    ("V1PodDisruptionBudgetStatus", "conditions"): ("merge", "type"),
}

#: Map fields whose strategy is ``retainKeys`` (the map itself, not a list of maps).
RETAIN_KEYS: frozenset[tuple[str, str]] = frozenset({("V1DeploymentSpec", "strategy")})


@dataclass(frozen=True)
class Field:
    """One field of a model: its JSON name, shape and documentation.

    ``shape`` is ``"scalar"``, ``"list"`` or ``"map"`` (a map with arbitrary string keys);
    ``model`` is the model of the value (of each item / each map value), or ``None`` for a
    scalar or an open object. ``scalar`` names the JSON type of a scalar value.
    """

    name: str
    shape: str
    model: type[BaseModel] | None
    scalar: str
    required: bool
    description: str


def _unwrap(annotation: Any) -> Any:
    """Strip ``Optional`` and ``Annotated`` (keep unions of several real types)."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin is typing.Union:
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) == 1:
                annotation = args[0]
                continue
        return annotation


def _scalar_name(annotation: Any) -> str:
    if typing.get_origin(annotation) is typing.Union:
        names = {_scalar_name(_unwrap(a)) for a in typing.get_args(annotation)}
        names.discard("null")
        if names == {"integer", "string"}:
            return "int-or-string"
        if names == {"byte", "string"}:
            return "byte"
        if names <= {"integer", "number"}:
            return "number"
        return "object"
    if annotation is bool:
        return "boolean"
    if annotation is int:
        return "integer"
    if annotation is float:
        return "number"
    if annotation is bytes:
        return "byte"
    if annotation is str:
        return "string"
    if annotation is datetime.datetime:
        return "date-time"
    if annotation is type(None):
        return "null"
    return "object"


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


@functools.cache
def fields_of(model: type[BaseModel]) -> dict[str, Field]:
    """The fields of ``model`` by JSON name (cached: models never change)."""
    result: dict[str, Field] = {}
    for attribute, info in model.model_fields.items():
        name = info.serialization_alias or info.alias or attribute
        annotation = _unwrap(info.annotation)
        origin = typing.get_origin(annotation)
        shape, inner = "scalar", annotation
        if origin is list:
            shape, inner = "list", _unwrap(typing.get_args(annotation)[0])
        elif origin in (dict, collections.abc.Mapping):
            shape, inner = "map", _unwrap(typing.get_args(annotation)[1])
        value_model = inner if _is_model(inner) else None
        scalar = "object" if value_model is not None else _scalar_name(inner)
        result[name] = Field(
            name, shape, value_model, scalar, info.is_required(), info.description or ""
        )
    return result


def description_of(model: type[BaseModel]) -> str:
    """The first part of the model's docstring: the API type's own description."""
    doc = (model.__doc__ or "").strip()
    return doc.split("\n\n    Attributes:")[0].split("Attributes:")[0].strip()


@functools.cache
def model_for(kind: str) -> type[BaseModel] | None:
    """The model of a stored kind, or ``None`` (GafaelfawrIngress)."""
    name = MODEL_NAMES.get(kind)
    if name is None:
        return None
    model: type[BaseModel] = getattr(kubernetes.client, name)
    return model


#: GafaelfawrIngress's top-level fields (its CRD: ``config`` and ``template`` are open
#: objects, ``status`` is written by Gafaelfawr).
CUSTOM_TOP_FIELDS: dict[str, frozenset[str]] = {
    "GafaelfawrIngress": frozenset(
        {"apiVersion", "kind", "metadata", "config", "template", "status"}
    ),
}


#: A field's place in an object: keys and list indexes from the top.
FieldPath = tuple[str | int, ...]


def render_path(path: FieldPath) -> str:
    """``("spec", "containers", 0, "foo")`` as ``spec.containers[0].foo``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def unknown_fields(kind: str, obj: dict[str, Any]) -> list[FieldPath]:
    """Where ``obj`` has fields its kind does not have, in document order.

    Keys starting with ``$`` are strategic merge patch directives and are skipped.
    """
    model = model_for(kind)
    if model is None:
        known = CUSTOM_TOP_FIELDS.get(kind)
        if known is None:
            return []
        found: list[FieldPath] = [(key,) for key in obj if key not in known]
        meta = obj.get("metadata")
        if isinstance(meta, dict):
            found += _unknown(meta, fields_of(kubernetes.client.V1ObjectMeta), ("metadata",))
        return found
    return _unknown(obj, fields_of(model), ())


def _unknown(value: dict[str, Any], known: dict[str, Field], path: FieldPath) -> list[FieldPath]:
    found: list[FieldPath] = []
    for key, item in value.items():
        if key.startswith("$"):
            continue  # a strategic merge patch's directive, not a field
        where = (*path, key)
        field = known.get(key)
        if field is None:
            found.append(where)
            continue
        if field.model is None or item is None:
            continue
        inner = fields_of(field.model)
        if field.shape == "scalar" and isinstance(item, dict):
            found += _unknown(item, inner, where)
        elif field.shape == "list" and isinstance(item, list):
            for index, element in enumerate(item):
                if isinstance(element, dict):
                    found += _unknown(element, inner, (*where, index))
        elif field.shape == "map" and isinstance(item, dict):
            for map_key, element in item.items():
                if isinstance(element, dict):
                    found += _unknown(element, inner, (*where, map_key))
    return found


def drop_fields(obj: dict[str, Any], paths: list[FieldPath]) -> None:
    """Remove the fields at ``paths`` (from :func:`unknown_fields`) from ``obj``."""
    for path in paths:
        node: Any = obj
        for part in path[:-1]:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                node = None
                break
        if isinstance(node, dict):
            node.pop(path[-1], None)
