"""Actor runtime figures: tell throughput, ask round trips, memory per idle actor.

Run by hand (``python bench/actors.py``) or in CI's short mode (``--short``). It prints figures
and the targets they are compared with; it asserts nothing, because shared machines are noisy.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

# This script shares its name with the ``actors`` package; when run as ``python
# bench/actors.py`` its own folder comes first on the path and would shadow the package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

import trio  # noqa: E402

from actors.runtime import (  # noqa: E402
    Actor,
    ActorSystem,
    Registry,
    Request,
    RestartPolicy,
    Supervisor,
)

TARGET_TELLS = 50_000
TARGET_ASKS = 20_000
TARGET_IDLE_BYTES = 10_000


@dataclass(frozen=True)
class Add(Request[int]):
    amount: int


class Counter(Actor):
    """The cheapest useful actor: one integer of state."""

    kind = "counter"

    def __init__(self) -> None:
        self.total = 0

    async def handle(self, message: object) -> object:
        if isinstance(message, Add):
            self.total += message.amount
            return self.total
        return await super().handle(message)


async def measure_tells(count: int) -> float:
    """Messages per second through one actor, sender and actor sharing the loop."""
    counters = Supervisor("counters")
    registry = Registry(counters, "counter", lambda _key: Counter(), mailbox_size=1024)
    system = ActorSystem(Supervisor("root", [(counters, RestartPolicy.PERMANENT)]))
    async with trio.open_nursery() as nursery:
        await nursery.start(system.run)
        ref = registry.get_or_start("one")
        message = Add(1)
        start = time.perf_counter()
        sent = 0
        while sent < count:
            for _ in range(1000):
                ref.tell(message)
            sent += 1000
            # One ask per batch waits until the actor has worked through the batch.
            await ref.ask(Add(0), timeout=10)
        total = await ref.ask(Add(0), timeout=10)
        elapsed = time.perf_counter() - start
        assert total == sent, "every tell must have been handled"
        nursery.cancel_scope.cancel()
    return sent / elapsed


async def measure_asks(count: int, concurrency: int) -> float:
    """Request/reply round trips per second from ``concurrency`` callers to one actor each."""
    counters = Supervisor("counters")
    registry = Registry(counters, "counter", lambda _key: Counter())
    system = ActorSystem(Supervisor("root", [(counters, RestartPolicy.PERMANENT)]))
    per_caller = count // concurrency
    message = Add(1)
    async with trio.open_nursery() as nursery:
        await nursery.start(system.run)
        refs = [registry.get_or_start(str(index)) for index in range(concurrency)]

        async def caller(index: int) -> None:
            ref = refs[index]
            for _ in range(per_caller):
                await ref.ask(message, timeout=10)

        start = time.perf_counter()
        async with trio.open_nursery() as callers:
            for index in range(concurrency):
                callers.start_soon(caller, index)
        elapsed = time.perf_counter() - start
        nursery.cancel_scope.cancel()
    return per_caller * concurrency / elapsed


async def measure_idle_memory(count: int) -> float:
    """Bytes of Python heap per started, idle actor (mailbox, task, state, bookkeeping)."""
    gc.collect()
    tracemalloc.start()
    counters = Supervisor("counters")
    registry = Registry(counters, "counter", lambda _key: Counter())
    system = ActorSystem(Supervisor("root", [(counters, RestartPolicy.PERMANENT)]))
    async with trio.open_nursery() as nursery:
        await nursery.start(system.run)
        await trio.sleep(0.01)
        gc.collect()
        baseline = tracemalloc.get_traced_memory()[0]
        for index in range(count):
            registry.get_or_start(str(index))
        await trio.sleep(0.5)  # every actor has started and is waiting for mail
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - baseline
        assert len(registry) == count
        nursery.cancel_scope.cancel()
    tracemalloc.stop()
    return used / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--short", action="store_true", help="small counts, for CI")
    args = parser.parse_args()
    tells = 50_000 if args.short else 500_000
    asks = 20_000 if args.short else 200_000
    idle = 2_000 if args.short else 10_000

    tell_rate = trio.run(measure_tells, tells)
    ask_rate_one = trio.run(measure_asks, asks, 1)
    ask_rate_many = trio.run(measure_asks, asks, 100)
    per_actor = trio.run(measure_idle_memory, idle)

    print(f"tell throughput:          {tell_rate:>10,.0f} msg/s   (target >= {TARGET_TELLS:,})")
    print(f"ask round trips, 1 caller:{ask_rate_one:>10,.0f} /s      (target >= {TARGET_ASKS:,})")
    print(f"ask round trips, 100 callers:{ask_rate_many:>7,.0f} /s")
    print(
        f"memory per idle actor:    {per_actor:>10,.0f} bytes  "
        f"(target <= {TARGET_IDLE_BYTES:,}; {idle:,} actors alive)"
    )


if __name__ == "__main__":
    main()
