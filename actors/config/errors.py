"""``ConfigError`` and the translation of pydantic errors into messages for operators.

An operator needs to know *which key* is wrong and *why*, spelled as in their file. pydantic
locations contain internal parts (union tags) and, for rules spanning several keys, only the
model's location; this module walks the input data along each location to recover the key
as written (camelCase or snake_case), drops internal parts, and expands cross-field errors
into one line per offending key. Input values are never echoed: they may be secrets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from .base import CROSS_FIELD_ERROR, find_key

__all__ = ["ConfigError", "config_error_from_validation", "render_location"]


class ConfigError(Exception):
    """The configuration cannot be used; ``str(error)`` names every bad key and why.

    ``problems`` holds one ``"<dotted.path>: <reason>"`` line per problem, for callers that
    want to present them differently.
    """

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = tuple(problems)


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_MESSAGE_PREFIXES = ("Value error, ", "Assertion failed, ")
_FRIENDLY = {
    "extra_forbidden": "unknown key",
    "missing": "required key is missing",
}


def render_location(location: Iterable[str | int], data: Any) -> str:
    """Render a pydantic location as ``lab.sizes[1].cpu``, spelled as in ``data``."""
    text = ""
    current: Any = data
    for part in location:
        if isinstance(part, str) and part.startswith("<") and part.endswith(">"):
            continue  # union tag added by pydantic, not a key of the input
        if part == "[key]":
            text += " (the key itself)"
            current = None
            continue
        if isinstance(current, Mapping):
            key = part if part in current else None
            if key is None and isinstance(part, str):
                key = find_key(current, part)
            if key is not None:
                part = key
            current = current.get(key) if key is not None else None
            text += _render_key(part, first=not text)
        elif isinstance(part, int):
            in_range = isinstance(current, list) and 0 <= part < len(current)
            current = current[part] if in_range else None
            text += f"[{part}]"
        else:
            current = None
            text += _render_key(part, first=not text)
    return text or "(top level)"


def _render_key(key: str | int, *, first: bool) -> str:
    if isinstance(key, str) and _PLAIN_KEY.match(key):
        return key if first else f".{key}"
    return f"[{json.dumps(key)}]"


def _message(error: Mapping[str, Any]) -> str:
    if error["type"] in _FRIENDLY:
        return _FRIENDLY[error["type"]]
    message = str(error["msg"])
    for prefix in _MESSAGE_PREFIXES:
        message = message.removeprefix(prefix)
    return message


def problems_from_validation(
    error: ValidationError, data: Any, env_sources: Mapping[str, str] | None = None
) -> list[str]:
    """One ``path: reason`` line per problem in ``error`` (validated input ``data``)."""
    env_sources = env_sources or {}
    problems: list[str] = []
    for item in error.errors(include_url=False, include_input=False):
        location = tuple(item["loc"])
        if item["type"] == CROSS_FIELD_ERROR:
            pairs = [(location + tuple(sub), reason) for sub, reason in item["ctx"]["issues"]]
        else:
            pairs = [(location, _message(item))]
        for full_location, reason in pairs:
            path = render_location(full_location, data)
            if path in env_sources:
                reason += f" (from environment variable {env_sources[path]})"
            problems.append(f"{path}: {reason}")
    return problems


def config_error_from_validation(
    error: ValidationError,
    data: Any,
    *,
    source: str | None = None,
    env_sources: Mapping[str, str] | None = None,
) -> ConfigError:
    """Build the ``ConfigError`` for a failed validation of ``data`` (read from ``source``)."""
    problems = problems_from_validation(error, data, env_sources)
    where = f" in {source}" if source else ""
    lines = "\n".join(f"  {problem}" for problem in problems)
    return ConfigError(f"invalid configuration{where}:\n{lines}", problems)
