"""The actor mailbox: a bounded FIFO with one reader, as an actor's message loop needs."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from actors.runtime.mailbox import Mailbox


async def test_items_come_out_in_order_and_a_full_mailbox_refuses() -> None:
    mailbox: Mailbox[int] = Mailbox(2)
    mailbox.put_nowait(1)
    mailbox.put_nowait(2)
    with pytest.raises(trio.WouldBlock):
        mailbox.put_nowait(3)
    assert len(mailbox) == 2
    assert [await mailbox.get(), mailbox.get_nowait()] == [1, 2]
    assert len(mailbox) == 0
    with pytest.raises(trio.WouldBlock):
        mailbox.get_nowait()


async def test_a_waiting_reader_wakes_on_the_next_item() -> None:
    mailbox: Mailbox[str] = Mailbox(4)
    got: list[str] = []

    async def read() -> None:
        got.append(await mailbox.get())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(read)
        await trio.testing.wait_all_tasks_blocked()
        assert got == []
        mailbox.put_nowait("hello")
    assert got == ["hello"]


async def test_a_closed_mailbox_refuses_puts_and_ends_after_what_was_queued() -> None:
    mailbox: Mailbox[int] = Mailbox(4)
    mailbox.put_nowait(7)
    mailbox.close()
    with pytest.raises(trio.ClosedResourceError):
        mailbox.put_nowait(8)
    assert await mailbox.get() == 7
    with pytest.raises(trio.EndOfChannel):
        await mailbox.get()


async def test_closing_wakes_a_waiting_reader_with_the_end() -> None:
    mailbox: Mailbox[int] = Mailbox(4)
    ended = trio.Event()

    async def read() -> None:
        with pytest.raises(trio.EndOfChannel):
            await mailbox.get()
        ended.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(read)
        await trio.testing.wait_all_tasks_blocked()
        mailbox.close()
    assert ended.is_set()


async def test_a_cancelled_wait_leaves_the_mailbox_usable() -> None:
    mailbox: Mailbox[int] = Mailbox(4)
    with trio.move_on_after(0.01):
        await mailbox.get()
    mailbox.put_nowait(1)
    assert await mailbox.get() == 1


async def test_only_one_task_may_wait_on_a_mailbox() -> None:
    mailbox: Mailbox[int] = Mailbox(4)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(mailbox.get)
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(trio.BusyResourceError):
            await mailbox.get()
        mailbox.put_nowait(1)
