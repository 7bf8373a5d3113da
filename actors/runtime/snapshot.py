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
    STANDBY = "standby"
    """A leader-only node in a replica that does not lead: it waits for a term."""
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
    """One line naming an error and what caused it, unwrapping single-error groups.

    Many transport errors say little themselves (``httpx.ConnectError`` may have an empty
    message, or repeat its cause's) and keep the reason in the exception they were raised
    from, so the chain of causes is followed and each cause that adds words is named:
    ``ConnectError: all attempts to connect to h:1 failed (caused by ConnectionRefusedError:
    [Errno 111] Connect call failed)``. Only types and messages are kept; tracebacks stay in
    the logs.
    """
    error = _unwrap(error)
    text = _own_words(error)
    said = {str(error)}
    seen = {id(error)}
    named = 0
    cause = _cause_of(error)
    while cause is not None and id(cause) not in seen and len(seen) <= MAX_CHAIN:
        seen.add(id(cause))
        cause = _unwrap(cause)
        if str(cause) not in said and named < MAX_CAUSES:
            text += f" (caused by {_own_words(cause)})"
            said.add(str(cause))
            named += 1
        cause = _cause_of(cause)
    return text


MAX_CAUSES = 2
"""Causes named at most in one description."""

MAX_CHAIN = 10
"""Links of a cause chain followed at most (chains are short; this bounds a pathological one)."""


def _unwrap(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


def _own_words(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _cause_of(error: BaseException) -> BaseException | None:
    """The explicit cause, else the context, unless the raiser suppressed it on purpose.

    A suppressed context is still followed when the error says nothing beyond it (an empty
    message, or the very same one): wrappers such as httpcore's exception mapping re-raise
    ``from None`` with the message only, and the reason is one link further down.
    """
    if error.__cause__ is not None:
        return error.__cause__
    context = error.__context__
    if context is None or not error.__suppress_context__:
        return context
    return context if str(error) in ("", str(context)) else None
