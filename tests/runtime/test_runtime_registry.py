"""A registry creates one actor per key on demand and lets its owner retire idle ones."""

from __future__ import annotations

import contextvars
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
import trio
import trio.lowlevel

from actors.runtime import (
    Actor,
    ActorStopped,
    ActorSystem,
    Registry,
    Request,
    RestartPolicy,
    Supervisor,
)
from tests.runtime.helpers import Journal, Record, Recorder, Seen, Stop


@asynccontextmanager
async def user_actors() -> AsyncIterator[tuple[Registry, dict[str, Journal]]]:
    journals: dict[str, Journal] = {}

    def make(user: str) -> Recorder:
        return Recorder(journals.setdefault(user, Journal()))

    labs = Supervisor("labs")
    registry = Registry(labs, "lab", make)
    system = ActorSystem(Supervisor("root", [(labs, RestartPolicy.PERMANENT)]))
    async with trio.open_nursery() as nursery:
        await nursery.start(system.run)
        yield registry, journals
        nursery.cancel_scope.cancel()


async def test_concurrent_get_or_start_for_one_key_creates_exactly_one_actor() -> None:
    refs = []
    with trio.fail_after(5):
        async with user_actors() as (registry, journals):

            async def spawn(value: int) -> None:
                await trio.lowlevel.checkpoint()
                ref = registry.get_or_start("alice")
                refs.append(ref)
                await ref.ask(Record(value), timeout=1)

            async with trio.open_nursery() as nursery:
                for value in range(50):
                    nursery.start_soon(spawn, value)
            assert len({id(ref) for ref in refs}) == 1
            assert len(journals["alice"].starts) == 1
            assert sorted(await refs[0].ask(Seen(), timeout=1)) == list(range(50))
            assert list(registry.keys()) == ["alice"]


async def test_actors_are_named_by_prefix_and_key_and_findable_in_the_tree() -> None:
    with trio.fail_after(5):
        async with user_actors() as (registry, _):
            registry.get_or_start("alice")
            registry.get_or_start("bob")
            assert registry.name_of("bob") == "lab/bob"
            assert registry.get("alice") is not None
            assert registry.get("carol") is None
            assert "carol" not in registry


async def test_a_retired_actor_is_replaced_by_a_fresh_one_on_next_lookup() -> None:
    with trio.fail_after(5):
        async with user_actors() as (registry, journals):
            old = registry.get_or_start("alice")
            await old.ask(Record(1), timeout=1)
            assert registry.retire("alice")
            assert registry.get("alice") is None
            with pytest.raises(ActorStopped):
                old.tell(Record(2))
            new = registry.get_or_start("alice")
            assert new is not old
            assert await new.ask(Seen(), timeout=1) == []
            # The fresh one started only after the old one had finished.
            assert old.finished.is_set()
            assert len(journals["alice"].starts) == 2
            assert not registry.retire("nobody")


async def test_an_actor_that_stops_itself_is_forgotten() -> None:
    with trio.fail_after(5):
        async with user_actors() as (registry, _):
            ref = registry.get_or_start("alice")
            await ref.ask(Stop(), timeout=1)
            await ref.finished.wait()
            assert registry.get("alice") is None
            assert len(registry) == 0
            assert registry.get_or_start("alice") is not ref


async def test_owner_can_find_idle_actors(autojump_clock: trio.abc.Clock) -> None:
    with trio.fail_after(100):
        async with user_actors() as (registry, _):
            busy = registry.get_or_start("busy")
            idle = registry.get_or_start("idle")
            await idle.ask(Record(1), timeout=1)
            await trio.sleep(30)
            await busy.ask(Record(1), timeout=1)
            stale = [key for key in registry if registry.get_or_start(key).idle_for() > 20]
            assert stale == ["idle"]


REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")


@dataclass(frozen=True)
class ReadRequestId(Request[str | None]):
    pass


class ContextProbe(Actor):
    kind = "probe"

    async def handle(self, message: object) -> object:
        assert isinstance(message, ReadRequestId)
        return REQUEST_ID.get(None)


async def test_an_actor_started_while_handling_a_request_does_not_inherit_its_context() -> None:
    labs = Supervisor("labs")
    registry = Registry(labs, "lab", lambda _: ContextProbe())
    system = ActorSystem(Supervisor("root", [(labs, RestartPolicy.PERMANENT)]))
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(system.run)
            REQUEST_ID.set("request-1")  # as a route handler's logging context would
            ref = registry.get_or_start("alice")
            assert await ref.ask(ReadRequestId(), timeout=1) is None
            nursery.cancel_scope.cancel()


def _live_would_block() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, trio.WouldBlock))


async def test_idle_actors_keep_no_exception_alive_while_they_wait() -> None:
    before = _live_would_block()  # other tests may have left some for the collector
    with trio.fail_after(5):
        async with user_actors() as (registry, _):
            for index in range(20):
                await registry.get_or_start(f"user{index}").ask(Record(index), timeout=1)
            await trio.sleep(0.01)  # every actor is back to waiting for mail
            assert _live_would_block() - before < 20
