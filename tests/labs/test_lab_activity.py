"""Spawn counts over the last ten minutes, and the change counter feeds wait on."""

from __future__ import annotations

import trio
import trio.testing

from actors.labs.activity import BUCKET_SECONDS, WINDOW_BUCKETS, LabActivity
from actors.labs.events import LabEvent


async def test_spawns_are_counted_in_ten_second_buckets_for_ten_minutes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    activity = LabActivity()
    activity.spawn_accepted()
    activity.spawn_accepted()
    activity.observe(LabEvent.info("Pulling image", 48))
    activity.observe(LabEvent.complete("Lab Kubernetes pod started for alice"))
    activity.observe(LabEvent.failed("Lab spawn failed"))
    window = activity.window()
    assert len(window) == WINDOW_BUCKETS
    now = window[-1]
    assert (now.started, now.completed, now.failed) == (2, 1, 1)
    assert all(b.started == b.completed == b.failed == 0 for b in window[:-1])

    await trio.sleep(BUCKET_SECONDS)
    activity.spawn_accepted()
    window = activity.window()
    assert [(b.started, b.completed, b.failed) for b in window[-2:]] == [(2, 1, 1), (1, 0, 0)]

    await trio.sleep(BUCKET_SECONDS * WINDOW_BUCKETS)
    assert sum(b.started for b in activity.window()) == 0  # all older than ten minutes


async def test_waiters_wake_on_any_change(autojump_clock: trio.testing.MockClock) -> None:
    activity = LabActivity()
    seen = activity.version
    woke: list[int] = []

    async def wait() -> None:
        woke.append(await activity.wait_changed(seen))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(wait)
        await trio.sleep(1)
        assert woke == []
        activity.changed()
    assert woke == [seen + 1]
    assert await activity.wait_changed(seen) == seen + 1  # already changed: no wait
