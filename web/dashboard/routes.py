"""The admin dashboard's routes, all under ``{prefix}/admin/``.

========================================  ===================================================
``GET  /admin/``                           the page (direct mode without a session: to sign-in)
``GET  /admin/login``, ``POST``            direct mode: trade a token for a session cookie
``POST /admin/logout``                     end the session (CSRF-checked)
``GET  /admin/session``                    who is signed in, and the page's CSRF token
``GET  /admin/static/dashboard.{js,css}``  the page's script and style (no secrets)
``WS   /admin/dashboard/ws``               the live feed (``web.dashboard.feed``)
``GET  /admin/labs``                       every lab as a row (the command line's ``labs``)
``GET  /admin/labs/<user>``                one lab: state, event history, Kubernetes objects
``DELETE /admin/labs/<user>``              delete a lab as an administrator (CSRF-checked)
========================================  ===================================================

They sit under ``{prefix}/admin``, so an ingress that protects the admin routes protects
them too; ``web.dashboard.access`` says who may call them in direct mode.
"""

from __future__ import annotations

import html
import ipaddress
import json
import time
from importlib import resources

import trio
from quart import Blueprint, Response, redirect, request

from actors.config.auth import AuthMode
from actors.errors import DeleteFailedError, UnknownUserError
from actors.kube import KubernetesError
from actors.labs.service import LabService
from web.auth import AuthenticationUnavailableError, BearerTokenError
from web.dashboard.access import (
    ADMIN_SCOPE,
    COOKIE_NAME,
    SignInRequired,
    dashboard_access,
    dashboard_operator,
    ensure_csrf,
    token_info,
)
from web.dashboard.feed import push_dashboard
from web.state import current_state
from web.streams import serve_websocket_stream
from web.usernames import path_username

__all__ = ["SIGN_IN_ERRORS", "STATIC_FILES", "dashboard", "dashboard_labs"]

dashboard = Blueprint("dashboard", __name__)
"""Registered with ``url_prefix=config.path_prefix``."""

dashboard_labs = Blueprint("dashboard_labs", __name__)
"""The lab routes; registered only when the app has a lab service, like the other lab routes."""

_STATIC = resources.files("web.dashboard") / "static"
STATIC_FILES: dict[str, tuple[bytes, str]] = {
    name: ((_STATIC / name).read_bytes(), kind)
    for name, kind in (
        ("dashboard.js", "text/javascript; charset=utf-8"),
        ("dashboard.css", "text/css; charset=utf-8"),
    )
}
"""Read once at import, before the event loop runs: serving them never touches the disk."""
_INDEX = (_STATIC / "index.html").read_text("utf-8")
_LOGIN = (_STATIC / "login.html").read_text("utf-8")

MAX_TOKEN_LENGTH = 4096

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Not ``no-referrer``: with it browsers send ``Origin: null`` on the sign-in form's POST,
    # and the form's origin check needs the real one.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _admin_path(suffix: str = "") -> str:
    prefix = "/" + current_state().config.path_prefix.strip("/")
    return ("" if prefix == "/" else prefix) + "/admin/" + suffix


def _html(text: str, status: int = 200) -> Response:
    response = Response(text, status=status, content_type="text/html; charset=utf-8")
    response.headers.update(SECURITY_HEADERS)
    return response


def _json(data: object, status: int = 200) -> Response:
    response = Response(json.dumps(data), status=status, content_type="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def _direct_mode() -> bool:
    return current_state().config.auth.mode is AuthMode.DIRECT


def _loopback_http() -> bool:
    """Plain HTTP to a loopback address: the one case where the cookie may lack ``Secure``
    (browsers treat loopback as a secure context; elsewhere HTTP would expose the cookie)."""
    if request.scheme != "http":
        return False
    host = request.host.rsplit(":", 1)[0].strip("[]") if request.host else ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- the page and sign-in ----------------------------------------------------------------------


@dashboard.get("/admin/")
async def page() -> Response:
    """The dashboard; a browser without a session is sent to the sign-in page."""
    try:
        await dashboard_operator()
    except SignInRequired:
        return redirect(_admin_path("login"), 303)  # type: ignore[return-value]
    return _html(_INDEX)


SIGN_IN_ERRORS = {
    "missing": "Paste a token with the exec:admin scope.",
    "rejected": "That token was not accepted (unknown or expired).",
    "scope": "That token lacks the exec:admin scope.",
    "unavailable": "Gafaelfawr cannot be reached; try again shortly.",
    "origin": "Sign-in refused: the form was sent from another site.",
}
"""Why a sign-in failed, by the code the form is sent back with (never the input itself)."""


def _login_page(error: str | None) -> Response:
    message = SIGN_IN_ERRORS.get(error or "")
    html_error = f'<p class="error" role="alert">{html.escape(message)}</p>' if message else ""
    return _html(_LOGIN.replace("<!--error-->", html_error))


def _back_to_sign_in(error: str) -> Response:
    return redirect(_admin_path(f"login?error={error}"), 303)  # type: ignore[return-value]


@dashboard.get("/admin/login")
async def login_form() -> Response:
    """The sign-in form; ``?error=`` names why the last attempt failed."""
    if not _direct_mode():
        return redirect(_admin_path(), 303)  # type: ignore[return-value]
    return _login_page(request.args.get("error"))


@dashboard.post("/admin/login")
async def login() -> Response:
    """Check the token (``exec:admin``) and answer with a session cookie.

    Always a redirect (post/redirect/get): to the dashboard with the cookie, or back to the
    form with the reason, so that reloading a page never resends a token.
    """
    if not _direct_mode():
        return redirect(_admin_path(), 303)  # type: ignore[return-value]
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        return _back_to_sign_in("origin")
    form = await request.form
    token = (form.get("token") or "").strip()
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return _back_to_sign_in("missing")
    try:
        info = await token_info(token)
    except BearerTokenError:
        return _back_to_sign_in("rejected")
    except AuthenticationUnavailableError:
        return _back_to_sign_in("unavailable")
    if not info.has_scope(ADMIN_SCOPE):
        return _back_to_sign_in("scope")
    expires = info.expires.timestamp() if info.expires is not None else None
    session = dashboard_access().sessions.create(token, info.username, expires)
    response = redirect(_admin_path(), 303)
    response.set_cookie(
        COOKIE_NAME,
        session.id,
        max_age=max(1, int(session.expires - time.time())),
        path=_admin_path(),
        secure=not _loopback_http(),
        httponly=True,
        samesite="Strict",
    )
    return response  # type: ignore[return-value]


@dashboard.post("/admin/logout")
async def logout() -> Response:
    """End the browser's session (other sessions of the same token stay)."""
    await dashboard_operator(unsafe=True)
    dashboard_access().sessions.drop(request.cookies.get(COOKIE_NAME))
    response = Response("", status=204)
    response.delete_cookie(COOKIE_NAME, path=_admin_path(), httponly=True, samesite="Strict")
    return response


@dashboard.get("/admin/session")
async def session_info() -> Response:
    """The signed-in operator and the CSRF token the page sends with its actions."""
    operator = await dashboard_operator()
    state = current_state()
    return _json(
        {
            "user": operator.username,
            "via": operator.via,
            "csrf": operator.csrf,
            "expires": operator.expires,
            "mode": state.config.auth.mode.value,
            "name": state.metadata.name,
            "version": state.metadata.version,
        }
    )


def _static(name: str) -> Response:
    content, kind = STATIC_FILES[name]
    response = Response(content, status=200, content_type=kind)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-cache"
    return response


@dashboard.get("/admin/static/dashboard.js")
async def static_script() -> Response:
    return _static("dashboard.js")


@dashboard.get("/admin/static/dashboard.css")
async def static_style() -> Response:
    return _static("dashboard.css")


# -- the feed and lab actions ------------------------------------------------------------------


@dashboard.websocket("/admin/dashboard/ws")
async def feed() -> None:
    """The live feed; authorized before the handshake is accepted."""
    await dashboard_operator()
    state = current_state()
    await serve_websocket_stream(state.streams, lambda: push_dashboard(state))


def _labs() -> LabService:
    service = current_state().labs
    assert service is not None  # these routes exist only with a lab service
    return service


@dashboard_labs.get("/admin/labs")
async def list_labs() -> Response:
    """Every known lab as a row, sorted by user."""
    await dashboard_operator()
    rows = sorted(await _labs().summaries(), key=lambda row: row.user)
    return _json([row.as_json() for row in rows])


@dashboard_labs.get("/admin/labs/<username>")
async def lab_detail(username: str) -> Response:
    """One lab: its state, the events of its current or last operation, its objects."""
    await dashboard_operator()
    path_username(username)
    service = _labs()
    state = await service.state(username)
    events = [{"event": e.type.value, **e.data()} for e in service.history(username)]
    objects: list[dict[str, object]] | None = None
    objects_error = None
    try:
        objects = [vars(obj) for obj in await service.objects(username)]
    except (KubernetesError, trio.TooSlowError) as error:
        objects_error = str(error) or type(error).__name__
    if state is None and not events and not objects:
        raise UnknownUserError(f"Unknown user {username}", loc=["path", "username"])
    return _json(
        {
            "user": username,
            "state": state.model_dump(mode="json") if state is not None else None,
            "events": events,
            "objects": objects,
            "objects_error": objects_error,
        }
    )


@dashboard_labs.delete("/admin/labs/<username>")
async def delete_lab(username: str) -> Response:
    """Delete the lab and wait until it is gone (an administrator's action)."""
    operator = await dashboard_operator()
    path_username(username)
    ensure_csrf(operator)
    try:
        await _labs().delete(username)
    except trio.TooSlowError:
        raise DeleteFailedError() from None
    return Response("", status=204)
