"""The two ways a Gafaelfawr lookup fails, which callers must treat differently.

A rejected token is the caller's problem (the web layer answers 401); an unavailable
Gafaelfawr is ours (the web layer answers 502 and operators are told). Neither message ever
contains the token.
"""

from __future__ import annotations

__all__ = ["GafaelfawrError", "GafaelfawrTokenRejected", "GafaelfawrUnavailable"]


class GafaelfawrError(Exception):
    """A Gafaelfawr lookup did not produce an answer."""


class GafaelfawrTokenRejected(GafaelfawrError):
    """Gafaelfawr answered 401 or 403: the token is unknown, expired or malformed."""


class GafaelfawrUnavailable(GafaelfawrError):
    """Gafaelfawr could not be asked or gave an unusable answer (5xx, other unexpected
    statuses, network errors, timeouts, undecodable bodies). Never cached."""
