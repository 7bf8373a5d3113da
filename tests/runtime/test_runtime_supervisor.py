"""Supervisors restart crashed children by policy, back off, and escalate past their limits."""

from __future__ import annotations

import itertools

import pytest
import trio

from actors.runtime import (
    ActorRef,
    ActorStatus,
    ActorSystem,
    RestartLimits,
    RestartPolicy,
    RootSupervisorFailed,
    Supervisor,
)
from tests.runtime.helpers import (
    CrashOnStart,
    Explode,
    Journal,
    Record,
    Recorder,
    Seen,
    Stop,
    StopsAtOnce,
)

LIMITS = RestartLimits(max_restarts=4, window=60.0, backoff_initial=1.0, backoff_max=5.0)


def gaps(times: list[float]) -> list[float]:
    return [round(later - earlier, 3) for earlier, later in itertools.pairwise(times)]


async def test_a_crashing_child_is_restarted_with_exponential_backoff(
    autojump_clock: trio.abc.Clock,
) -> None:
    journal = Journal()
    ref = ActorRef("crasher", lambda: CrashOnStart(journal))
    limits = RestartLimits(max_restarts=100, window=1000.0, backoff_initial=1.0, backoff_max=5.0)
    system = ActorSystem(Supervisor("root", [(ref, RestartPolicy.PERMANENT)], limits=limits))
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            await nursery.start(system.run)
            while len(journal.starts) < 6:
                await trio.sleep(0.5)
            nursery.cancel_scope.cancel()
    # 1, 2, 4 seconds, then capped at 5.
    assert gaps(journal.starts)[:5] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert ref.restarts >= 5
    assert ref.last_error == "RuntimeError: cannot rebuild state"


async def test_too_many_restarts_escalate_to_the_parent(autojump_clock: trio.abc.Clock) -> None:
    journal = Journal()
    crasher = ActorRef("crasher", lambda: CrashOnStart(journal))
    calm = ActorRef("calm", Recorder)
    child = Supervisor(
        "child",
        [(crasher, RestartPolicy.PERMANENT), (calm, RestartPolicy.PERMANENT)],
        limits=LIMITS,
    )
    root_limits = RestartLimits(max_restarts=1, window=1000.0, backoff_initial=1.0)
    system = ActorSystem(Supervisor("root", [(child, RestartPolicy.PERMANENT)], limits=root_limits))
    escalated = pytest.RaisesGroup(
        pytest.RaisesExc(RootSupervisorFailed, match="child child restarted .*escalating")
    )
    with trio.fail_after(1000), escalated:
        async with trio.open_nursery() as nursery:
            await nursery.start(system.run)
    # The child supervisor gave up after 4 restarts, was restarted once by the root (which
    # started its children afresh), gave up again, and then the root gave up.
    assert len(journal.starts) == 2 * (LIMITS.max_restarts + 1)
    assert child.restarts == 1
    assert child.last_error is not None
    assert "SupervisorEscalation" in child.last_error


async def test_escalation_restarts_the_siblings_of_the_failing_child(
    autojump_clock: trio.abc.Clock,
) -> None:
    journal = Journal()
    crasher = ActorRef("crasher", lambda: CrashOnStart(journal))
    calm_journal = Journal()
    calm = ActorRef("calm", lambda: Recorder(calm_journal))
    child = Supervisor(
        "child",
        [(crasher, RestartPolicy.PERMANENT), (calm, RestartPolicy.PERMANENT)],
        limits=LIMITS,
    )
    root_limits = RestartLimits(max_restarts=10, window=1000.0, backoff_initial=1.0)
    system = ActorSystem(Supervisor("root", [(child, RestartPolicy.PERMANENT)], limits=root_limits))
    with trio.fail_after(1000):
        async with trio.open_nursery() as nursery:
            await nursery.start(system.run)
            calm.tell(Record(1))
            assert await calm.ask(Seen(), timeout=5) == [1]
            while len(calm_journal.starts) < 2:
                await trio.sleep(0.5)
            # The calm sibling came back with fresh state; the reference stayed valid.
            assert await calm.ask(Seen(), timeout=5) == []
            assert child.restarts == 1
            nursery.cancel_scope.cancel()


async def test_permanent_children_come_back_even_after_a_normal_exit(
    autojump_clock: trio.abc.Clock,
) -> None:
    journal = Journal()
    ref = ActorRef("oneshot", lambda: StopsAtOnce(journal))
    limits = RestartLimits(max_restarts=100, window=1000.0, backoff_initial=1.0)
    system = ActorSystem(Supervisor("root", [(ref, RestartPolicy.PERMANENT)], limits=limits))
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            await nursery.start(system.run)
            while len(journal.starts) < 3:
                await trio.sleep(0.5)
            nursery.cancel_scope.cancel()
    assert ref.restarts >= 2


async def test_transient_children_are_restarted_after_a_crash_but_not_after_a_stop() -> None:
    ref = ActorRef("transient", Recorder)
    limits = RestartLimits(backoff_initial=0.01)
    system = ActorSystem(Supervisor("root", [(ref, RestartPolicy.TRANSIENT)], limits=limits))
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(system.run)
            with pytest.raises(RuntimeError):
                await ref.ask(Explode(), timeout=1)
            await ref.ask(Record(1), timeout=1)
            assert ref.restarts == 1
            await ref.ask(Stop(), timeout=1)
            await ref.finished.wait()
            assert ref.status is ActorStatus.STOPPED
            assert ref.restarts == 1
            assert system.find("transient") is None
            nursery.cancel_scope.cancel()


async def test_temporary_children_are_never_restarted() -> None:
    ref = ActorRef("temporary", Recorder)
    system = ActorSystem(Supervisor("root", [(ref, RestartPolicy.TEMPORARY)]))
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(system.run)
            with pytest.raises(RuntimeError):
                await ref.ask(Explode(), timeout=1)
            await ref.finished.wait()
            assert ref.status is ActorStatus.FAILED
            assert ref.restarts == 0
            assert system.find("temporary") is None
            nursery.cancel_scope.cancel()


async def test_root_supervisor_tree_is_inspectable() -> None:
    calm = ActorRef("calm", Recorder)
    child = Supervisor("child", [(calm, RestartPolicy.PERMANENT)])
    system = ActorSystem(Supervisor("root", [(child, RestartPolicy.PERMANENT)]))
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(system.run)
            await calm.ask(Record(3), timeout=1)
            tree = system.snapshot()
            assert tree.name == "root"
            assert tree.kind == "supervisor"
            assert [c.name for c in tree.children] == ["child"]
            assert tree.children[0].children[0].name == "calm"
            assert tree.children[0].children[0].processed == 1
            assert tree.children[0].children[0].phase == "seen-1"
            nursery.cancel_scope.cancel()


async def test_a_supervisor_that_does_not_escalate_gives_up_only_on_the_broken_child(
    autojump_clock: trio.abc.Clock,
) -> None:
    journal = Journal()
    crasher = ActorRef("lab/broken", lambda: CrashOnStart(journal))
    healthy = ActorRef("lab/healthy", Recorder)
    labs_limits = RestartLimits(max_restarts=3, window=60.0, backoff_initial=1.0, escalate=False)
    labs = Supervisor("labs", limits=labs_limits)
    root_limits = RestartLimits(max_restarts=0, window=1000.0)
    system = ActorSystem(Supervisor("root", [(labs, RestartPolicy.PERMANENT)], limits=root_limits))
    exits: list[str] = []
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            await nursery.start(system.run)
            labs.start_child(healthy, RestartPolicy.TRANSIENT)
            labs.start_child(
                crasher, RestartPolicy.TRANSIENT, on_exit=lambda n: exits.append(n.name)
            )
            await crasher.finished.wait()
            assert crasher.status is ActorStatus.FAILED
            assert len(journal.starts) == 4  # the first start and three restarts
            assert exits == ["lab/broken"]
            assert system.find("lab/broken") is None
            # Nothing escalated: the sibling and the supervisor carry on untouched.
            assert await healthy.ask(Record(1), timeout=1) is None
            assert labs.restarts == 0
            assert labs.status is ActorStatus.RUNNING
            nursery.cancel_scope.cancel()


async def test_giving_up_is_announced_to_the_observers_with_the_reason(
    autojump_clock: trio.abc.Clock,
) -> None:
    journal = Journal()
    crasher = ActorRef("lab/broken", lambda: CrashOnStart(journal))
    labs_limits = RestartLimits(max_restarts=2, window=60.0, backoff_initial=1.0, escalate=False)
    labs = Supervisor("labs", limits=labs_limits)
    inner = ActorRef("inner", lambda: CrashOnStart(Journal()))
    group = Supervisor("group", [(inner, RestartPolicy.PERMANENT)], limits=RestartLimits(1, 60.0))
    root = Supervisor(
        "root",
        [(labs, RestartPolicy.PERMANENT), (group, RestartPolicy.TEMPORARY)],
        limits=RestartLimits(max_restarts=0, window=1000.0),
    )
    system = ActorSystem(root)
    seen: list[tuple[str, str]] = []

    def broken_observer(name: str, reason: str) -> None:
        raise RuntimeError("an observer that fails must not break supervision")

    system.on_give_up(broken_observer)
    system.on_give_up(lambda name, reason: seen.append((name, reason)))
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            await nursery.start(system.run)
            labs.start_child(crasher, RestartPolicy.TRANSIENT)
            await crasher.finished.wait()
            await group.finished.wait()
            nursery.cancel_scope.cancel()
    reasons = dict(seen)
    assert sorted(reasons) == ["group", "lab/broken"]
    assert reasons["lab/broken"].startswith("crashed more than 2 times within 60 s")
    assert "RuntimeError: cannot rebuild state" in reasons["lab/broken"]
    assert "the supervisor fails and its parent decides" in reasons["group"]
    assert crasher.status is ActorStatus.FAILED
