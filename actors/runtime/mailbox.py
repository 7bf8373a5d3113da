"""An actor's mailbox: a bounded queue with one reader, and nothing else.

A Trio memory channel would do the job, but it is built for many senders and many receivers
(clones, per-end statistics, two ordered dictionaries of parked tasks, a deque allocated up
front): about two kilobytes per channel before the first message. With thousands of idle
lab actors that was a tenth of the controller's memory per lab. A mailbox has exactly one
reader (the actor's message loop) and senders that never wait (a full mailbox refuses), so
it needs a queue, created on the first message and dropped again once emptied, and the one
task that may be parked on it.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

import trio

T = TypeVar("T")

__all__ = ["Mailbox"]


class Mailbox(Generic[T]):
    """Bounded FIFO: :meth:`put_nowait` from anywhere, :meth:`get` from one task at a time.

    After :meth:`close` puts are refused (``trio.ClosedResourceError``) and, once what was
    queued has been taken, gets end (``trio.EndOfChannel``), as with a memory channel.
    """

    __slots__ = ("_closed", "_items", "_reader", "capacity")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: deque[T] | None = None
        self._reader: trio.lowlevel.Task | None = None
        self._closed = False

    def __len__(self) -> int:
        return 0 if self._items is None else len(self._items)

    @property
    def closed(self) -> bool:
        return self._closed

    def put_nowait(self, item: T) -> None:
        """Queue ``item``; ``trio.WouldBlock`` when full, ``trio.ClosedResourceError`` once
        closed."""
        if self._closed:
            raise trio.ClosedResourceError("mailbox closed")
        items = self._items
        if items is None:
            items = self._items = deque()
        elif len(items) >= self.capacity:
            raise trio.WouldBlock
        items.append(item)
        self._wake()

    def get_nowait(self) -> T:
        """The oldest item; ``trio.WouldBlock`` if none, ``trio.EndOfChannel`` once closed
        and empty."""
        items = self._items
        if items:
            item = items.popleft()
            if not items:
                self._items = None  # an idle actor keeps no queue
            return item
        if self._closed:
            raise trio.EndOfChannel
        raise trio.WouldBlock

    async def get(self) -> T:
        """Wait for the oldest item (a checkpoint, as any Trio receive)."""
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            try:
                item = self.get_nowait()
            except trio.WouldBlock:
                pass
            else:
                await trio.lowlevel.cancel_shielded_checkpoint()
                return item
            if self._reader is not None:
                raise trio.BusyResourceError("another task is already reading this mailbox")
            self._reader = trio.lowlevel.current_task()

            def abort(_: object) -> trio.lowlevel.Abort:
                self._reader = None
                return trio.lowlevel.Abort.SUCCEEDED

            await trio.lowlevel.wait_task_rescheduled(abort)

    async def wait(self) -> None:
        """Wait until there is an item, the mailbox is closed, or :meth:`nudge` is called
        (a checkpoint); the caller then looks again."""
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._items or self._closed:
            await trio.lowlevel.cancel_shielded_checkpoint()
            return
        if self._reader is not None:
            raise trio.BusyResourceError("another task is already reading this mailbox")
        self._reader = trio.lowlevel.current_task()

        def abort(_: object) -> trio.lowlevel.Abort:
            self._reader = None
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    def nudge(self) -> None:
        """Wake a reader waiting in :meth:`wait` with nothing new (it should look again)."""
        self._wake()

    def close(self) -> None:
        """Refuse new items; the reader gets what is queued, then ``trio.EndOfChannel``."""
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            trio.lowlevel.reschedule(reader)
