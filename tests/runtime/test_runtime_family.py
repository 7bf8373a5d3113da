"""The per-key actor family every per-user service is built on (``actors.common.family``)."""

from __future__ import annotations

import trio

from actors.common.family import ActorFamily, tell_directory
from actors.runtime import (
    Actor,
    ActorRef,
    ActorSystem,
    Request,
    RestartLimits,
    RestartPolicy,
    Supervisor,
)

LIMITS = RestartLimits(max_restarts=3, window=10.0, backoff_initial=0.01, backoff_max=0.05)


class Initial(Request[str | None]):
    pass


class Member(Actor):
    kind = "member"

    def __init__(self, key: str, initial: str | None) -> None:
        self.key = key
        self.initial = initial

    async def handle(self, message: object) -> object:
        if isinstance(message, Initial):
            return self.initial
        return await super().handle(message)


class Directory(Actor):
    kind = "directory"


async def test_members_start_from_what_was_observed_once_and_run_under_the_service() -> None:
    family: ActorFamily[str] = ActorFamily(
        members="members", kind="member", limits=LIMITS, make_member=Member
    )
    manager = ActorRef("directory", Directory)
    service = family.assemble("service", manager)
    system = ActorSystem(Supervisor("root", [(service, RestartPolicy.PERMANENT)]))
    async with trio.open_nursery() as nursery:
        await nursery.start(system.run)
        with trio.fail_after(5):
            observed = family.start_observed("alice", "seen running")
            assert await observed.ask(Initial(), timeout=5) == "seen running"
            family.prime("bob", "seen absent")
            assert await family.registry.get_or_start("bob").ask(Initial(), timeout=5) == (
                "seen absent"
            )
            # The observation is taken once: a later start of another key gets none.
            assert await family.registry.get_or_start("carol").ask(Initial(), timeout=5) is None
        described = system.find("service")
        assert described is not None
        assert [child.name for child in described.children] == ["directory", "members"]
        nursery.cancel_scope.cancel()


def test_a_directory_that_cannot_take_an_update_is_logged_not_raised() -> None:
    manager = ActorRef("directory", Directory, mailbox_size=1)
    manager.tell("first")
    tell_directory(manager, "second", "Test directory")  # full: logged, no exception
