"""What an actor says about itself when inspected.

Snapshots are built synchronously from counters the runtime keeps up to date, so inspecting
an actor never waits for it: a busy actor (or one stuck in a long handler) still answers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class ActorStatus(StrEnum):
    """Life-cycle status of an actor as its supervisor sees it."""

    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


class ActorSnapshot(BaseModel):
    """A point-in-time description of one actor and, recursively, its children."""

    kind: str = Field(description="What sort of actor this is (supervisor, lab, images, ...)")
    name: str = Field(description="Unique name in the tree, such as `lab/alice`")
    status: ActorStatus
    phase: str = Field(description="Phase of the actor's own state machine")
    mailbox_depth: int
    mailbox_capacity: int
    processed: int = Field(description="Messages handled since the actor was first started")
    current_message: str | None = Field(description="Type of the message being handled")
    current_since: datetime | None
    restarts: int
    last_error: str | None = Field(description="Type and message of the last crash")
    last_error_at: datetime | None
    started_at: datetime | None
    details: dict[str, Any] = Field(default_factory=dict)
    children: list[ActorSnapshot] = Field(default_factory=list)


def wall_clock(timestamp: float | None) -> datetime | None:
    """Turn a ``time.time()`` value into an aware UTC datetime (``None`` stays ``None``)."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, tz=UTC)


def describe_error(error: BaseException) -> str:
    """One line naming an error, unwrapping single-error groups that nurseries add.

    Only the type and the error's own message are kept; tracebacks stay in the logs.
    """
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
