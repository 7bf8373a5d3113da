"""Patch formats a Kubernetes API server accepts: JSON merge patch and JSON patch.

Strategic merge patch is served as a JSON merge patch (kubesim knows no patch strategies, so
lists are replaced rather than merged by key; documented in docs/kubesim.md).
"""

from __future__ import annotations

from typing import Any

from kubesim.errors import ApiError, bad_request
from kubesim.jsoncopy import json_copy


def json_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return json_copy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f"invalid JSON pointer {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _container(doc: Any, parts: list[str]) -> Any:
    node = doc
    for part in parts:
        if isinstance(node, list):
            try:
                node = node[int(part)]
            except (ValueError, IndexError):
                raise bad_request(f"JSON patch path element {part!r} not found") from None
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise bad_request(f"JSON patch path element {part!r} not found")
    return node


def _index(node: list[Any], part: str, *, for_add: bool) -> int:
    if for_add and part == "-":
        return len(node)
    try:
        index = int(part)
    except ValueError:
        raise bad_request(f"invalid array index {part!r}") from None
    if index < 0 or index > len(node) - (0 if for_add else 1):
        raise bad_request(f"array index {index} out of range")
    return index


def _remove(doc: Any, parts: list[str]) -> Any:
    parent = _container(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, for_add=False))
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    raise bad_request(f"JSON patch cannot remove missing path element {last!r}")


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent = _container(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, list):
        parent.insert(_index(parent, last, for_add=True), value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise bad_request("JSON patch target is not a container")
    return doc


def apply_json_patch(document: Any, operations: Any) -> Any:
    """RFC 6902 (add, remove, replace, move, copy, test) on a deep copy of ``document``."""
    if not isinstance(operations, list):
        raise bad_request("a JSON patch must be a list of operations")
    doc = json_copy(document)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise bad_request(f"invalid JSON patch operation {op!r}")
        parts = _pointer(op["path"])
        kind = op["op"]
        if kind == "add":
            doc = _add(doc, parts, json_copy(op.get("value")))
        elif kind == "remove":
            _remove(doc, parts)
        elif kind == "replace":
            _remove(doc, parts)
            doc = _add(doc, parts, json_copy(op.get("value")))
        elif kind in ("move", "copy"):
            source = _pointer(op.get("from", ""))
            value = _remove(doc, source) if kind == "move" else json_copy(_container(doc, source))
            doc = _add(doc, parts, value)
        elif kind == "test":
            if _container(doc, parts) != op.get("value"):
                raise ApiError(422, "Invalid", f"JSON patch test failed at {op['path']}")
        else:
            raise bad_request(f"unsupported JSON patch operation {kind!r}")
    return doc
