"""A change counter that observers can wait on.

Changing it is cheap (an integer increment and, only when someone waits, one event) because
it happens often: on every message an actor handles, on every report of a lab's state.
"""

from __future__ import annotations

import trio

__all__ = ["ChangeCounter"]


class ChangeCounter:
    """``version`` grows with every :meth:`changed`; :meth:`wait_changed` waits for it."""

    __slots__ = ("_waiter", "version")

    def __init__(self) -> None:
        self.version = 0
        self._waiter: trio.Event | None = None

    def changed(self) -> None:
        """Record that something observable changed."""
        self.version += 1
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.set()

    async def wait_changed(self, since: int) -> int:
        """Wait until the version differs from ``since``; return the new version."""
        while self.version == since:
            if self._waiter is None:
                self._waiter = trio.Event()
            await self._waiter.wait()
        return self.version
