"""One spawn, delete or monitor of a lab, running in its actor's nursery.

An operation is what other requests wait for or cancel: a delete joins a running delete and
cancels a running spawn. Its outcome is a ``ControllerError`` or success; waiting never
raises anything else.
"""

from __future__ import annotations

from enum import StrEnum

import trio

from actors.errors import ControllerError


class OperationKind(StrEnum):
    SPAWN = "spawn"
    DELETE = "delete"
    MONITOR = "monitor"
    CLEANUP = "cleanup"
    """Removal of a namespace nobody remembers (a spawn's leftovers); no lab state, no events."""


class Operation:
    """A running or finished operation: its kind, cancel scope and outcome.

    Every lab keeps its last operation for as long as it lives; the event that waiters wait
    on is therefore made only when somebody waits.
    """

    __slots__ = ("_done", "_finished", "cancel_scope", "error", "kind", "started_at")

    def __init__(self, kind: OperationKind) -> None:
        self.kind = kind
        self.cancel_scope = trio.CancelScope()
        self._finished = False
        self._done: trio.Event | None = None
        self.error: ControllerError | None = None
        self.started_at = trio.current_time()

    @property
    def done(self) -> trio.Event:
        """Set when the operation has finished."""
        if self._done is None:
            self._done = trio.Event()
            if self._finished:
                self._done.set()
        return self._done

    @property
    def running(self) -> bool:
        return not self._finished

    def cancel(self) -> None:
        """Ask the operation to stop; it reports the cancellation itself."""
        self.cancel_scope.cancel()

    def finish(self, error: ControllerError | None = None) -> None:
        if not self._finished:
            self._finished = True
            self.error = error
            if self._done is not None:
                self._done.set()

    async def wait(self) -> None:
        """Wait for the outcome; raises the operation's ``ControllerError`` if it failed."""
        await self.done.wait()
        if self.error is not None:
            raise self.error
