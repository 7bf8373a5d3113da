"""The platform's username rule, in one place for every part that takes a username.

A username becomes part of Kubernetes names and API paths (the lab namespace is
``<namespacePrefix>-<username>``, the lab pod ``<username>-nb``, a file server
``<username>-fs``), of label values, of home directory paths and of ``/etc/passwd`` inside
the lab. A value outside the rule could address another user's objects or break those
names, so the web layer refuses it before anything acts on it, and the migrator checks its
pairs with the same function.

The pattern is the platform's own (lower-case letters, digits, single hyphens between them,
at least one letter). The length limit is ours: 32 characters, the longest login name Linux
tools such as ``useradd`` accept, which the lab's ``/etc/passwd`` needs. It also keeps every
derived name a valid Kubernetes name (at most 63 characters) as long as the namespace prefix
has at most 30 characters (``63 - 1 - 32``).
"""

from __future__ import annotations

import re

__all__ = [
    "MAX_USERNAME_LENGTH",
    "USERNAME_PATTERN",
    "USERNAME_RULE",
    "is_valid_username",
]

MAX_USERNAME_LENGTH = 32
"""Longest accepted username (see the module docstring for why 32)."""

USERNAME_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9]|-[a-z0-9])*[a-z](?:[a-z0-9]|-[a-z0-9])*")
"""The platform's username syntax; use it with ``fullmatch`` (``match`` plus ``$`` would let a
trailing newline through)."""

USERNAME_RULE = (
    f"Invalid username: a username has at most {MAX_USERNAME_LENGTH} characters, all"
    " lower-case letters a-z, digits or single hyphens between them, and at least one letter"
    f" (^{USERNAME_PATTERN.pattern}$)"
)
"""The message of every refusal: the rule in words and as the regular expression."""


def is_valid_username(value: str) -> bool:
    """Whether ``value`` is a username the controller acts on.

    The length is checked first: the pattern backtracks quadratically on long strings
    without a letter, and header or path values can be long.
    """
    return len(value) <= MAX_USERNAME_LENGTH and USERNAME_PATTERN.fullmatch(value) is not None
