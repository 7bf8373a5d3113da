"""Spawn and delete progress events (``api.md`` §5.5) and their progress arithmetic.

The event is protocol-neutral: the web layer renders it as a server-sent event for
JupyterHub's spawner or as a JSON WebSocket message, from the same actor stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "POD_EVENTS_FIRST_PROGRESS",
    "POD_EVENTS_PROGRESS_CEILING",
    "LabEvent",
    "LabEventType",
    "next_pod_event_progress",
]

POD_EVENTS_FIRST_PROGRESS = 35
POD_EVENTS_PROGRESS_CEILING = 75
"""JupyterHub's spawner jumps to 75 on ``complete``; pod events must stay below it."""


class LabEventType(StrEnum):
    INFO = "info"
    ERROR = "error"
    FAILED = "failed"
    COMPLETE = "complete"

    @property
    def is_final(self) -> bool:
        """``failed`` and ``complete`` end an operation's stream."""
        return self in (LabEventType.FAILED, LabEventType.COMPLETE)


@dataclass(frozen=True, slots=True)
class LabEvent:
    """One progress event; ``progress`` only on some ``info`` events."""

    type: LabEventType
    message: str
    progress: int | None = None

    def data(self) -> dict[str, Any]:
        """The JSON object of the event: ``message`` and, when set, ``progress``."""
        if self.progress is None:
            return {"message": self.message}
        return {"message": self.message, "progress": self.progress}

    @classmethod
    def info(cls, message: str, progress: int | None = None) -> LabEvent:
        return cls(LabEventType.INFO, message, progress)

    @classmethod
    def error(cls, message: str) -> LabEvent:
        return cls(LabEventType.ERROR, message)

    @classmethod
    def failed(cls, message: str) -> LabEvent:
        return cls(LabEventType.FAILED, message)

    @classmethod
    def complete(cls, message: str) -> LabEvent:
        return cls(LabEventType.COMPLETE, message)


def next_pod_event_progress(previous: int | None) -> int:
    """Progress of the next Kubernetes pod event: 35, then a third of the way to 75 each time.

    Gives 35, 48, 57, 63, 67, 69, 71, 72, 73, 73, ... (``api.md`` §5.5.3).
    """
    if previous is None or previous < POD_EVENTS_FIRST_PROGRESS:
        return POD_EVENTS_FIRST_PROGRESS
    return int(previous + (POD_EVENTS_PROGRESS_CEILING - previous) / 3)
