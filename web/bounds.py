"""Limits on what a request may send and on what an error reply may say back.

A request body is at most :data:`MAX_BODY_BYTES`; the error bodies built from it are strict
JSON and small whatever the request held. Error bodies are bounded because validation errors
quote the client: pydantic echoes each offending value (``input``, ``ctx``), messages name
keys and values, and a body with thousands of bad values yields thousands of errors. Without
bounds a hostile 1 MiB body could come back as a reply of many MiB, and a ``NaN`` or
``Infinity`` in the body would come back as a reply that is not JSON at all.

Every bound here is counted in characters of the *JSON text* (a character that JSON escapes
counts as its escape, up to 12 characters), so an error body never exceeds
:data:`MAX_ERROR_BODY_BYTES`. ``docs/limits.md`` describes the rules for clients.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "BODY_TIMEOUT_SECONDS",
    "MAX_BODY_BYTES",
    "MAX_DETAIL_ITEMS",
    "MAX_ECHO_CHARS",
    "MAX_ERROR_BODY_BYTES",
    "MAX_LOC_PARTS",
    "MAX_LOC_PART_CHARS",
    "MAX_MESSAGE_CHARS",
    "TRUNCATION_MARK",
    "bounded_detail",
    "bounded_loc",
    "cut",
    "echo",
]

MAX_BODY_BYTES = 1024 * 1024
"""Largest request body accepted (1 MiB); larger ones are refused with 413. The largest
legitimate body, a lab create carrying JupyterHub's environment, is a few KiB."""

BODY_TIMEOUT_SECONDS = 60
"""How long a client may take to send its whole body before the request fails with 408."""

MAX_DETAIL_ITEMS = 10
"""Validation items returned at most; the rest are counted in one ``too_many_errors`` item."""

MAX_MESSAGE_CHARS = 1000
"""``msg`` (which may quote the client, e.g. an image reference) is cut to this length."""

MAX_LOC_PARTS = 8
MAX_LOC_PART_CHARS = 128
"""``loc`` keeps at most this many parts, each string part cut to this length (a ``loc`` can
name a key the client chose, such as an environment variable's name)."""

MAX_ECHO_CHARS = 256
"""An echoed ``input`` or ``ctx`` value is returned unchanged only if its JSON is at most this
long; otherwise a short string stands in for it (see :func:`echo`)."""

MAX_CTX_KEYS = 4
"""``ctx`` entries kept per item (pydantic's have one to three)."""

MAX_ERROR_BODY_BYTES = 32 * 1024
"""No error body is longer than this. With the limits above an item needs at most about
3 KiB, so ten items fit; :func:`bounded_detail` drops items beyond it all the same."""

TRUNCATION_MARK = "..."
"""Appended to a string that was cut."""

_SHORT_ESCAPES = frozenset('"\\\b\f\n\r\t')


def _json_cost(char: str) -> int:
    """Characters ``char`` takes in ``json.dumps`` output (which escapes non-ASCII)."""
    if char in _SHORT_ESCAPES:
        return 2
    if " " <= char <= "~":
        return 1
    return 12 if ord(char) > 0xFFFF else 6


def cut(text: str, limit: int) -> str:
    """``text`` if its JSON form fits in ``limit`` characters, else its longest fitting start
    followed by :data:`TRUNCATION_MARK`. Work is bounded by ``limit``, not by ``len(text)``."""
    if len(text) * 12 <= limit:
        return text
    cost = 0
    for index, char in enumerate(text):
        cost += _json_cost(char)
        if cost > limit:
            return text[:index] + TRUNCATION_MARK
    return text


def bounded_loc(loc: Any) -> list[str | int]:
    """A ``loc`` list with at most :data:`MAX_LOC_PARTS` parts, each short."""
    if not isinstance(loc, (list, tuple)):
        return [cut(str(loc), MAX_LOC_PART_CHARS)]
    parts: list[str | int] = []
    for part in loc[:MAX_LOC_PARTS]:
        if isinstance(part, int) and not isinstance(part, bool) and abs(part) < 2**63:
            parts.append(part)
        else:
            parts.append(cut(str(part), MAX_LOC_PART_CHARS))
    return parts


class _TooBig(Exception):
    """Raised inside :func:`_copy_within` when a value does not fit its echo budget."""


_MAX_ECHO_DEPTH = 8


def _copy_within(value: Any, budget: list[int], depth: int) -> Any:
    # A strict-JSON copy of `value`, spending its JSON length from `budget`; raises _TooBig as
    # soon as the budget is spent, so the work is bounded by the budget as well.
    if value is None or isinstance(value, bool):
        budget[0] -= 5
    elif isinstance(value, int):
        if value.bit_length() > 64:  # str() of a huge int is slow (or refused)
            raise _TooBig
        budget[0] -= 20
    elif isinstance(value, float):
        budget[0] -= 24
        if math.isnan(value):
            value = "NaN"
        elif math.isinf(value):
            value = "Infinity" if value > 0 else "-Infinity"
    elif isinstance(value, (bytes, bytearray)):
        text = bytes(value[: MAX_ECHO_CHARS + 1]).decode("utf-8", "replace")
        if len(value) > MAX_ECHO_CHARS:
            raise _TooBig
        return _copy_within(text, budget, depth)
    elif isinstance(value, str):
        if cut(value, budget[0]) is not value:
            raise _TooBig
        budget[0] -= 2 + sum(_json_cost(char) for char in value)
    elif isinstance(value, (Mapping, list, tuple)):
        if depth >= _MAX_ECHO_DEPTH:
            raise _TooBig
        budget[0] -= 2
        if isinstance(value, Mapping):
            copied: dict[str, Any] = {}
            for key, item in value.items():
                name = _copy_within(str(key), budget, depth + 1)
                copied[name] = _copy_within(item, budget, depth + 1)
            value = copied
        else:
            value = [_copy_within(item, budget, depth + 1) for item in value]
    else:
        # Exceptions in `ctx`, enum members and such: their text, bounded like any string.
        return _copy_within(str(value), budget, depth)
    if budget[0] < 0:
        raise _TooBig
    return value


def echo(value: Any) -> Any:
    """A strict-JSON, bounded stand-in for a value echoed back to the client.

    Small values come back unchanged, except that non-finite floats become the strings
    ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` and bytes are decoded as UTF-8 (with
    replacement characters). A value whose JSON would be longer than :data:`MAX_ECHO_CHARS`
    is replaced by a string: the start of a long string followed by ``...``, or a description
    such as ``<object with 3000 keys>``.
    """
    try:
        return _copy_within(value, [MAX_ECHO_CHARS], 0)
    except _TooBig:
        return _stand_in(value)


def _stand_in(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value[:MAX_ECHO_CHARS]).decode("utf-8", "replace")
    if isinstance(value, str):
        return cut(value, MAX_ECHO_CHARS // 2)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"<integer of {value.bit_length()} bits>"
    if isinstance(value, Mapping):
        return f"<object with {len(value)} keys>"
    if isinstance(value, (list, tuple)):
        return f"<array of {len(value)} items>"
    return cut(type(value).__name__, MAX_LOC_PART_CHARS)


def _bounded_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """One validation item in the documented shape, every part bounded and JSON-safe."""
    bounded: dict[str, Any] = {"type": cut(str(item.get("type", "value_error")), 64)}
    if "loc" in item:
        bounded["loc"] = bounded_loc(item["loc"])
    bounded["msg"] = cut(str(item.get("msg", "")), MAX_MESSAGE_CHARS)
    if "input" in item:
        bounded["input"] = echo(item["input"])
    ctx = item.get("ctx")
    if isinstance(ctx, Mapping) and ctx:
        bounded["ctx"] = {
            cut(str(key), MAX_LOC_PART_CHARS): echo(value)
            for key, value in list(ctx.items())[:MAX_CTX_KEYS]
        }
    return bounded


def bounded_detail(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The ``detail`` list of a validation error: bounded items, then the count of the rest.

    At most :data:`MAX_DETAIL_ITEMS` items are kept, fewer if their JSON would pass
    :data:`MAX_ERROR_BODY_BYTES`; the dropped ones are counted in a last item of type
    ``too_many_errors`` (no ``loc``).
    """
    detail: list[dict[str, Any]] = []
    size = len('{"detail": []}') + 100  # room for the too_many_errors item
    for item in items[:MAX_DETAIL_ITEMS]:
        bounded = _bounded_item(item)
        size += len(json.dumps(bounded)) + 2
        if size > MAX_ERROR_BODY_BYTES and detail:
            break
        detail.append(bounded)
    hidden = len(items) - len(detail)
    if hidden > 0:
        detail.append({"msg": f"{hidden} more errors not shown", "type": "too_many_errors"})
    return detail
