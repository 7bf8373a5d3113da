"""Every error response has the body format of api.md §3, whatever raised it.

* Controller errors (§3.2) are the exception classes of :mod:`actors.errors`, raised by
  actors or routes, for example
  ``UnknownUserError(f"Unknown user {username}", loc=["path", "username"])``; the handler
  renders ``{"detail": [{"loc": [...], "msg": "...", "type": "unknown_user"}]}`` with the
  status code of :data:`STATUS_BY_ERROR_TYPE`. ``loc`` is omitted, not null, when absent.
* Request validation (§3.3) is ``RequestValidationError`` (422), raised by ``parse_body`` and
  ``require_header``; each detail element carries pydantic's ``type``, ``loc``, ``msg``,
  ``input`` and, when present, ``ctx``. A pydantic ``ValidationError`` that escapes a route
  is *not* treated as a client error: it is a server bug and becomes a 500.
* Framework errors keep their string form: 404 ``{"detail": "Not Found"}``, 405
  ``{"detail": "Method Not Allowed"}`` (with ``Allow``).
* Actor-runtime errors: a full mailbox is 503 with ``Retry-After``; an actor that does not
  answer in time is the spec's "controller timeout", a 500.
* Anything else is a 500 whose body says only ``Internal Server Error``: exception text may
  contain internal detail (or a token), so it goes to the log, never to the client.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar

import structlog
from pydantic import BaseModel, ValidationError
from quart import Response, request
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from actors.errors import ControllerError
from actors.runtime import ActorStopped, AskTimeout, MailboxFull

__all__ = [
    "STATUS_BY_ERROR_TYPE",
    "ControllerError",
    "RequestValidationError",
    "UnknownActorError",
    "error_body",
    "parse_body",
    "register_error_handlers",
    "require_header",
]

_log = structlog.stdlib.get_logger(__name__)

M = TypeVar("M", bound=BaseModel)

INTERNAL_ERROR_MESSAGE = "Internal Server Error"
BUSY_MESSAGE = "Controller is busy, retry later"


def error_body(msg: str, error_type: str, loc: Sequence[str | int] | None = None) -> dict[str, Any]:
    """The §3.1 body with one detail element; ``loc`` is left out entirely when ``None``."""
    detail: dict[str, Any] = {}
    if loc is not None:
        detail["loc"] = list(loc)
    detail["msg"] = msg
    detail["type"] = error_type
    return {"detail": [detail]}


STATUS_BY_ERROR_TYPE: dict[str, int] = {
    "insufficient_quota": 403,
    "invalid_docker_reference": 422,
    "invalid_lab_size": 422,
    "invalid_phase": 404,
    "invalid_token": 401,
    "lab_exists": 409,
    "operation_in_progress": 409,
    "not_supported": 404,
    "permission_denied": 403,
    "not_found": 404,
    "unknown_image": 400,
    "unknown_user": 404,
    "delete_failed": 500,
    "file_server_create_failed": 500,
    "file_server_delete_failed": 500,
    "unknown_actor": 404,
    "gafaelfawr_unavailable": 502,
}
"""HTTP status of each controller error type (``api.md`` §3.2); the classes live in actors."""


def status_of(error: ControllerError) -> int:
    """The HTTP status for a controller error; an unlisted type is a server error."""
    return STATUS_BY_ERROR_TYPE.get(error.error_type, 500)


def body_of(error: ControllerError) -> dict[str, Any]:
    """The §3.1 body of a controller error."""
    return error_body(error.msg, error.error_type, error.loc)


class UnknownActorError(ControllerError):
    """The admin inspection routes were asked about an actor that does not exist."""

    error_type = "unknown_actor"


class RequestValidationError(Exception):
    """The request (body, headers, query) is invalid: 422 with pydantic-style detail items."""

    status_code: ClassVar[int] = 422

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} validation error(s)")

    @classmethod
    def from_pydantic(cls, error: ValidationError, location: str) -> RequestValidationError:
        """Prefix each error's ``loc`` with ``location`` (``body``, ``query`` ...).

        The errors go through pydantic's JSON rendering so that ``ctx`` values (exception
        objects for ``value_error``) and ``input`` are always JSON-safe.
        """
        items: list[dict[str, Any]] = json.loads(error.json(include_url=False))
        for item in items:
            item["loc"] = [location, *item.get("loc", [])]
        return cls(items)

    def to_body(self) -> dict[str, Any]:
        """The JSON body of the response."""
        return {"detail": self.errors}


async def parse_body(model: type[M]) -> M:
    """Validate the current request's JSON body as ``model``, or raise a 422.

    Malformed JSON (including an empty body) yields a single ``json_invalid`` error.
    """
    data = await request.get_data(as_text=False)
    try:
        return model.model_validate_json(data)
    except ValidationError as error:
        raise RequestValidationError.from_pydantic(error, "body") from None


def require_header(name: str) -> str:
    """The value of a required request header, or a 422 with ``loc ["header", name]``."""
    value = request.headers.get(name)
    if value is None:
        raise RequestValidationError(
            [
                {
                    "type": "missing",
                    "loc": ["header", name.lower()],
                    "msg": "Field required",
                    "input": None,
                }
            ]
        )
    return value


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _internal_error() -> Response:
    return _json(error_body(INTERNAL_ERROR_MESSAGE, "internal_error"), 500)


async def _controller_error(error: ControllerError) -> Response:
    status = status_of(error)
    if status >= 500:
        _log.error("Request failed", error_type=error.error_type, error=error.msg)
    return _json(body_of(error), status)


async def _validation_error(error: RequestValidationError) -> Response:
    return _json(error.to_body(), error.status_code)


async def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    if status >= 500:
        return _internal_error()
    response = _json({"detail": error.name}, status)
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


async def _mailbox_full(error: MailboxFull) -> Response:
    _log.warning("Actor mailbox full, asking client to retry", retry_after=error.retry_after)
    response = _json(error_body(BUSY_MESSAGE, "mailbox_full"), 503)
    response.headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
    return response


async def _actor_stopped(error: ActorStopped) -> Response:
    _log.warning("Actor stopped while handling a request", error=str(error))
    response = _json(error_body(BUSY_MESSAGE, "actor_stopped"), 503)
    response.headers["Retry-After"] = "1"
    return response


async def _ask_timeout(error: AskTimeout) -> Response:
    _log.error("Actor did not answer in time", error=str(error))
    return _internal_error()


async def _unhandled(error: Exception) -> Response:
    _log.error("Unhandled exception", exc_info=error)
    return _internal_error()


def register_error_handlers(app: QuartTrio) -> None:
    """Install the handlers that give every error response a §3 body."""
    app.register_error_handler(ControllerError, _controller_error)
    app.register_error_handler(RequestValidationError, _validation_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(MailboxFull, _mailbox_full)
    app.register_error_handler(ActorStopped, _actor_stopped)
    app.register_error_handler(AskTimeout, _ask_timeout)
    app.register_error_handler(Exception, _unhandled)
