"""Strategic merge patch, as a real API server applies it to the built-in kinds.

A JSON merge patch replaces every list it touches; a strategic merge patch merges the lists
whose field declares a merge key (containers by ``name``, ports by ``containerPort``, ...: see
:data:`kubesim.schemas.PATCH_META`) and understands the directives ``kubectl apply`` sends:

* ``$patch: replace`` (in a map: the map replaces the stored one; as a list element: the
  list replaces the stored list) and ``$patch: delete`` (the map, or the list element with
  that merge key, is removed);
* ``$setElementOrder/<field>``: the order of a merged list (stored elements the order does
  not name keep their relative order after the named ones);
* ``$deleteFromPrimitiveList/<field>``: values to remove from a merged list of scalars;
* ``$retainKeys``: the keys a map keeps (the others are cleared), for fields whose strategy
  is ``retainKeys`` (volumes, a Deployment's ``strategy``);
* ``null`` removes a key, as in a merge patch.

Lists without a merge key are replaced, as in a merge patch. Custom resources (no Go types
on a real server) refuse strategic merge patches with 415, which is why ``kubectl`` sends
them merge patches.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from kubesim.errors import bad_request
from kubesim.jsoncopy import json_copy
from kubesim.schemas import PATCH_META, RETAIN_KEYS, fields_of

_ORDER = "$setElementOrder/"
_DELETE_FROM = "$deleteFromPrimitiveList/"


def strategic_merge(original: Any, patch: Any, model: type[BaseModel] | None) -> Any:
    """The result of applying ``patch`` to ``original`` (neither is modified)."""
    if not isinstance(patch, dict):
        raise bad_request("a strategic merge patch must be a JSON object")
    merged = _merge_map(original if isinstance(original, dict) else {}, patch, model)
    return {} if merged is None else merged


def _strip(value: Any) -> Any:
    """A patch value stored as it is: without directives."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not k.startswith("$") and v is not None}
    if isinstance(value, list):
        return [_strip(v) for v in value if not (isinstance(v, dict) and "$patch" in v)]
    return json_copy(value)


def _merge_map(
    original: dict[str, Any], patch: dict[str, Any], model: type[BaseModel] | None
) -> dict[str, Any] | None:
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    if directive == "replace":
        return _strip(patch)  # type: ignore[no-any-return]
    if directive not in (None, "merge"):
        raise bad_request(f"invalid $patch directive {directive!r}")
    known = fields_of(model) if model is not None else {}
    model_name = model.__name__ if model is not None else ""
    result = dict(original)
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith(_ORDER):
            continue
        if key.startswith(_DELETE_FROM):
            name = key[len(_DELETE_FROM) :]
            if isinstance(result.get(name), list) and isinstance(value, list):
                result[name] = [v for v in result[name] if v not in value]
            continue
        if key.startswith("$"):
            raise bad_request(f"unknown strategic merge patch directive {key!r}")
        if value is None:
            result.pop(key, None)
            continue
        field = known.get(key)
        inner = field.model if field is not None else None
        strategy, merge_key = PATCH_META.get((model_name, key), ("", ""))
        if isinstance(value, dict) and (field is None or field.shape != "map" or inner is None):
            current = result.get(key)
            sub_model = inner if field is not None and field.shape == "scalar" else None
            if field is not None and field.shape == "map":
                merged = _merge_map(current if isinstance(current, dict) else {}, value, None)
            else:
                merged = _merge_map(current if isinstance(current, dict) else {}, value, sub_model)
            if (model_name, key) in RETAIN_KEYS and merged is not None:
                merged = _retain(merged, value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, dict):
            # A map of objects (string keys to a model): merge each value.
            current = result.get(key) if isinstance(result.get(key), dict) else {}
            merged_map = dict(current or {})
            for map_key, element in value.items():
                if element is None:
                    merged_map.pop(map_key, None)
                elif isinstance(element, dict):
                    old = merged_map.get(map_key)
                    done = _merge_map(old if isinstance(old, dict) else {}, element, inner)
                    if done is None:
                        merged_map.pop(map_key, None)
                    else:
                        merged_map[map_key] = done
                else:
                    merged_map[map_key] = json_copy(element)
            result[key] = merged_map
        elif isinstance(value, list) and "merge" in strategy.split(","):
            current_list = result.get(key) if isinstance(result.get(key), list) else []
            result[key] = _merge_list(
                current_list or [], value, inner, merge_key, "retainKeys" in strategy
            )
        else:
            result[key] = _strip(value)
    for key, order in patch.items():
        if key.startswith(_ORDER) and isinstance(order, list):
            name = key[len(_ORDER) :]
            strategy, merge_key = PATCH_META.get((model_name, name), ("", ""))
            if isinstance(result.get(name), list):
                result[name] = _reorder(result[name], order, merge_key)
    return result


def _retain(merged: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    keep = patch.get("$retainKeys")
    if not isinstance(keep, list):
        return merged
    return {k: v for k, v in merged.items() if k in keep}


def _merge_list(
    original: list[Any],
    patch: list[Any],
    model: type[BaseModel] | None,
    merge_key: str,
    retain_keys: bool,
) -> list[Any]:
    if any(isinstance(e, dict) and e.get("$patch") == "replace" for e in patch):
        return [_strip(e) for e in patch if not (isinstance(e, dict) and "$patch" in e)]
    if not merge_key:
        result = list(original)
        for element in patch:
            if element not in result:
                result.append(json_copy(element))
        return result
    result = [json_copy(e) for e in original]
    for element in patch:
        if not isinstance(element, dict) or merge_key not in element:
            raise bad_request(
                f"a strategic merge patch list element must be an object with {merge_key!r}"
            )
        wanted = element[merge_key]
        index = next(
            (i for i, e in enumerate(result) if isinstance(e, dict) and e.get(merge_key) == wanted),
            None,
        )
        if element.get("$patch") == "delete":
            result = [e for e in result if not (isinstance(e, dict) and e.get(merge_key) == wanted)]
            continue
        base = result[index] if index is not None else {}
        merged = _merge_map(base, element, model)
        if merged is not None and retain_keys:
            merged = _retain(merged, element)
        if merged is None:
            if index is not None:
                del result[index]
        elif index is None:
            result.append(merged)
        else:
            result[index] = merged
    return result


def _reorder(items: list[Any], order: list[Any], merge_key: str) -> list[Any]:
    def key_of(element: Any) -> Any:
        if merge_key and isinstance(element, dict):
            return element.get(merge_key)
        return element

    wanted = [key_of(e) for e in order]
    named = sorted((e for e in items if key_of(e) in wanted), key=lambda e: wanted.index(key_of(e)))
    rest = [e for e in items if key_of(e) not in wanted]
    return named + rest
