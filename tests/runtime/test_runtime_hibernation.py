"""Hibernation: an idle actor that may hibernate keeps its state but not its task.

Thousands of lab actors sit idle; each used to hold a task, its coroutine frames and a
nursery. An actor with ``may_hibernate`` gives them up whenever its mailbox is empty and no
background work runs, and its next message starts a new task that continues the same
incarnation: same behaviour instance, same exit hooks, no ``on_start``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
import trio
import trio.testing

from actors.runtime import (
    ActorRef,
    ActorStatus,
    ActorSystem,
    Request,
    RestartLimits,
    RestartPolicy,
    Supervisor,
)
from tests.runtime.helpers import Explode, Journal, Record, Recorder, Seen, Stop

FAST = RestartLimits(max_restarts=3, window=10.0, backoff_initial=0.01, backoff_max=0.05)


class Sleeper(Recorder):
    """A recorder that hibernates when idle, and whose exit hooks are counted."""

    kind = "sleeper"
    may_hibernate = True

    def __init__(self, journal: Journal, exits: list[BaseException | None]) -> None:
        super().__init__(journal)
        self.exits = exits

    async def on_start(self) -> None:
        await super().on_start()
        self.context.on_exit(self.exits.append)

    async def handle(self, message: object) -> object:
        if isinstance(message, Background):
            self.context.start_soon(trio.sleep, message.seconds)
            return None
        return await super().handle(message)


@dataclass(frozen=True)
class Background(Request[None]):
    seconds: float


@asynccontextmanager
async def sleeper(
    policy: RestartPolicy = RestartPolicy.PERMANENT,
) -> AsyncIterator[tuple[ActorRef, ActorSystem, Journal, list[BaseException | None]]]:
    journal = Journal()
    exits: list[BaseException | None] = []
    ref = ActorRef("sleeper", lambda: Sleeper(journal, exits))
    system = ActorSystem(Supervisor("root", [(ref, policy)], limits=FAST))
    async with trio.open_nursery() as nursery:
        await nursery.start(system.run)
        yield ref, system, journal, exits
        nursery.cancel_scope.cancel()


async def _idle(ref: ActorRef) -> None:
    with trio.fail_after(5):
        while not ref.hibernating:
            await trio.testing.wait_all_tasks_blocked()


async def test_an_idle_actor_hibernates_and_its_next_message_finds_its_state() -> None:
    async with sleeper() as (ref, _, journal, exits):
        ref.tell(Record(1))
        await _idle(ref)
        assert ref.status is ActorStatus.RUNNING  # alive, only without a task
        ref.tell(Record(2))
        assert await ref.ask(Seen(), timeout=5) == [1, 2]
        await _idle(ref)
        assert await ref.ask(Seen(), timeout=5) == [1, 2]
        assert len(journal.starts) == 1  # one incarnation, woken twice
        assert exits == []  # its exit hooks are kept for its real end
        assert ref.restarts == 0


async def test_an_actor_with_background_work_stays_awake() -> None:
    async with sleeper() as (ref, _, _journal, _exits):
        await _idle(ref)
        ref.tell(Background(0.2))
        await trio.testing.wait_all_tasks_blocked()
        assert not ref.hibernating  # its work runs in the incarnation's nursery
        await _idle(ref)  # once the work ends, by itself
        ref.tell(Record(1))
        assert await ref.ask(Seen(), timeout=5) == [1]


async def test_a_crash_after_waking_restarts_with_fresh_state() -> None:
    async with sleeper() as (ref, _, journal, exits):
        ref.tell(Record(1))
        await _idle(ref)
        with pytest.raises(RuntimeError, match="boom"):
            await ref.ask(Explode(), timeout=5)
        assert await ref.ask(Seen(), timeout=5) == []
        assert len(journal.starts) == 2
        assert len(exits) == 1
        assert exits[0] is not None  # the crash (as the incarnation's nursery raised it)


async def test_stopping_a_hibernating_actor_ends_its_incarnation_once() -> None:
    async with sleeper(RestartPolicy.TRANSIENT) as (ref, system, _journal, exits):
        await _idle(ref)
        with trio.fail_after(5):
            await ref.ask(Stop(), timeout=5)
            await ref.finished.wait()
        assert exits == [None]
        assert system.find("sleeper") is None


async def test_a_hibernating_actor_is_stopped_with_its_system() -> None:
    async with sleeper() as (ref, system, _journal, exits):
        await _idle(ref)
        system.stop()
        with trio.fail_after(5):
            await ref.finished.wait()
    assert exits == [None]
