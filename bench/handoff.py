"""Hand-off and failover times of a controller run as three replicas.

Four kinds of process, as in production: kubesim, three controller replicas with leader
election (``controller_process.py``; the lease timings are the defaults: 15 s lease, 10 s
renew deadline, 2 s retry period), and this client. It spawns the labs through the first
replica (the leader), starts the two others, and then:

* **hand-off**: SIGTERM to the leader; the time until one of the others answers the list of
  labs itself, with every lab in it (the old leader stops serving at the signal, so any
  answer after it comes from the new leader);
* **failover**: SIGKILL to the new leader; the time until the last replica answers the same.

It prints figures next to their targets and asserts nothing: shared machines are noisy.

    python bench/handoff.py            # 3,000 labs
    python bench/handoff.py --short    # 300 labs, the CI variant
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from pathlib import Path

import httpx
import spawn_storm  # first: it takes this folder off the path (bench/actors.py shadows actors)
import trio
import yaml
from spawn_storm import Process, site_config, spawn, user

LEASE_DURATION = 15.0
TARGET_HANDOFF_S = 1.0
TARGET_FAILOVER_S = LEASE_DURATION + 1.0
CONCURRENCY = 100
POLL = 0.02
ELECTION = {"enabled": True}
"""The defaults otherwise: what a site runs."""


async def start_replica(site_url: str, name: str, log: Path) -> tuple[Process, str]:
    command = [
        sys.executable,
        str(spawn_storm._HERE / "controller_process.py"),
        site_url,
        json.dumps(ELECTION),
    ]
    process = Process(command, log, env={"POD_NAME": name})
    announced = json.loads(await process.first_line())
    return process, announced["url"]


async def spawn_all(client: httpx.AsyncClient, names: list[str], image: str) -> int:
    errors = 0
    limiter = trio.CapacityLimiter(CONCURRENCY)

    async def one(name: str) -> None:
        nonlocal errors
        async with limiter:
            try:
                await spawn(client, name, image)
            except Exception as error:
                errors += 1
                if errors <= 3:
                    print(f"  error: {error}")

    async with trio.open_nursery() as nursery:
        for name in names:
            nursery.start_soon(one, name)
    return errors


async def first_full_answer(urls: list[str], labs: int) -> tuple[str, float]:
    """Poll every URL for the list of labs until one answers with all of them."""
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as client:
        while True:
            for url in urls:
                try:
                    response = await client.get(f"{url}/nublado/spawner/v1/labs")
                except httpx.HTTPError:
                    continue
                if response.status_code == 200 and len(response.json()) >= labs:
                    return url, time.monotonic() - started
            await trio.sleep(POLL)


async def leader_among(urls: list[str]) -> str:
    """The replica whose own metrics say it leads."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as client:
        while True:
            for url in urls:
                metrics = await client.get(f"{url}/metrics")
                if "nublado_leader 1.0" in metrics.text:
                    return url
            await trio.sleep(POLL)


async def main(args: argparse.Namespace) -> None:
    labs = 300 if args.short else args.labs
    with tempfile.TemporaryDirectory() as scratch:
        config_path = Path(scratch) / "kubesim.yaml"
        config_path.write_text(yaml.safe_dump(site_config(labs)))
        kubesim = Process(
            [sys.executable, "-m", "kubesim", "--port", "0", "--config", str(config_path)]
        )
        replicas: dict[str, Process] = {}
        try:
            site_url = (await kubesim.first_line()).split(" on ", 1)[1].split()[0]
            async with httpx.AsyncClient(base_url=site_url) as kube:
                await kube.post("/api/v1/namespaces", json={"metadata": {"name": "nublado"}})
            image = f"{site_url.removeprefix('http://')}/lsstsqre/sciplat-lab:w_2026_46"
            first, first_url = await start_replica(site_url, "replica-a", Path(scratch) / "a.log")
            replicas[first_url] = first
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=CONCURRENCY)
            timeout = httpx.Timeout(120.0)
            await first_full_answer([first_url], 0)
            async with httpx.AsyncClient(
                base_url=first_url, timeout=timeout, limits=limits
            ) as client:
                started = time.monotonic()
                errors = await spawn_all(client, [user(i) for i in range(labs)], image)
                print(f"spawned {labs} labs in {time.monotonic() - started:.1f} s, {errors} errors")
            for name in ("replica-b", "replica-c"):
                process, url = await start_replica(site_url, name, Path(scratch) / f"{name}.log")
                replicas[url] = process
            # Both followers warm and forwarding to the leader before the leader goes.
            followers = [url for url in replicas if url != first_url]
            for url in followers:
                await first_full_answer([url], labs)

            first.popen.send_signal(signal.SIGTERM)
            _, handoff = await first_full_answer(followers, labs)
            print(f"hand-off: {handoff:.3f} s (target <= {TARGET_HANDOFF_S:.0f} s), {labs} labs")
            await trio.to_thread.run_sync(first.popen.wait)

            # Both remaining replicas answer (one serves, the other forwards): ask which leads.
            new_url = await leader_among(followers)
            replicas[new_url].popen.send_signal(signal.SIGKILL)
            last = [url for url in followers if url != new_url]
            _, failover = await first_full_answer(last, labs)
            print(
                f"failover: {failover:.3f} s (target <= {TARGET_FAILOVER_S:.0f} s: the lease"
                f" duration, {LEASE_DURATION:.0f} s, + 1 s), {labs} labs"
            )
        finally:
            for process in replicas.values():
                process.stop()
            kubesim.stop()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--short", action="store_true", help="300 labs, for CI")
    parser.add_argument("--labs", type=int, default=3000)
    trio.run(main, parser.parse_args())


if __name__ == "__main__":
    cli()
