"""Lab routes of ``api.md`` §5: list, status, create, delete, and the caller's own status.

Each handler authenticates first (``web.auth``, in the order §2.3 requires), checks the path's
username against the platform rule (``web.usernames``: the name becomes part of Kubernetes
paths and object names), then hands the request to the lab service, which only sends
messages to actors. Refusals come back as
``actors.errors`` exceptions and are rendered by ``web.errors``.
"""

from __future__ import annotations

import json

import trio
from quart import Blueprint, Response, request

from actors.common.models import LabState
from actors.common.requests import LabSpecification
from actors.errors import ControllerError, DeleteFailedError, UnknownUserError
from actors.labs.service import LabService
from web.auth import RouteGroup, delegated_user, header_identity, require_group
from web.errors import parse_body
from web.state import current_state
from web.usernames import path_username

__all__ = ["labs"]

labs = Blueprint("labs", __name__)
"""Registered with ``url_prefix=config.path_prefix``."""


def lab_service() -> LabService:
    """The lab service of the serving app (lab routes exist only when it does)."""
    service = current_state().labs
    assert service is not None
    return service


def _json(text: str, status: int = 200) -> Response:
    return Response(text, status=status, content_type="application/json")


def _state_response(state: LabState) -> Response:
    return _json(state.model_dump_json())


def _absolute_url(path: str) -> str:
    """``path`` on the host the client used.

    Behind a trusted proxy the scheme and host are the forwarded ones: ``web.proxy_headers``
    has applied them to the request (and dropped them from anyone else).
    """
    return f"{request.scheme}://{request.host}{path}"


@labs.get("/spawner/v1/labs")
async def list_labs() -> Response:
    """Users whose lab is running (hub)."""
    await require_group(RouteGroup.HUB)
    users = await lab_service().running()
    return _json(json.dumps(users))


@labs.get("/spawner/v1/labs/<username>")
async def get_lab(username: str) -> Response:
    """One user's lab state, from memory (hub)."""
    await require_group(RouteGroup.HUB)
    path_username(username)
    state = await lab_service().state(username)
    if state is None:
        raise UnknownUserError(f"Unknown user {username}", loc=["path", "username"])
    return _state_response(state)


@labs.post("/spawner/v1/labs/<username>/create")
async def create_lab(username: str) -> Response:
    """Start a spawn (user); progress follows on the events route."""
    caller = await delegated_user()
    path_username(username)
    spec = await parse_body(LabSpecification)
    caller.ensure_owns(username)
    try:
        await lab_service().create(caller.user, caller.token, spec)
    except ControllerError as refusal:
        # Quota, conflicts, unknown images: no spawn started; counted apart from failures.
        current_state().metrics.spawns.refused(
            refusal.error_type, server_error=refusal.status >= 500
        )
        raise
    prefix = current_state().config.path_prefix
    response = _json("null", status=201)
    response.headers["Location"] = _absolute_url(f"{prefix}/spawner/v1/labs/{username}")
    return response


@labs.delete("/spawner/v1/labs/<username>")
async def delete_lab(username: str) -> Response:
    """Delete the lab and wait until it is gone (hub)."""
    await require_group(RouteGroup.HUB)
    path_username(username)
    try:
        await lab_service().delete(username)
    except trio.TooSlowError:
        raise DeleteFailedError() from None
    return Response("", status=204)


@labs.get("/spawner/v1/user-status")
async def user_status() -> Response:
    """The caller's own lab state (user)."""
    username = await header_identity()
    state = await lab_service().state(username)
    if state is None:
        raise UnknownUserError(f"Unknown user {username}")
    return _state_response(state)
