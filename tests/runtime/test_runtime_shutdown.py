"""Cancelling the system's nursery stops every actor and leaves no task behind."""

from __future__ import annotations

import pytest
import trio

from actors.runtime import (
    ActorRef,
    ActorStatus,
    ActorStopped,
    ActorSystem,
    Registry,
    RestartPolicy,
    Supervisor,
)
from tests.runtime.helpers import Record, Recorder, Sleep


def live_tasks() -> set[trio.lowlevel.Task]:
    tasks: set[trio.lowlevel.Task] = set()
    pending = [trio.lowlevel.current_root_task()]
    while pending:
        task = pending.pop()
        if task is None:
            continue
        tasks.add(task)
        for nursery in task.child_nurseries:
            pending.extend(nursery.child_tasks)
    return tasks


async def test_cancelling_the_system_leaves_no_task_behind() -> None:
    before = live_tasks()
    labs = Supervisor("labs")
    registry = Registry(labs, "lab", lambda _user: Recorder())
    singleton = ActorRef("images", Recorder)
    system = ActorSystem(
        Supervisor("root", [(labs, RestartPolicy.PERMANENT), (singleton, RestartPolicy.PERMANENT)])
    )
    outcome: list[BaseException] = []

    async def ask_slowly(slow: ActorRef) -> None:
        try:
            await slow.ask(Sleep(60), timeout=60)
        except ActorStopped as error:
            outcome.append(error)

    with trio.fail_after(5):
        async with trio.open_nursery() as askers, trio.open_nursery() as nursery:
            await nursery.start(system.run)
            for user in range(100):
                registry.get_or_start(f"user{user}").tell(Record(user))
            # One actor is in the middle of a long message when the shutdown comes.
            slow = registry.get_or_start("slow")
            askers.start_soon(ask_slowly, slow)
            await singleton.ask(Record(1), timeout=1)
            assert len(live_tasks() - before) > 100
            nursery.cancel_scope.cancel()
    # The asker was told at once that its actor stopped, instead of waiting out its timeout.
    assert [type(error) for error in outcome] == [ActorStopped]
    assert live_tasks() == before
    assert len(registry) == 0
    assert singleton.status is ActorStatus.STOPPED
    with pytest.raises(ActorStopped):
        slow.tell(Record(1))


async def test_stop_ends_run_and_refuses_later_messages() -> None:
    ref = ActorRef("images", Recorder)
    system = ActorSystem(Supervisor("root", [(ref, RestartPolicy.PERMANENT)]))
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(system.run)
            await ref.ask(Record(1), timeout=1)
            system.stop()
    assert system.root.status is ActorStatus.STOPPED
    with pytest.raises(ActorStopped):
        ref.tell(Record(2))
