"""One row of the admin dashboard's lab list: the lab's state plus where its operation is.

Built from what the lab service already holds (the directory's state and the user's event
stream), without asking the lab actor: listing 3,000 labs is one message to the directory.
"""

from __future__ import annotations

from dataclasses import dataclass

from actors.common.models import LabState
from actors.labs.events import LabEvent, LabEventType

__all__ = ["LabSummary", "summarize"]


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
