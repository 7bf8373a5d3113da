"""An actor handles its messages one at a time, in order, and answers asks."""

from __future__ import annotations

import gc
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
import trio

from actors.runtime import (
    Actor,
    ActorRef,
    ActorStatus,
    ActorStopped,
    ActorSystem,
    AskTimeout,
    MailboxFull,
    Request,
    RestartLimits,
    RestartPolicy,
    Supervisor,
    UnknownMessage,
)
from tests.runtime.helpers import Explode, Journal, Record, Recorder, Refuse, Refused, Seen, Sleep

FAST = RestartLimits(max_restarts=3, window=10.0, backoff_initial=0.01, backoff_max=0.05)


@asynccontextmanager
async def running(
    ref: ActorRef, policy: RestartPolicy = RestartPolicy.PERMANENT
) -> AsyncIterator[ActorSystem]:
    system = ActorSystem(Supervisor("root", [(ref, policy)], limits=FAST))
    async with trio.open_nursery() as nursery:
        await nursery.start(system.run)
        yield system
        nursery.cancel_scope.cancel()


async def test_messages_are_handled_in_the_order_they_were_sent() -> None:
    ref = ActorRef("recorder", Recorder, mailbox_size=1000)
    with trio.fail_after(5):
        async with running(ref):
            for value in range(500):
                ref.tell(Record(value))
            assert await ref.ask(Seen(), timeout=5) == list(range(500))


async def test_ask_returns_the_handlers_reply() -> None:
    ref = ActorRef("recorder", Recorder)
    with trio.fail_after(5):
        async with running(ref):
            await ref.ask(Record(7), timeout=1)
            assert await ref.ask(Seen(), timeout=1) == [7]


async def test_a_domain_error_reaches_the_caller_and_the_actor_keeps_its_state() -> None:
    ref = ActorRef("recorder", Recorder)
    with trio.fail_after(5):
        async with running(ref):
            ref.tell(Record(1))
            with pytest.raises(Refused, match="not today"):
                await ref.ask(Refuse("not today"), timeout=1)
            assert await ref.ask(Seen(), timeout=1) == [1]
            assert ref.restarts == 0


async def test_a_crash_reaches_the_caller_and_the_actor_restarts_with_fresh_state() -> None:
    ref = ActorRef("recorder", Recorder)
    with trio.fail_after(5):
        async with running(ref):
            ref.tell(Record(1))
            with pytest.raises(RuntimeError, match="boom"):
                await ref.ask(Explode(), timeout=1)
            assert await ref.ask(Seen(), timeout=1) == []
            assert ref.restarts == 1
            assert ref.last_error == "RuntimeError: boom"


async def test_messages_queued_during_a_crash_are_handled_by_the_next_incarnation() -> None:
    ref = ActorRef("recorder", Recorder)
    with trio.fail_after(5):
        async with running(ref):
            ref.tell(Explode())
            ref.tell(Record(2))
            assert await ref.ask(Seen(), timeout=1) == [2]


async def test_an_unknown_message_is_refused_without_a_crash() -> None:
    ref = ActorRef("recorder", Recorder)
    with trio.fail_after(5):
        async with running(ref):
            with pytest.raises(UnknownMessage, match="does not handle object"):
                await ref.ask(object(), timeout=1)  # type: ignore[arg-type]
            assert ref.restarts == 0


async def test_ask_times_out_when_the_reply_is_late(autojump_clock: trio.abc.Clock) -> None:
    ref = ActorRef("recorder", Recorder)
    with trio.fail_after(60):
        async with running(ref):
            start = trio.current_time()
            with pytest.raises(AskTimeout, match="did not answer Sleep within 2s"):
                await ref.ask(Sleep(10), timeout=2)
            assert trio.current_time() - start == pytest.approx(2)
            # The actor finishes the slow message and carries on.
            assert await ref.ask(Seen(), timeout=20) == []


async def test_a_full_mailbox_is_refused_with_a_retry_hint() -> None:
    ref = ActorRef("recorder", Recorder, mailbox_size=3)
    with trio.fail_after(5):
        async with running(ref):
            ref.tell(Sleep(0.2))
            await trio.sleep(0.05)  # the sleep is being handled; three more fill the mailbox
            for value in range(3):
                ref.tell(Record(value))
            with pytest.raises(MailboxFull) as refused:
                ref.tell(Record(99))
            assert refused.value.retry_after >= 1
            assert refused.value.capacity == 3
            with pytest.raises(MailboxFull):
                await ref.ask(Seen(), timeout=1)
            await trio.sleep(0.3)
            assert await ref.ask(Seen(), timeout=1) == [0, 1, 2]


async def test_a_stopped_actor_refuses_messages_and_fails_queued_asks() -> None:
    ref = ActorRef("recorder", Recorder)
    with trio.fail_after(5):
        async with running(ref, RestartPolicy.TRANSIENT):
            ref.tell(Record(1))
            ref.request_stop()
            with pytest.raises(ActorStopped):
                ref.tell(Record(2))
            await ref.finished.wait()
            assert ref.status is ActorStatus.STOPPED
            assert ref.processed == 1


async def test_inspecting_a_busy_actor_answers_at_once(autojump_clock: trio.abc.Clock) -> None:
    ref = ActorRef("recorder", Recorder)
    with trio.fail_after(5):
        async with running(ref) as system:
            ref.tell(Sleep(30))
            ref.tell(Record(1))
            await trio.sleep(0.05)
            before = trio.current_time()
            snapshot = system.find("recorder")
            assert trio.current_time() == before  # no checkpoint: nothing was awaited
            assert snapshot is not None
            assert snapshot.current_message == "Sleep"
            assert snapshot.current_since is not None
            assert snapshot.mailbox_depth == 1
            assert snapshot.mailbox_capacity == 64
            assert snapshot.status == "running"
            assert snapshot.kind == "recorder"
            assert snapshot.phase == "seen-0"


def test_journal_helper_is_independent_per_instance() -> None:
    # Guards the helpers themselves: each test gets its own start journal.
    assert Journal().starts == []


class _Answer:
    """A reply that can be watched with a weak reference."""


@dataclass(frozen=True)
class _Ask(Request[_Answer]):
    pass


class _Answering(Actor):
    kind = "answering"

    async def handle(self, message: object) -> object:
        return _Answer()


async def test_an_idle_actor_keeps_nothing_of_its_last_message_or_reply() -> None:
    ref = ActorRef("answering", _Answering)
    with trio.fail_after(5):
        async with running(ref):
            answer = weakref.ref(await ref.ask(_Ask(), timeout=1))
            await trio.sleep(0.01)  # the actor is back to waiting for mail
            gc.collect()
            assert answer() is None
