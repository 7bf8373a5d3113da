"""Small actors used by the runtime tests to exercise one behaviour each."""

from __future__ import annotations

from dataclasses import dataclass, field

import trio

from actors.runtime import Actor, DomainError, Request


@dataclass(frozen=True)
class Record(Request[None]):
    value: int


@dataclass(frozen=True)
class Seen(Request[list[int]]):
    pass


@dataclass(frozen=True)
class Refuse(Request[None]):
    reason: str


@dataclass(frozen=True)
class Explode(Request[None]):
    pass


@dataclass(frozen=True)
class Sleep(Request[str]):
    seconds: float


@dataclass(frozen=True)
class Stop(Request[None]):
    pass


class Refused(DomainError):
    pass


@dataclass
class Journal:
    """Shared record of what incarnations of an actor did, kept outside the actors."""

    starts: list[float] = field(default_factory=list)


class Recorder(Actor):
    """Records values in order; can refuse, crash, sleep or stop on request."""

    kind = "recorder"

    def __init__(self, journal: Journal | None = None) -> None:
        self.seen: list[int] = []
        self.journal = journal

    async def on_start(self) -> None:
        if self.journal is not None:
            self.journal.starts.append(trio.current_time())

    async def handle(self, message: object) -> object:
        match message:
            case Record(value):
                self.seen.append(value)
                return None
            case Seen():
                return list(self.seen)
            case Refuse(reason):
                raise Refused(reason)
            case Explode():
                raise RuntimeError("boom")
            case Sleep(seconds):
                await trio.sleep(seconds)
                return "slept"
            case Stop():
                self.context.stop()
                return None
        return await super().handle(message)

    @property
    def phase(self) -> str:
        return f"seen-{len(self.seen)}"


class CrashOnStart(Actor):
    """Fails in on_start every time: the shape of an actor whose state cannot be rebuilt."""

    kind = "crasher"

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    async def on_start(self) -> None:
        self.journal.starts.append(trio.current_time())
        raise RuntimeError("cannot rebuild state")


class StopsAtOnce(Actor):
    """Ends normally as soon as it starts."""

    kind = "oneshot"

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    async def on_start(self) -> None:
        self.journal.starts.append(trio.current_time())
        self.context.stop()
