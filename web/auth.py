"""Who is calling, and may they: the checks of ``api.md`` §2.3, in two modes.

Every route calls exactly one of these first, before it reads its body, so that the order of
evaluation of §2.3 holds (headers → Gafaelfawr → username match → body → route checks):

==========================================  =====================  ==========================
call                                        ingress mode (spec)    direct mode (extension)
==========================================  =====================  ==========================
``await require_group(RouteGroup.HUB)``     nothing (A)            bearer + ``admin:jupyterlab``
``await require_group(RouteGroup.ADMIN)``   nothing (A)            bearer + ``exec:admin``
``await header_identity(path_username)``    X-Auth-Request-User    bearer + ``exec:notebook``;
                                            (B)                    the token's owner
``await delegated_user()``                  both headers +         bearer + ``exec:notebook``;
                                            user-info (C)          the bearer is the delegated
                                                                   token
``await files_user()``                      as ``delegated_user``  bearer + ``write:files``
==========================================  =====================  ==========================

``delegated_user`` and ``files_user`` return a :class:`Caller`; a route with a ``{username}``
path parameter then checks it with ``web.usernames.path_username`` and calls
``caller.ensure_owns(username)`` *after* validating its body (that check is a route check in
§2.3). ``header_identity`` is only used by routes without a body, so
it checks the path username itself.

Every username these functions return or compare is first checked against the platform's
username rule (``web.usernames``): the identity as soon as it is known (before Gafaelfawr is
asked about a delegated token behind the ingress), then ``path_username``, and only then
are the two compared. A broken name is a 422 ``invalid_username`` located at the identity
(``["header", "x-auth-request-user"]``, or ``["header", "authorization"]`` for a direct-mode
token) or at ``["path", "username"]``.

Failures are :mod:`actors.errors` refusals rendered by ``web.errors``: 422 for missing headers,
401 ``invalid_token``, 403 ``permission_denied``. In direct mode the 401 also carries a
``WWW-Authenticate: Bearer`` challenge (:class:`BearerTokenError`, rendered by the handler
that :func:`register_auth_error_handlers` installs). When Gafaelfawr cannot answer, every mode
answers 502 ``gafaelfawr_unavailable`` (:class:`AuthenticationUnavailableError`): the spec
allows a plain 500 there, and a named 502 tells operators where to look.

Tokens are never logged nor put in an error; ``Caller`` hides its token from ``repr``.
The functions work in HTTP and WebSocket handlers alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

import structlog
from quart import Response, has_websocket_context, request, websocket
from quart_trio import QuartTrio
from werkzeug.datastructures import Headers

from actors.common.models import UserInfo
from actors.config.auth import AuthMode
from actors.errors import ControllerError, InvalidTokenError, PermissionDeniedError
from actors.gafaelfawr import (
    GafaelfawrClient,
    GafaelfawrTokenRejected,
    GafaelfawrUnavailable,
    TokenInfo,
)
from web.errors import RequestValidationError, error_body
from web.state import current_state
from web.usernames import INGRESS_IDENTITY, PATH, TOKEN_IDENTITY, require_username

__all__ = [
    "SCOPE_BY_GROUP",
    "TOKEN_HEADER",
    "USER_HEADER",
    "AuthenticationUnavailableError",
    "BearerTokenError",
    "Caller",
    "RouteGroup",
    "delegated_user",
    "files_user",
    "header_identity",
    "register_auth_error_handlers",
    "require_group",
]

_log = structlog.stdlib.get_logger(__name__)

USER_HEADER = "X-Auth-Request-User"
"""Set by the Gafaelfawr ingress: the authenticated caller's username."""

TOKEN_HEADER = "X-Auth-Request-Token"
"""Set by the Gafaelfawr ingress on delegating routes: a token issued for the caller."""


class RouteGroup(StrEnum):
    """The caller classes of ``api.md`` §2.2; each route belongs to exactly one."""

    HUB = "hub"
    USER = "user"
    FILES = "files"
    ADMIN = "admin"


SCOPE_BY_GROUP: dict[RouteGroup, str] = {
    RouteGroup.HUB: "admin:jupyterlab",
    RouteGroup.USER: "exec:notebook",
    RouteGroup.FILES: "write:files",
    RouteGroup.ADMIN: "exec:admin",
}
"""The Gafaelfawr scope a token needs for each group (what the ingress enforces upstream)."""


@dataclass(frozen=True)
class Caller:
    """An authenticated user: the name, the delegated token and Gafaelfawr's user record.

    ``token`` is what a lab's secret receives (``X-Auth-Request-Token`` behind the ingress,
    the caller's own bearer token in direct mode); it never appears in ``repr``.
    """

    username: str
    token: str = field(repr=False)
    user: UserInfo

    def ensure_owns(self, username: str) -> None:
        """Refuse (403 ``permission_denied``) a path that names another user."""
        if username != self.username:
            _log.info("Permission denied", caller=self.username, path_username=username)
            raise PermissionDeniedError()


class BearerTokenError(InvalidTokenError):
    """Direct mode: no usable ``Authorization: Bearer`` token (401 with a challenge)."""

    challenge: ClassVar[str] = 'Bearer error="invalid_token"'


class _BearerTokenMissing(BearerTokenError):
    # RFC 6750 §3.1: a request without credentials gets a challenge without an error code.
    challenge = "Bearer"
    default_message = "Authentication required"


class AuthenticationUnavailableError(ControllerError):
    """Gafaelfawr could not answer, so nobody can be authenticated (502)."""

    error_type = "gafaelfawr_unavailable"
    status = 502
    default_message = "Authentication service unavailable"


def _headers() -> Headers:
    return websocket.headers if has_websocket_context() else request.headers


def _missing_header(name: str) -> dict[str, Any]:
    return {
        "type": "missing",
        "loc": ["header", name.lower()],
        "msg": "Field required",
        "input": None,
    }


def _required_headers(*names: str) -> list[str]:
    """The values of ``names``; if any is absent, one 422 listing every absent one."""
    headers = _headers()
    values = [headers.get(name) for name in names]
    missing = [
        _missing_header(name) for name, value in zip(names, values, strict=True) if value is None
    ]
    if missing:
        raise RequestValidationError(missing)
    return [value for value in values if value is not None]


def _mode() -> AuthMode:
    return current_state().config.auth.mode


def _gafaelfawr() -> GafaelfawrClient:
    return current_state().gafaelfawr


def _bearer_token() -> str:
    scheme, _, credentials = _headers().get("Authorization", "").partition(" ")
    token = credentials.strip()
    if scheme.lower() != "bearer" or not token:
        raise _BearerTokenMissing()
    return token


async def _token_info(token: str) -> TokenInfo:
    try:
        return await _gafaelfawr().token_info(token)
    except GafaelfawrTokenRejected:
        _log.info("Bearer token rejected by Gafaelfawr")
        raise BearerTokenError() from None
    except GafaelfawrUnavailable:
        raise AuthenticationUnavailableError() from None


async def _user_info(token: str, *, direct: bool) -> UserInfo:
    try:
        return await _gafaelfawr().user_info(token)
    except GafaelfawrTokenRejected:
        _log.info("Delegated token rejected by Gafaelfawr")
        raise (BearerTokenError() if direct else InvalidTokenError()) from None
    except GafaelfawrUnavailable:
        raise AuthenticationUnavailableError() from None


async def _scoped_token(group: RouteGroup) -> tuple[str, TokenInfo]:
    """Direct mode: the request's bearer token and its info, if it has ``group``'s scope."""
    token = _bearer_token()
    info = await _token_info(token)
    scope = SCOPE_BY_GROUP[group]
    if not info.has_scope(scope):
        _log.info("Token lacks the route's scope", username=info.username, scope=scope)
        raise PermissionDeniedError(f"Permission denied: the {scope} scope is required")
    return token, info


async def require_group(group: RouteGroup) -> None:
    """Mechanism (A) for a hub or admin route: nothing behind the ingress (it enforced the
    scope); in direct mode a bearer token with the group's scope is required."""
    if _mode() is AuthMode.DIRECT:
        await _scoped_token(group)


async def header_identity(path_username: str | None = None) -> str:
    """Mechanism (B): the caller's username, equal to ``path_username`` when one is given.

    Behind the ingress it is ``X-Auth-Request-User`` (422 when absent or not a valid
    username), not validated further; in direct mode it is the owner of a bearer token with
    the ``exec:notebook`` scope.
    """
    if _mode() is AuthMode.DIRECT:
        _, info = await _scoped_token(RouteGroup.USER)
        username = require_username(info.username, TOKEN_IDENTITY)
    else:
        [username] = _required_headers(USER_HEADER)
        require_username(username, INGRESS_IDENTITY)
    if path_username is not None:
        require_username(path_username, PATH)
        if path_username != username:
            _log.info("Permission denied", caller=username, path_username=path_username)
            raise PermissionDeniedError()
    return username


async def _delegated(group: RouteGroup) -> Caller:
    if _mode() is AuthMode.DIRECT:
        token, info = await _scoped_token(group)
        require_username(info.username, TOKEN_IDENTITY)
        user = await _user_info(token, direct=True)
        username = require_username(user.username, TOKEN_IDENTITY)
        return Caller(username=username, token=token, user=user)
    username, token = _required_headers(USER_HEADER, TOKEN_HEADER)
    require_username(username, INGRESS_IDENTITY)
    user = await _user_info(token, direct=False)
    if user.username != username:
        _log.info("Delegated token belongs to another user", header_username=username)
        raise PermissionDeniedError()
    return Caller(username=username, token=token, user=user)


async def delegated_user() -> Caller:
    """Mechanism (C) for user routes: the caller with a Gafaelfawr-validated token.

    Routes with a path username call ``caller.ensure_owns(username)`` after parsing their
    body, so that a malformed body is reported before a username mismatch (§2.3).
    """
    return await _delegated(RouteGroup.USER)


async def files_user() -> Caller:
    """Mechanism (C) for the file-server entry route (direct mode: ``write:files``)."""
    return await _delegated(RouteGroup.FILES)


async def _bearer_token_error(error: BearerTokenError) -> Response:
    response = Response(
        json.dumps(error_body(error.msg, error.error_type, error.loc)),
        status=error.status,
        content_type="application/json",
    )
    response.headers["WWW-Authenticate"] = error.challenge
    return response


def register_auth_error_handlers(app: QuartTrio) -> None:
    """Render :class:`BearerTokenError` with its challenge (more specific than the generic
    controller-error handler, so it wins for that class and its subclasses)."""
    app.register_error_handler(BearerTokenError, _bearer_token_error)
