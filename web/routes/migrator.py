"""Migrator routes of ``api.md`` §12.2: start (POST), status (GET), cancel (DELETE).

All admin (mechanism A). Usernames are validated as §12.2 proposes, plus one rule of ours:
the pair's name ``<old>-to-<new>`` must contain ``-to-`` exactly once, since otherwise two
pairs would share one pod name (422 either way). Each username is checked first, on its own,
with the platform rule every other route uses (``web.usernames``: 422 ``invalid_username``
at ``["body"|"query", "old_user"|"new_user"]``), so a bad name is refused the same way
whichever route it is sent to; the pair rules follow. Migrator refusals carry their own HTTP
status (404/406/403/409/500, §12.3) like every controller error, so the application's one
controller-error handler renders them; this blueprint needs none of its own.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError
from quart import Blueprint, Response, request

from actors.migrator.builder import validate_pair
from actors.migrator.service import MigrationStatus, MigratorService
from actors.usernames import MAX_USERNAME_LENGTH, USERNAME_PATTERN
from web.auth import RouteGroup, require_group
from web.errors import RequestValidationError, parse_body
from web.openapi.models import MigrationStatusBody
from web.state import current_state
from web.usernames import require_username

__all__ = ["MigratorCommand", "migrator_routes"]

migrator_routes = Blueprint("migrator", __name__)
"""Registered with ``url_prefix=config.path_prefix``."""


class _UserPair(BaseModel):
    """The shape of a migrator body before any rule is checked: two JSON strings, strictly
    (a number is not a username). :class:`MigratorCommand` then validates the pair."""

    model_config = ConfigDict(extra="ignore", strict=True)

    old_user: str
    new_user: str


class MigratorCommand(BaseModel):
    """``{"old_user": ..., "new_user": ...}``: copy ``old_user``'s home into ``new_user``'s.

    Strict: both must be JSON strings (no coercion of numbers); other keys are ignored, as in
    every request body (api.md §1.2).
    """

    model_config = ConfigDict(extra="ignore", strict=True)

    # The routes check each username with the platform rule (422 ``invalid_username``)
    # before building this model; the pattern is here so the API document states the rule.
    old_user: str = Field(pattern=f"^{USERNAME_PATTERN.pattern}$", max_length=MAX_USERNAME_LENGTH)
    new_user: str = Field(pattern=f"^{USERNAME_PATTERN.pattern}$", max_length=MAX_USERNAME_LENGTH)

    @model_validator(mode="after")
    def _valid_pair(self) -> MigratorCommand:
        problems = validate_pair(self.old_user, self.new_user)
        if problems:
            field, message = problems[0]
            raise PydanticCustomError(
                "value_error",
                "Value error, {field}: {message}",
                {
                    "field": field,
                    "message": message,
                },
            )
        return self


def _service() -> MigratorService:
    service = current_state().migrator
    assert service is not None
    return service


def _timestamp(moment: datetime | None) -> str | None:
    """ISO 8601 with a ``+00:00`` offset, as the reference design writes it."""
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def _status_body(status: MigrationStatus) -> MigrationStatusBody:
    return MigrationStatusBody(
        old_user=status.old_user,
        new_user=status.new_user,
        start_time=_timestamp(status.start_time),
        end_time=_timestamp(status.end_time),
        running=status.running,
        exit_code=status.exit_code,
    )


def _json(body: MigrationStatusBody) -> Response:
    return Response(body.model_dump_json(), status=200, content_type="application/json")


def _command(old_user: str, new_user: str, location: str) -> MigratorCommand:
    """The validated pair: each username on its own first, then the pair rules (422)."""
    require_username(old_user, (location, "old_user"))
    require_username(new_user, (location, "new_user"))
    try:
        return MigratorCommand(old_user=old_user, new_user=new_user)
    except ValidationError as error:
        raise RequestValidationError.from_pydantic(error, location) from None


def _pair_from_query() -> MigratorCommand:
    """Both query parameters, required and validated like the POST body (422 otherwise)."""
    missing = [
        {"type": "missing", "loc": ["query", name], "msg": "Field required", "input": None}
        for name in ("old_user", "new_user")
        if name not in request.args
    ]
    if missing:
        raise RequestValidationError(missing)
    return _command(request.args["old_user"], request.args["new_user"], "query")


@migrator_routes.post("/migrator/v1/service")
async def start_migration() -> Response:
    """Start (or join) a copy; 200 with its status, or the exit code's refusal."""
    await require_group(RouteGroup.ADMIN)
    pair = await parse_body(_UserPair)
    command = _command(pair.old_user, pair.new_user, "body")
    status = await _service().start(command.old_user, command.new_user)
    return _json(_status_body(status))


@migrator_routes.get("/migrator/v1/service")
async def migration_status() -> Response:
    """The pair's status (finished copies with their exit code), or 204 when none is known."""
    await require_group(RouteGroup.ADMIN)
    pair = _pair_from_query()
    status = await _service().status(pair.old_user, pair.new_user)
    if status is None:
        return Response("", status=204)
    return _json(_status_body(status))


@migrator_routes.delete("/migrator/v1/service")
async def cancel_migration() -> Response:
    """Remove the pair's pod (extension); 204 whether or not one existed."""
    await require_group(RouteGroup.ADMIN)
    pair = _pair_from_query()
    await _service().cancel(pair.old_user, pair.new_user)
    return Response("", status=204)
