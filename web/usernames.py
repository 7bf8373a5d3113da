"""Refusing usernames that break the platform rule, the same way wherever they come from.

A username reaches the controller as a route's ``{username}``, as the caller's identity
(``X-Auth-Request-User`` behind the ingress, the bearer token's owner in direct mode) or in
the migrator's body and query. Each is checked with :func:`actors.usernames.is_valid_username`
as soon as it is read, before any actor or the Kubernetes API sees it, and refused with one
answer: **422** ``{"detail": [{"loc": [...], "msg": USERNAME_RULE, "type":
"invalid_username"}]}``. ``loc`` says where the name came from (:data:`PATH`,
:data:`INGRESS_IDENTITY`, :data:`TOKEN_IDENTITY`, or ``[body|query, old_user|new_user]``).

The offending value is deliberately not echoed (no ``input``): the direct-mode identity is
not a value the request contained, and a refusal need not carry arbitrary caller bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from actors.usernames import USERNAME_RULE, is_valid_username
from web.errors import RequestValidationError

__all__ = [
    "INGRESS_IDENTITY",
    "INVALID_USERNAME",
    "PATH",
    "TOKEN_IDENTITY",
    "path_username",
    "require_username",
]

_log = structlog.stdlib.get_logger(__name__)

INVALID_USERNAME = "invalid_username"
"""The ``type`` of every username refusal."""

PATH = ("path", "username")
"""A route's ``{username}``."""

INGRESS_IDENTITY = ("header", "x-auth-request-user")
"""The identity the Gafaelfawr ingress forwards."""

TOKEN_IDENTITY = ("header", "authorization")
"""Direct mode: the owner of the bearer token, as Gafaelfawr reports it."""

_LOGGED_PREFIX = 64
"""How much of a refused value is logged (enough to recognise it, never a whole header)."""


def require_username(value: str, loc: Sequence[str]) -> str:
    """``value`` if it is a valid username, else the 422 refusal located at ``loc``."""
    if is_valid_username(value):
        return value
    _log.info(
        "Invalid username refused",
        loc=list(loc),
        username=repr(value[:_LOGGED_PREFIX]),
        length=len(value),
    )
    raise RequestValidationError(
        [{"loc": list(loc), "msg": USERNAME_RULE, "type": INVALID_USERNAME}]
    )


def path_username(value: str) -> str:
    """A route's ``{username}``, checked (422 at ``["path", "username"]``)."""
    return require_username(value, PATH)
