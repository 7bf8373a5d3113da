"""Benchmark: many concurrent watches through actors.kube against a standalone kubesim.

Starts ``python -m kubesim`` as a subprocess (so the server's CPU and memory are not
counted), creates N namespaces, opens one config-map watch per namespace through
``KubeClient`` and reports:

* client memory per open watch (RSS growth from opening the watches, divided by N);
* kubesim throughput for simple GETs through the client, with the N watches open;
* event latency, object change → consumer, p50/p99: each object carries the monotonic time
  just before its create request was sent, and the consumer subtracts it on arrival (so the
  figure includes the create request itself).

Usage: ``python bench/watches.py`` (N=1,000; targets <= 60 KB per watch, p99 <= 50 ms) or
``python bench/watches.py --short`` (N=100, for CI).
"""

from __future__ import annotations

import argparse
import functools
import gc
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# Run as a script, this directory is first on sys.path and bench/actors.py would shadow the
# ``actors`` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import trio  # noqa: E402

from actors.kube import KubeClient, WatchEvent  # noqa: E402

TARGET_KB_PER_WATCH = 60.0
TARGET_P99_MS = 50.0


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def start_kubesim(nursery: trio.Nursery) -> tuple[trio.Process, str]:
    """Run kubesim on a free port; return the process and its base URL."""
    command = [sys.executable, "-m", "kubesim", "--port", "0"]
    run = functools.partial(trio.run_process, command, stdout=subprocess.PIPE, check=False)
    process = await nursery.start(run)
    assert process.stdout is not None
    buffer = b""
    with trio.fail_after(30):
        while b"\n" not in buffer:
            chunk = await process.stdout.receive_some(4096)
            if not chunk:
                raise RuntimeError("kubesim exited before announcing its URL")
            buffer += chunk
    line = buffer.split(b"\n", 1)[0].decode()
    url = next(word for word in line.split() if word.startswith("http://"))
    return process, url


async def in_batches(count: int, width: int, fn: Any) -> None:
    """Run ``fn(i)`` for i in range(count), at most ``width`` at a time."""
    limiter = trio.CapacityLimiter(width)

    async def one(i: int) -> None:
        async with limiter:
            await fn(i)

    async with trio.open_nursery() as nursery:
        for i in range(count):
            nursery.start_soon(one, i)


class Latencies:
    """Arrival delays, and an event set once ``expected`` of them have arrived."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.expected = -1
        self.complete = trio.Event()

    def add(self, value: float) -> None:
        self.values.append(value)
        if len(self.values) == self.expected:
            self.complete.set()


async def consume(kube: KubeClient, ns: str, ready: trio.Event, latencies: Latencies) -> None:
    async with kube.config_maps.watch(ns) as events:
        async for item in events:
            if not isinstance(item, WatchEvent):
                ready.set()
                continue
            if item.type == "ADDED" and item.object.data:
                latencies.add(time.monotonic() - float(item.object.data["t"]))


async def measure_gets(kube: KubeClient, ns: str, seconds: float, width: int = 16) -> float:
    count = 0
    deadline = trio.current_time() + seconds

    async def worker() -> None:
        nonlocal count
        while trio.current_time() < deadline:
            await kube.namespaces.read(ns)
            count += 1

    async with trio.open_nursery() as nursery:
        for _ in range(width):
            nursery.start_soon(worker)
    return count / seconds


async def run(n: int, rate: float, seconds: float) -> int:
    async with trio.open_nursery() as nursery:
        process, url = await start_kubesim(nursery)
        try:
            return await bench(url, n, rate, seconds)
        finally:
            process.terminate()


async def bench(url: str, n: int, rate: float, seconds: float) -> int:
    names = [f"bench-{i:05d}" for i in range(n)]
    latencies = Latencies()
    async with KubeClient.for_url(url) as kube, trio.open_nursery() as nursery:
        with trio.fail_after(300):
            await in_batches(
                n,
                32,
                lambda i: kube.namespaces.create({"metadata": {"name": names[i]}}),  # type: ignore[arg-type]
            )
            print(f"created {n} namespaces", flush=True)
            gc.collect()
            await trio.sleep(0.5)
            before = rss_bytes()
            readies = [trio.Event() for _ in names]
            for name, ready in zip(names, readies, strict=True):
                nursery.start_soon(consume, kube, name, ready, latencies)
            for ready in readies:
                await ready.wait()
            await trio.sleep(2.0)  # every consumer is now parked on an open stream
            gc.collect()
            per_watch = (rss_bytes() - before) / n
            print(f"open watches: {n}; client memory per open watch: {per_watch / 1024:.1f} KiB")

            gets = await measure_gets(kube, names[0], 3.0)
            print(f"kubesim simple GETs through the client (16 concurrent): {gets:.0f} req/s")

            total = int(rate * seconds)
            latencies.expected = total
            interval = 1.0 / rate
            start = trio.current_time()
            async with trio.open_nursery() as writers:
                for i in range(total):
                    await trio.sleep_until(start + i * interval)
                    ns = names[i % n]
                    body = {"metadata": {"name": f"cm-{i}"}, "data": {"t": repr(time.monotonic())}}
                    writers.start_soon(kube.config_maps.create, ns, body)
            with trio.move_on_after(10):
                await latencies.complete.wait()
        nursery.cancel_scope.cancel()
    received = len(latencies.values)
    ordered = sorted(latencies.values)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(received - 1, int(received * 0.99))] * 1000
    print(
        f"events: {received}/{total} delivered at {rate:.0f} changes/s; "
        f"latency p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )
    ok = per_watch / 1024 <= TARGET_KB_PER_WATCH and p99 <= TARGET_P99_MS and received == total
    print(
        f"targets (<= {TARGET_KB_PER_WATCH:.0f} KB/watch, p99 <= {TARGET_P99_MS:.0f} ms, "
        f"no loss): {'met' if ok else 'NOT met'}"
    )
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--short", action="store_true", help="N=100 for CI")
    parser.add_argument("-n", type=int, default=None, help="number of watches")
    parser.add_argument("--rate", type=float, default=100.0, help="object changes per second")
    parser.add_argument("--seconds", type=float, default=None, help="duration of the change load")
    args = parser.parse_args()
    n = args.n or (100 if args.short else 1000)
    seconds = args.seconds or (3.0 if args.short else 10.0)
    return trio.run(run, n, args.rate, seconds)


if __name__ == "__main__":
    sys.exit(main())
