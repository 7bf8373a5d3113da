"""One row of the admin dashboard's lab list: the lab's state plus where its operation is.

Built from what the lab service already holds (the directory's state and the user's event
stream), without asking the lab actor: listing 3,000 labs is one message to the directory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from actors.common.models import LabState
from actors.labs.events import LabEvent, LabEventType

__all__ = ["LabSummary", "SummaryCache", "summarize"]


@dataclass(frozen=True)
class LabSummary:
    """A lab as the dashboard and ``nublado-trio labs`` show it.

    ``progress`` and ``message`` come from the current (or last) operation's events:
    ``in_progress`` is true while an operation runs, ``outcome`` is ``complete`` or ``failed``
    once it ended that way. ``since`` is the wall-clock time the controller first saw the lab.
    """

    user: str
    status: str
    size: str
    image: str
    since: float
    in_progress: bool
    progress: int | None
    message: str | None
    outcome: str | None

    def as_json(self) -> dict[str, object]:
        """The row as JSON (the same dict each time: a row is made once per change)."""
        return self._json

    @cached_property
    def _json(self) -> dict[str, object]:
        return {
            "user": self.user,
            "status": self.status,
            "size": self.size,
            "image": self.image,
            "since": round(self.since, 3),
            "in_progress": self.in_progress,
            "progress": self.progress,
            "message": self.message,
            "outcome": self.outcome,
        }


def summarize(
    user: str, state: LabState, since: float, events: list[LabEvent], *, in_progress: bool
) -> LabSummary:
    """The row for ``user`` from its state and its current operation's ``events``."""
    progress = next((e.progress for e in reversed(events) if e.progress is not None), None)
    last = events[-1] if events else None
    outcome = last.type.value if last is not None and last.type.is_final else None
    if last is not None and last.type is LabEventType.COMPLETE:
        progress = 100
    return LabSummary(
        user=user,
        status=state.status.value,
        size=state.options.size.value,
        image=state.options.image,
        since=since,
        in_progress=in_progress,
        progress=progress,
        message=last.message if last is not None else None,
        outcome=outcome,
    )


class SummaryCache:
    """Rows rebuilt only for labs that changed since the last listing.

    Lab states are immutable and replaced on every change, and an operation's events only
    grow (a new operation starts from none), so the same state object with as many events,
    the same operation flag and the same "since" is the same row: listing 3,000 labs of
    which a few changed rebuilds a few rows.
    """

    def __init__(self) -> None:
        self._rows: dict[str, tuple[LabState, int, bool, float, LabSummary]] = {}

    def rows(
        self,
        states: dict[str, tuple[LabState, float]],
        events_of: Callable[[str], list[LabEvent]],
        in_progress: Callable[[str], bool],
    ) -> list[LabSummary]:
        """One row per lab of ``states``; rows of labs no longer there are forgotten."""
        rows = []
        fresh: dict[str, tuple[LabState, int, bool, float, LabSummary]] = {}
        for user, (state, since) in states.items():
            events = events_of(user)
            busy = in_progress(user)
            cached = self._rows.get(user)
            if (
                cached is not None
                and cached[0] is state
                and cached[1:4] == (len(events), busy, since)
            ):
                row = cached[4]
            else:
                row = summarize(user, state, since, events, in_progress=busy)
            fresh[user] = (state, len(events), busy, since, row)
            rows.append(row)
        self._rows = fresh
        return rows
