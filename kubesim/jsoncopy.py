"""A fast deep copy for JSON-shaped values (what the store holds).

Stored objects are dicts and lists of str/int/float/bool/None, so a deep copy only has to
rebuild the dicts and lists: the scalars are immutable and can be shared. ``copy.deepcopy``
pays for generality (a memo dict, per-type dispatch, ``__deepcopy__`` lookups) on every
node; on a typical pod this helper is about 4x faster, and about 2.5x faster than a
``json.loads(json.dumps(...))`` round trip (measured on a ~3 KB pod with Python 3.11:
deepcopy 86 us, JSON round trip 54 us, :func:`json_copy` 20 us).

Invariants:

* every dict and list reachable from the argument is a new object in the result, so the
  copy and the original can be mutated independently;
* exact ``dict``/``list`` instances are copied as ``dict``/``list``; any value of a type
  other than those and the JSON scalars (a tuple or a dict subclass from a Python caller)
  falls back to ``copy.deepcopy``, so nothing mutable is ever shared;
* shared sub-objects are copied once per reference (JSON has no aliasing), and cyclic
  structures are not supported (JSON cannot express them).
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

__all__ = ["json_copy"]

_T = TypeVar("_T")
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _copy_dict(source: dict[Any, Any]) -> dict[Any, Any]:
    # Shallow-copy first (fast, in C), then replace only the nested containers.
    result = source.copy()
    for key, value in source.items():
        kind = type(value)
        if kind is dict:
            result[key] = _copy_dict(value)
        elif kind is list:
            result[key] = _copy_list(value)
        elif kind not in _SCALARS:
            result[key] = copy.deepcopy(value)
    return result


def _copy_list(source: list[Any]) -> list[Any]:
    result = source.copy()
    for index, value in enumerate(source):
        kind = type(value)
        if kind is dict:
            result[index] = _copy_dict(value)
        elif kind is list:
            result[index] = _copy_list(value)
        elif kind not in _SCALARS:
            result[index] = copy.deepcopy(value)
    return result


def json_copy(value: _T) -> _T:
    """A deep copy of ``value`` that shares no dict or list with it (see module docstring)."""
    kind = type(value)
    if kind is dict:
        return _copy_dict(value)  # type: ignore[arg-type,return-value]
    if kind is list:
        return _copy_list(value)  # type: ignore[arg-type,return-value]
    if kind in _SCALARS:
        return value
    return copy.deepcopy(value)
