"""What the admin dashboard follows about labs as a whole: a change counter and spawn rates.

Both are fed by the lab service's existing hooks (every state report, every published event),
so no lab actor does any extra work for them, and a dashboard that is not open costs one
integer increment and one bucket update per event.

``LabActivity.version`` changes whenever any lab's state or events change; a feed waits on it
instead of polling 3,000 labs. The spawn counters keep one bucket per ``BUCKET_SECONDS`` for
the last ``WINDOW_BUCKETS`` buckets: spawns accepted, spawns completed (a ``complete``
event: only spawns and the monitoring of a spawn found in progress end that way), and
operations that failed (a ``failed`` event, a spawn's or a delete's).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import trio

from actors.labs.events import LabEvent, LabEventType
from actors.runtime.changes import ChangeCounter

__all__ = ["BUCKET_SECONDS", "WINDOW_BUCKETS", "ActivityBucket", "LabActivity"]

BUCKET_SECONDS = 10.0
WINDOW_BUCKETS = 60
"""Ten minutes of history."""


@dataclass
class ActivityBucket:
    """Counts for one ``BUCKET_SECONDS`` slice; ``index`` is its start over the bucket size."""

    index: int
    started: int = 0
    completed: int = 0
    failed: int = 0


class LabActivity(ChangeCounter):
    """A change counter for all labs (a state report or an event is a change), plus spawn
    counts over the last ten minutes."""

    __slots__ = ("_buckets",)

    def __init__(self) -> None:
        super().__init__()
        self._buckets: deque[ActivityBucket] = deque(maxlen=WINDOW_BUCKETS)

    def spawn_accepted(self) -> None:
        self._bucket().started += 1
        self.changed()

    def observe(self, event: LabEvent) -> None:
        """Count an event of any lab's stream."""
        if event.type is LabEventType.COMPLETE:
            self._bucket().completed += 1
        elif event.type is LabEventType.FAILED:
            self._bucket().failed += 1
        self.changed()

    def window(self) -> list[ActivityBucket]:
        """Every bucket of the window, oldest first, empty ones included (the last is now)."""
        now = self._index()
        by_index = {bucket.index: bucket for bucket in self._buckets}
        first = now - WINDOW_BUCKETS + 1
        return [by_index.get(i) or ActivityBucket(i) for i in range(first, now + 1)]

    def _index(self) -> int:
        return int(trio.current_time() // BUCKET_SECONDS)

    def _bucket(self) -> ActivityBucket:
        index = self._index()
        if not self._buckets or self._buckets[-1].index != index:
            self._buckets.append(ActivityBucket(index))
        return self._buckets[-1]
