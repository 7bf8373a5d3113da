"""Label and field selectors with the syntax and semantics of the Kubernetes API.

Label selectors: comma-separated requirements, each one of ``key=v``, ``key==v``, ``key!=v``,
``key in (a,b)``, ``key notin (a,b)``, ``key`` (exists), ``!key`` (does not exist),
``key>n`` / ``key<n``. As in Kubernetes, ``!=`` and ``notin`` also match objects that lack
the key. Field selectors: ``path=v``, ``path==v``, ``path!=v`` over a per-kind whitelist of
dotted paths (an unknown path is a 400, as on a real server). A malformed selector raises
``ApiError`` 400 ``BadRequest``; an empty selector matches everything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kubesim.errors import bad_request

_NAME = r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?"
_KEY = rf"(?:[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?/)?{_NAME}"
_VALUE = rf"(?:{_NAME})?"
_EXISTS = re.compile(rf"^(!?)\s*({_KEY})$")
_SET = re.compile(rf"^({_KEY})\s+(in|notin)\s*\((.*)\)$")
_EQUALITY = re.compile(rf"^({_KEY})\s*(==|=|!=)\s*({_VALUE})$")
_COMPARE = re.compile(rf"^({_KEY})\s*(<|>)\s*(-?\d+)$")
_VALUE_ONLY = re.compile(rf"^{_VALUE}$")


def _split_outside_parens(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


Matcher = Callable[[dict[str, str]], bool]


def _requirement(text: str) -> Matcher:
    if m := _EXISTS.match(text):
        negate, key = m.group(1) == "!", m.group(2)
        return (lambda labels: key not in labels) if negate else (lambda labels: key in labels)
    if m := _SET.match(text):
        key, op = m.group(1), m.group(2)
        values = frozenset(v.strip() for v in m.group(3).split(","))
        if not all(_VALUE_ONLY.match(v) for v in values) or values == {""}:
            raise bad_request(f"unable to parse requirement: invalid values in {text!r}")
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: key not in labels or labels[key] not in values
    if m := _EQUALITY.match(text):
        key, op, value = m.group(1), m.group(2), m.group(3)
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if m := _COMPARE.match(text):
        key, op, bound = m.group(1), m.group(2), int(m.group(3))

        def compare(labels: dict[str, str]) -> bool:
            try:
                number = int(labels[key])
            except (KeyError, ValueError):
                return False
            return number > bound if op == ">" else number < bound

        return compare
    raise bad_request(f"unable to parse requirement: found {text!r}, expected a label requirement")


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[Matcher, ...]

    @classmethod
    def parse(cls, text: str | None) -> LabelSelector:
        if not text or not text.strip():
            return cls(())
        return cls(tuple(_requirement(part.strip()) for part in _split_outside_parens(text)))

    def matches(self, labels: dict[str, str] | None) -> bool:
        labels = labels or {}
        return all(req(labels) for req in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


def field_value(obj: dict[str, Any], path: str) -> str:
    """The string form of dotted ``path`` in ``obj`` ("" when absent), as selectors see it."""
    node: Any = obj
    for part in path.split("."):
        if not isinstance(node, dict):
            return ""
        node = node.get(part)
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


@dataclass(frozen=True)
class FieldSelector:
    terms: tuple[tuple[str, bool, str], ...]  # (path, equal?, value)

    @classmethod
    def parse(cls, text: str | None, allowed: Iterable[str]) -> FieldSelector:
        if not text or not text.strip():
            return cls(())
        allowed_set = set(allowed)
        terms: list[tuple[str, bool, str]] = []
        for part in re.split(r"(?<!\\),", text):
            m = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
            if m is None:
                raise bad_request(f"invalid selector: {text!r}; can't understand {part!r}")
            path, op, value = m.groups()
            if path not in allowed_set:
                raise bad_request(f"field label not supported: {path}")
            terms.append((path, op != "!=", _unescape(value)))
        return cls(tuple(terms))

    def matches(self, obj: dict[str, Any]) -> bool:
        return all((field_value(obj, path) == value) == equal for path, equal, value in self.terms)

    @property
    def empty(self) -> bool:
        return not self.terms
