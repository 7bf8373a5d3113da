"""Browser sessions of the admin dashboard in direct authentication mode.

A browser cannot attach a bearer token to every request (nor to a WebSocket handshake), so
the sign-in page trades the operator's token for a session: a random identifier in a cookie,
mapped here to the token and a CSRF token. The token stays in this process's memory only
(never in the cookie, never in a log) and is checked with Gafaelfawr again on every request,
so revoking it ends the session within ``auth.cacheSeconds``.

The store is bounded (``MAX_SESSIONS``; signing in past it forgets the session that expires
first) and every session expires after ``SESSION_LIFETIME`` or at its token's own expiry,
whichever comes first. Sessions do not survive a restart of the controller: operators sign
in again.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["MAX_SESSIONS", "SESSION_LIFETIME", "Session", "SessionStore"]

SESSION_LIFETIME = 8 * 3600.0
"""Seconds a session lasts at most (a working day)."""

MAX_SESSIONS = 1000
"""Sessions kept at most."""


@dataclass(frozen=True)
class Session:
    """One signed-in browser; ``token`` is the operator's bearer token (hidden from repr)."""

    id: str = field(repr=False)
    token: str = field(repr=False)
    csrf: str = field(repr=False)
    username: str
    expires: float


class SessionStore:
    """Sessions by identifier, bounded and expiring (wall clock: cookies live in it too)."""

    def __init__(
        self, *, max_sessions: int = MAX_SESSIONS, clock: Callable[[], float] = time.time
    ) -> None:
        self._sessions: dict[str, Session] = {}
        self._max = max_sessions
        self._clock = clock

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, token: str, username: str, token_expires: float | None) -> Session:
        """A new session for ``token``; lives until the sooner of its lifetime and the token's."""
        now = self._clock()
        self._forget_expired(now)
        while len(self._sessions) >= self._max:
            soonest = min(self._sessions.values(), key=lambda s: s.expires)
            del self._sessions[soonest.id]
        expires = now + SESSION_LIFETIME
        if token_expires is not None:
            expires = min(expires, token_expires)
        session = Session(
            id=secrets.token_urlsafe(32),
            token=token,
            csrf=secrets.token_urlsafe(32),
            username=username,
            expires=expires,
        )
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session with this identifier, if any."""
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        if session.expires <= self._clock():
            del self._sessions[session.id]
            return None
        return session

    def drop(self, session_id: str | None) -> None:
        """Sign out."""
        if session_id:
            self._sessions.pop(session_id, None)

    def _forget_expired(self, now: float) -> None:
        for session in [s for s in self._sessions.values() if s.expires <= now]:
            del self._sessions[session.id]


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a presented CSRF token."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
