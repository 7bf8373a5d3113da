"""Every error response has the body format of api.md §3, whatever raised it.

* Controller errors (§3.2) are the exception classes of :mod:`actors.errors`, raised by
  actors or routes, for example
  ``UnknownUserError(f"Unknown user {username}", loc=["path", "username"])``; the handler
  renders ``{"detail": [{"loc": [...], "msg": "...", "type": "unknown_user"}]}`` with the
  error's own ``status`` (a class attribute beside ``error_type``, 500 unless the class
  says otherwise), so there is no second table here to keep in step with the classes.
  ``loc`` is omitted, not null, when absent.
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
* Other framework errors (413 body too large, 408 body too slow, any other 4xx werkzeug
  raises) use the §3.1 list shape with a snake_case ``type`` (``request_too_large``,
  ``request_timeout`` ...): the spec only fixes the string form for 404 and 405.

Request bodies and error bodies are bounded (:mod:`web.bounds`, ``docs/limits.md``): a body
is at most 1 MiB (413 beyond, decided from ``Content-Length`` before anything is read, or as
soon as a chunked body passes the limit) and must be UTF-8 JSON without ``NaN`` or
``Infinity`` (422 ``json_invalid`` otherwise). Every error body is strict JSON (written with
``allow_nan=False``) and at most 32 KiB whatever the request was.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar

import pydantic_core
import structlog
from pydantic import BaseModel, ValidationError
from quart import Response, has_request_context, has_websocket_context, request, websocket
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge

from actors.alerts import Operation as Alerted
from actors.alerts import error_text, report_alert
from actors.errors import ControllerError, LeaderChangedError
from actors.runtime import ActorStopped, AskTimeout, MailboxFull
from web.bounds import (
    BODY_TIMEOUT_SECONDS,
    MAX_BODY_BYTES,
    MAX_MESSAGE_CHARS,
    bounded_detail,
    bounded_loc,
    cut,
)
from web.replica_headers import NOT_SERVED_HEADER
from web.state import current_state

__all__ = [
    "ControllerError",
    "RequestValidationError",
    "UnknownActorError",
    "configure_request_limits",
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
    """The §3.1 body with one detail element; ``loc`` is left out entirely when ``None``.

    ``msg`` is cut at :data:`~web.bounds.MAX_MESSAGE_CHARS`: controller messages may quote what
    the client sent (an image reference, say), which can be as large as the body limit.
    """
    detail: dict[str, Any] = {}
    if loc is not None:
        detail["loc"] = bounded_loc(loc)
    detail["msg"] = cut(msg, MAX_MESSAGE_CHARS)
    detail["type"] = error_type
    return {"detail": [detail]}


def body_of(error: ControllerError) -> dict[str, Any]:
    """The §3.1 body of a controller error."""
    return error_body(error.msg, error.error_type, error.loc)


class UnknownActorError(ControllerError):
    """The admin inspection routes were asked about an actor that does not exist."""

    error_type = "unknown_actor"
    status = 404


class RequestValidationError(Exception):
    """The request (body, headers, query) is invalid: 422 with pydantic-style detail items."""

    status_code: ClassVar[int] = 422

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} validation error(s)")

    @classmethod
    def from_pydantic(cls, error: ValidationError, location: str) -> RequestValidationError:
        """Prefix each error's ``loc`` with ``location`` (``body``, ``query`` ...).

        The items keep pydantic's raw ``input`` and ``ctx`` (exception objects, non-finite
        floats, values of any size); ``to_body`` makes them strict JSON and small.
        """
        items: list[dict[str, Any]] = [
            {**item, "loc": [location, *item.get("loc", ())]}
            for item in error.errors(include_url=False)
        ]
        return cls(items)

    def to_body(self) -> dict[str, Any]:
        """The JSON body of the response: bounded and strict-JSON whatever the errors hold."""
        return {"detail": bounded_detail(self.errors)}


def _json_invalid(reason: str, text: str) -> RequestValidationError:
    return RequestValidationError(
        [
            {
                "type": "json_invalid",
                "loc": ["body"],
                "msg": f"Invalid JSON: {reason}",
                "input": text,
                "ctx": {"error": reason},
            }
        ]
    )


async def parse_body(model: type[M]) -> M:
    """Validate the current request's JSON body as ``model``, or raise a 4xx.

    The body must be UTF-8 JSON text (RFC 8259: no ``NaN``/``Infinity``, no bytes that are not
    UTF-8); anything else, including an empty body and nesting deeper than the parser's limit,
    is one 422 ``json_invalid`` error. A JSON value that is not an object is the model's own
    422. A body beyond :data:`MAX_BODY_BYTES` is a 413 raised by quart (from ``Content-Length``
    before anything is read, or as soon as a chunked body passes the limit), and a body that
    takes longer than :data:`BODY_TIMEOUT_SECONDS` a 408.

    The text is parsed once and validated in Python mode, which is what the models are written
    for: their field types say how strict each value is.
    """
    data = await request.get_data(cache=True, as_text=False, parse_form_data=False)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _json_invalid(
            f"body is not UTF-8 (invalid byte at offset {error.start})",
            data.decode("utf-8", "replace"),
        ) from None
    try:
        parsed = pydantic_core.from_json(text, allow_inf_nan=False)
    except ValueError as error:
        raise _json_invalid(str(error) or "cannot parse", text) from None
    try:
        return model.model_validate(parsed)
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
    # allow_nan=False: a NaN that slipped through must fail here (and become a 500 with a
    # fixed body) rather than reach a client as invalid JSON.
    text = json.dumps(body, allow_nan=False)
    return Response(text, status=status, content_type="application/json")


def _internal_error() -> Response:
    return _json(error_body(INTERNAL_ERROR_MESSAGE, "internal_error"), 500)


async def _controller_error(error: ControllerError) -> Response:
    status = error.status
    if isinstance(error, LeaderChangedError):
        return _leader_changed(error)
    if status >= 500:
        _log.error("Request failed", error_type=error.error_type, error=error.msg)
    return _json(body_of(error), status)


def _leader_changed(error: LeaderChangedError) -> Response:
    """This replica stopped leading under the request: ``web.forwarding`` sends it on to the
    next leader (the header says so); a client only sees this if there is none."""
    _log.info("Request overtaken by the end of this replica's term, passing it on")
    response = _json(body_of(error), error.status)
    response.headers["Retry-After"] = "1"
    response.headers[NOT_SERVED_HEADER] = error.error_type
    return response


async def _validation_error(error: RequestValidationError) -> Response:
    return _json(error.to_body(), error.status_code)


_TYPE_BY_STATUS = {413: "request_too_large"}
"""``type`` of framework errors whose snake-cased HTTP reason would be unclear."""


def _framework_type(error: HTTPException, status: int) -> str:
    if status in _TYPE_BY_STATUS:
        return _TYPE_BY_STATUS[status]
    return re.sub(r"[^a-z0-9]+", "_", (error.name or "error").lower()).strip("_")


async def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    if status >= 500:
        return _internal_error()
    if isinstance(error, (NotFound, MethodNotAllowed)) and status in (404, 405):
        # api.md §3.3 fixes these two as a string detail.
        response = _json({"detail": error.name}, status)
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response
    if isinstance(error, RequestEntityTooLarge):
        limit = request.max_content_length or MAX_BODY_BYTES
        msg = f"Request body is larger than {limit} bytes"
        # The client may still be sending; close the connection rather than read the rest.
        response = _json(error_body(msg, "request_too_large", ["body"]), status)
        response.headers["Connection"] = "close"
        return response
    return _json(error_body(error.name or "Error", _framework_type(error, status)), status)


async def _mailbox_full(error: MailboxFull) -> Response:
    _log.warning("Actor mailbox full, asking client to retry", retry_after=error.retry_after)
    response = _json(error_body(BUSY_MESSAGE, "mailbox_full"), 503)
    response.headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
    return response


async def _actor_stopped(error: ActorStopped) -> Response:

    replicas = current_state().replicas
    if replicas is not None and replicas.enabled and not replicas.view.serves_locally():
        # Its actor stopped because this replica's term ended: the next leader answers.
        return _leader_changed(LeaderChangedError())
    _log.warning("Actor stopped while handling a request", error=str(error))
    response = _json(error_body(BUSY_MESSAGE, "actor_stopped"), 503)
    response.headers["Retry-After"] = "1"
    return response


async def _ask_timeout(error: AskTimeout) -> Response:
    _log.error("Actor did not answer in time", error=str(error))
    report_alert(Alerted.REQUEST, f"{_route()}: an actor did not answer in time: {error}")
    return _internal_error()


async def _unhandled(error: Exception) -> Response:
    _log.error("Unhandled exception", exc_info=error)
    report_alert(Alerted.REQUEST, f"{_route()}: unhandled {error_text(error)}")
    return _internal_error()


def _route() -> str:
    """The method and path of the request being answered (no query string: it may hold
    credentials)."""
    if has_request_context():
        return f"{request.method} {request.path}"
    if has_websocket_context():
        return f"WEBSOCKET {websocket.path}"
    return "request"


def configure_request_limits(app: QuartTrio) -> None:
    """Set quart's body limits explicitly instead of relying on its defaults (16 MiB, 60 s)."""
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["BODY_TIMEOUT"] = BODY_TIMEOUT_SECONDS


def register_error_handlers(app: QuartTrio) -> None:
    """Install the handlers that give every error response a §3 body, and the body limits.

    The limits are set here because they are half of the same contract: what a request may
    send, and what the refusal looks like (the 413 message names the limit).
    """
    configure_request_limits(app)
    app.register_error_handler(ControllerError, _controller_error)
    app.register_error_handler(RequestValidationError, _validation_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(MailboxFull, _mailbox_full)
    app.register_error_handler(ActorStopped, _actor_stopped)
    app.register_error_handler(AskTimeout, _ask_timeout)
    app.register_error_handler(Exception, _unhandled)
