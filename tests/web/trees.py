"""Small actor trees for the web tests (and for the CLI subprocess tests, by import path)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio

from actors.config import ControllerConfig
from actors.controller import Controller
from actors.runtime import (
    Actor,
    ActorRef,
    ActorSystem,
    Request,
    RestartLimits,
    RestartPolicy,
    Supervisor,
)


@dataclass(frozen=True)
class Nap(Request[str]):
    """Ask the napper to sleep before answering (to make asks time out)."""

    seconds: float


class Napper(Actor):
    """Answers ``Nap`` after sleeping; the only actor the small tree needs."""

    kind = "napper"

    async def handle(self, message: object) -> object:
        if isinstance(message, Nap):
            await trio.sleep(message.seconds)
            return "rested"
        return await super().handle(message)


class CrashOnStart(Actor):
    """Fails every start, so that its supervisor escalates at once."""

    kind = "crasher"

    async def on_start(self) -> None:
        raise RuntimeError("this actor cannot start")


def small_system(_config: ControllerConfig | None = None) -> ActorSystem:
    """root → napper, labs → lab/alice: enough to inspect and to find by a slashed name."""
    labs = Supervisor("labs", [(ActorRef("lab/alice", Napper), RestartPolicy.PERMANENT)])
    root = Supervisor(
        "root",
        [(ActorRef("napper", Napper), RestartPolicy.PERMANENT), (labs, RestartPolicy.PERMANENT)],
    )
    return ActorSystem(root)


def failing_system(_config: ControllerConfig | None = None) -> ActorSystem:
    """A root supervisor that gives up right after starting: its only child cannot start."""
    root = Supervisor(
        "root",
        [(ActorRef("crasher", CrashOnStart), RestartPolicy.PERMANENT)],
        limits=RestartLimits(max_restarts=0, window=60.0, backoff_initial=0.01),
    )
    return ActorSystem(root)


@asynccontextmanager
async def failing_controller(config: ControllerConfig) -> AsyncIterator[Controller]:
    """The CLI's controller factory, with the failing tree instead of the real services."""
    yield Controller(system=failing_system(config))
