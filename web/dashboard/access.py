"""Who may use the admin dashboard's routes, in each authentication mode.

* **Ingress mode**: the ingress in front enforces ``exec:admin`` on ``{prefix}/admin/…`` (as
  on every admin route) and signs browsers in itself; the identity header names the operator.
* **Direct mode**: an ``Authorization: Bearer`` token with ``exec:admin`` (the command line),
  or the session cookie the sign-in page issued (a browser). The session's token is checked
  with Gafaelfawr on every request, so a revoked token or a removed scope ends the session.

The cookie is honoured by the dashboard's own routes only: it can never stand in for a token
on the rest of the API.

Actions that change something (``POST``/``DELETE``) must carry the ``X-CSRF-Token`` header
with the value ``GET {prefix}/admin/session`` gave the page (a session's own random token;
behind the ingress, a keyed digest of the operator's name): another site can make a browser
send its cookies, but it can neither read that value nor set that header. A bearer token is
not sent by browsers on their own, so requests made with one need no such header. Cookie-
authenticated WebSocket handshakes must come from the controller's own origin.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import structlog
from quart import has_websocket_context, request, websocket
from werkzeug.datastructures import Headers

from actors.config.auth import AuthMode
from actors.errors import PermissionDeniedError
from actors.gafaelfawr import GafaelfawrTokenRejected, GafaelfawrUnavailable, TokenInfo
from web.auth import (
    SCOPE_BY_GROUP,
    USER_HEADER,
    AuthenticationUnavailableError,
    BearerTokenError,
    RouteGroup,
    require_group,
)
from web.dashboard.sessions import Session, SessionStore, same_secret
from web.state import current_state

__all__ = [
    "ADMIN_SCOPE",
    "COOKIE_NAME",
    "CSRF_HEADER",
    "DashboardAccess",
    "Operator",
    "SignInRequired",
    "dashboard_access",
    "dashboard_operator",
    "ensure_csrf",
    "install_access",
    "token_info",
]

_log = structlog.stdlib.get_logger(__name__)

COOKIE_NAME = "nublado_dashboard"
CSRF_HEADER = "X-CSRF-Token"
ADMIN_SCOPE = SCOPE_BY_GROUP[RouteGroup.ADMIN]


class SignInRequired(BearerTokenError):
    """Direct mode, no token and no live session (401; the page sends the browser to sign in)."""

    challenge = "Bearer"
    default_message = "Authentication required"


@dataclass
class DashboardAccess:
    """The dashboard's per-app state: its sessions and the key of ingress-mode CSRF tokens."""

    sessions: SessionStore = field(default_factory=SessionStore)
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def ingress_csrf(self, username: str | None) -> str:
        digest = hmac.new(self.key, (username or "").encode(), hashlib.sha256)
        return digest.hexdigest()


_EXTENSION_KEY = "nublado_dashboard"


def dashboard_access() -> DashboardAccess:
    """The dashboard state of the serving app (installed by ``install_dashboard``)."""
    from quart import current_app

    access = current_app.extensions[_EXTENSION_KEY]
    assert isinstance(access, DashboardAccess)
    return access


@dataclass(frozen=True)
class Operator:
    """Who is using the dashboard: name (if known), how, and the CSRF token the page echoes."""

    username: str | None
    via: str
    csrf: str = field(repr=False)
    expires: float | None = None


def _headers() -> Headers:
    return websocket.headers if has_websocket_context() else request.headers


async def token_info(token: str) -> TokenInfo:
    """Gafaelfawr's answer for ``token``; 401 when rejected, 502 when it cannot answer."""
    try:
        return await current_state().gafaelfawr.token_info(token)
    except GafaelfawrTokenRejected:
        raise BearerTokenError() from None
    except GafaelfawrUnavailable:
        raise AuthenticationUnavailableError() from None


def _same_origin() -> bool:
    """Whether the request's ``Origin`` (when sent) is this controller's own."""
    origin = _headers().get("Origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    host = websocket.host if has_websocket_context() else request.host
    return parts.netloc == host


async def _session_operator(session: Session) -> Operator:
    access = dashboard_access()
    try:
        info = await token_info(session.token)
    except BearerTokenError:
        access.sessions.drop(session.id)
        raise SignInRequired() from None
    if not info.has_scope(ADMIN_SCOPE):
        access.sessions.drop(session.id)
        raise PermissionDeniedError(f"Permission denied: the {ADMIN_SCOPE} scope is required")
    return Operator(session.username, "session", session.csrf, session.expires)


async def dashboard_operator(*, unsafe: bool = False) -> Operator:
    """Authorize the current dashboard request; ``unsafe`` for actions (CSRF-checked).

    Raises 401 (no credentials), 403 (no ``exec:admin``, wrong CSRF token or foreign origin)
    or 502 (Gafaelfawr unavailable), like the rest of the API.
    """
    access = dashboard_access()
    headers = _headers()
    ingress = current_state().config.auth.mode is AuthMode.INGRESS
    if not ingress and headers.get("Authorization") is not None:
        await require_group(RouteGroup.ADMIN)
        return Operator(None, "bearer", "")
    # A browser from here on: its credentials (our cookie, or the ingress's) are ambient.
    if not _same_origin():
        _log.info("Dashboard request from a foreign origin refused")
        raise PermissionDeniedError("Permission denied: request from another site")
    if ingress:
        username = headers.get(USER_HEADER)
        operator = Operator(username, "ingress", access.ingress_csrf(username))
    else:
        session = access.sessions.get(_cookie())
        if session is None:
            raise SignInRequired()
        operator = await _session_operator(session)
    if unsafe:
        ensure_csrf(operator)
    return operator


def ensure_csrf(operator: Operator) -> None:
    """Refuse (403) an action whose ``X-CSRF-Token`` is not the operator's; bearer callers
    need none. Routes with a path username call it after checking the name, as the API
    checks usernames before a route's own checks."""
    if operator.via == "bearer":
        return
    if not same_secret(_headers().get(CSRF_HEADER), operator.csrf):
        _log.info("Dashboard action without a valid CSRF token refused")
        raise PermissionDeniedError(f"Permission denied: missing or wrong {CSRF_HEADER} header")


def _cookie() -> str | None:
    cookies = websocket.cookies if has_websocket_context() else request.cookies
    return cookies.get(COOKIE_NAME)


def install_access(extensions: dict[str, object]) -> DashboardAccess:
    """Attach a fresh dashboard state to an app's ``extensions``."""
    access = DashboardAccess()
    extensions[_EXTENSION_KEY] = access
    return access
