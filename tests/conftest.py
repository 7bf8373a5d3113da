"""Settings every test shares.

Tests that do not configure logging themselves log through structlog's defaults, whose
console renderer prints exceptions with ``rich`` when it is installed: every frame's local
variables, about two seconds per traceback. A test that makes forty spawns fail on purpose
then spends over a minute rendering them on the event loop, and its requests time out. The
controller itself never runs with those defaults (``web.logging`` configures plain
tracebacks); the tests get the same.
"""

from __future__ import annotations

import structlog

_processors = list(structlog.get_config()["processors"])
if _processors and isinstance(_processors[-1], structlog.dev.ConsoleRenderer):
    _processors[-1] = structlog.dev.ConsoleRenderer(
        exception_formatter=structlog.dev.plain_traceback
    )
    structlog.configure(processors=_processors)
