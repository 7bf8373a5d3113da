"""Process-wide logging: structlog and stdlib loggers (quart, hypercorn), all in one format.

Every log line leaves the process through one stdlib handler whose formatter is a
``structlog.stdlib.ProcessorFormatter``: structlog events and foreign stdlib records (quart,
hypercorn, libraries) get the same processors and the same renderer, so the ``production``
profile really is one JSON object per line and ``development`` is readable key/value lines.

Invariants:

* Context bound with ``structlog.contextvars`` (the request id and user, see
  ``web.request_context``) is merged into every line, structlog or stdlib, because the merge
  runs in the formatter chain of both.
* The access line is written by ``web.access_log`` from an allow-list of fields; hypercorn's
  own access log (whose record carries every request header) is off. Foreign records'
  ``args`` are never rendered, so ``Authorization`` / ``X-Auth-Request-Token`` never reach a
  log line.
* Every text of a line goes through ``actors.redaction.redact`` last, so a credential quoted
  by an error message (a token, a password in a URL) is replaced, as in operator alerts.
* Only sync log methods are used: structlog's ``a*`` methods are asyncio-only.
"""

from __future__ import annotations

import logging
import sys
from typing import IO, Literal

import h11
import structlog
import wsproto.utilities
from structlog.types import EventDict, Processor, WrappedLogger

from actors.redaction import redact
from actors.runtime import describe_error

__all__ = ["ERROR_LOGGER_NAME", "LogProfile", "configure_logging"]

LogProfile = Literal["production", "development"]

ERROR_LOGGER_NAME = "hypercorn.error"
"""Logger hypercorn writes its own messages to (its ``errorlog``)."""

_HANDLER_MARK = "_nublado_trio_handler"


def _drop_foreign_args(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Remove a foreign record's arguments: already merged into its message, never rendered."""
    event_dict.pop("positional_args", None)
    return event_dict


def _redact_secrets(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Replace anything shaped like a credential in every text of the line, the rendered
    traceback included (``actors.redaction``: the same rules as operator alerts)."""
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = redact(value)
    return event_dict


def _shared_processors() -> list[Processor]:
    """Processors run for both structlog events and foreign stdlib records."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _renderer(profile: LogProfile) -> Processor:
    if profile == "production":
        return structlog.processors.JSONRenderer()
    # Plain tracebacks: with ``rich`` installed structlog's default renders every frame's
    # local variables (request bodies, tokens held by a caller) and takes about two seconds
    # per traceback, long enough for a burst of failed spawns to stall the event loop.
    return structlog.dev.ConsoleRenderer(
        colors=False, exception_formatter=structlog.dev.plain_traceback
    )


QUIET_LOGGERS = ("httpx", "httpcore")

_PROTOCOL_ERRORS: tuple[type[BaseException], ...] = (
    h11.ProtocolError,
    wsproto.utilities.ProtocolError,
)


class ClientProtocolErrors(logging.Filter):
    """Hypercorn's "Error in ASGI Framework" records caused by a client breaking the protocol
    become one warning line.

    A client that, say, pipelines a request behind a WebSocket upgrade makes hypercorn's
    protocol state machine refuse what the app sends next; hypercorn logs that as an app error
    with a long traceback of exception groups. It is the client's fault and ends only its own
    connection, so it is reported as such, with its one-line cause and no traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        protocol_error = _first_protocol_error(error) if error is not None else None
        if protocol_error is None:
            return True
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.msg = "Client broke the HTTP protocol; its connection was closed: %s"
        record.args = (describe_error(protocol_error),)
        record.exc_info = None
        record.exc_text = None
        return True


def _first_protocol_error(error: BaseException) -> BaseException | None:
    if isinstance(error, _PROTOCOL_ERRORS):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            found = _first_protocol_error(inner)
            if found is not None:
                return found
    for linked in (error.__cause__, error.__context__):
        if linked is not None and linked is not error:
            found = _first_protocol_error(linked)
            if found is not None:
                return found
    return None


def configure_logging(
    *, level: str = "INFO", profile: LogProfile = "production", stream: IO[str] | None = None
) -> logging.Handler:
    """Send all logging (structlog and stdlib) to ``stream`` (stdout) in ``profile``'s format.

    Safe to call again (tests do, with their own stream): the handler installed by a previous
    call is replaced, handlers installed by others (pytest's capture) are left alone.
    Returns the installed handler.
    """
    shared = _shared_processors()
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # No caching: a module-level logger used before this call (during config loading, or
        # in another test) would otherwise keep structlog's default output for ever.
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, _drop_foreign_args],
        pass_foreign_args=True,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _redact_secrets,
            _renderer(profile),
        ],
    )
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_MARK, True)

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Hypercorn gets this Logger object; it must reach the root handler, not its own.
    error_logger = logging.getLogger(ERROR_LOGGER_NAME)
    error_logger.handlers.clear()
    error_logger.propagate = True
    for old_filter in [f for f in error_logger.filters if isinstance(f, ClientProtocolErrors)]:
        error_logger.removeFilter(old_filter)
    error_logger.addFilter(ClientProtocolErrors())
    for name in QUIET_LOGGERS:
        # One INFO line per outbound request (every Kubernetes call) drowns the real events;
        # their failures still show at WARNING.
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    return handler
