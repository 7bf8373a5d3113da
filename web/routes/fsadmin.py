"""fsadmin routes of ``api.md`` §9: one path, three methods, all admin (mechanism A)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic_core import PydanticCustomError
from quart import Blueprint, Response

from actors.fsadmin.service import FSAdminService, FSAdminStatus
from web.auth import RouteGroup, require_group
from web.errors import parse_body
from web.openapi.models import FSAdminStarted
from web.state import current_state

__all__ = ["FSAdminCommand", "fsadmin_routes"]

fsadmin_routes = Blueprint("fsadmin", __name__)
"""Registered with ``url_prefix=config.path_prefix``."""


class FSAdminCommand(BaseModel):
    """The POST body: ``{"start": true}``; anything else is a 422.

    ``start`` is strict: it starts a privileged pod, so only the JSON literal ``true`` will
    do (lax validation would take ``1``, ``1.0`` as well). Other keys are ignored, as in every
    request body (api.md §1.2).
    """

    model_config = ConfigDict(extra="ignore")

    start: Literal[True]

    @field_validator("start", mode="before")
    @classmethod
    def _json_boolean_only(cls, value: Any) -> Any:
        # Literal validation is lax (1 == True); refuse every non-boolean before it runs.
        if not isinstance(value, bool):
            raise PydanticCustomError("bool_type", "Input should be a valid boolean")
        return value


def _service() -> FSAdminService:
    service = current_state().fsadmin
    assert service is not None
    return service


def timestamp(moment: datetime) -> str:
    """UTC with a trailing ``Z`` (§1.2)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status_response(status: FSAdminStatus) -> Response:
    body = FSAdminStarted(start_time=timestamp(status.start_time)).model_dump_json()
    return Response(body, status=200, content_type="application/json")


@fsadmin_routes.get("/fsadmin/v1/service")
async def fsadmin_status() -> Response:
    """The running pod's start time, or 404 ``not_found`` / ``invalid_phase`` (§9.2)."""
    await require_group(RouteGroup.ADMIN)
    return _status_response(await _service().status())


@fsadmin_routes.post("/fsadmin/v1/service")
async def fsadmin_create() -> Response:
    """Start the pod (or keep the running one) and answer once it left Pending (§9.3)."""
    await require_group(RouteGroup.ADMIN)
    await parse_body(FSAdminCommand)
    return _status_response(await _service().create())


@fsadmin_routes.delete("/fsadmin/v1/service")
async def fsadmin_delete() -> Response:
    """Remove the pod and its claims; 204 also when nothing existed (§9.4)."""
    await require_group(RouteGroup.ADMIN)
    await _service().delete()
    return Response("", status=204)
