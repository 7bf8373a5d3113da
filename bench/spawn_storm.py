"""Spawn throughput, latency, memory per lab and restart time of the whole controller.

Three processes, as in production: kubesim (kubelet delays zero), the controller
(``controller_process.py``), and this client, which drives the API as JupyterHub does (create,
then read the event stream until ``complete``). It prints figures next to their targets and
asserts nothing: shared machines are noisy.

    python bench/spawn_storm.py            # 1,000 concurrent spawns, 3,000 labs
    python bench/spawn_storm.py --short    # the CI variant

Figures:
* single-spawn latency (create request → ``complete`` event), p50/p99, one at a time;
* a storm of concurrent spawns: errors, spawns/s, latency p50/p99, controller CPU s/spawn;
  the Kubernetes API requests the storm cost per spawn, by verb and resource, and kubesim's
  CPU per spawn (its whole process: API server and simulated kubelet);
* controller RSS per running lab, and the watch connections open on the API server, once all
  labs run;
* time from starting a new controller process to serving, with every lab already running
  (the startup reconciliation rebuilds them all), and the API requests that took.

The API figures come from kubesim's own counters (``/_kubesim/stats``, docs/kubesim.md), so
they count only Kubernetes API requests: not the fake Gafaelfawr or registry mounted on the
same server.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

import httpx  # noqa: E402
import trio  # noqa: E402
import yaml  # noqa: E402

REPO = _HERE.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

TARGET_RATE = 30.0
TARGET_SINGLE_MS = 50.0
TARGET_RSS_KB = 20.0
TARGET_READY_S = 10.0
TARGET_CPU_MS = 8.0


def user(index: int) -> str:
    return f"user{index:05d}"


def site_config(users: int) -> dict[str, Any]:
    """kubesim config: instant kubelet, and a Gafaelfawr that knows every benchmark user."""
    gafaelfawr = {
        "users": [
            {
                "username": user(i),
                "uid": 100000 + i,
                "gid": 100000 + i,
                "groups": [{"name": user(i), "id": 100000 + i}],
            }
            for i in range(users)
        ],
        "tokens": [
            {"token": f"token-{user(i)}", "username": user(i), "scopes": ["exec:notebook"]}
            for i in range(users)
        ],
    }
    return {"controllers": {"kubelet": {}, "gafaelfawr": gafaelfawr}}


class Process:
    """A child process whose first stdout line announces where it serves."""

    def __init__(
        self, command: list[str], log: Path | None = None, *, env: dict[str, str] | None = None
    ) -> None:
        self.started = time.monotonic()
        stderr = log.open("ab") if log is not None else subprocess.DEVNULL
        environment = {**os.environ, **(env or {})}
        self.popen = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, cwd=REPO, env=environment
        )

    async def first_line(self) -> str:
        assert self.popen.stdout is not None
        stdout = self.popen.stdout
        line = await trio.to_thread.run_sync(stdout.readline)
        if not line:
            raise RuntimeError(f"{self.popen.args} exited before announcing itself")
        return line.decode()

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def rss_bytes(self) -> int:
        return int(Path(f"/proc/{self.popen.pid}/statm").read_text().split()[1]) * PAGE

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


async def api_stats(kube: httpx.AsyncClient, *, reset: bool = False) -> dict[str, Any]:
    """kubesim's request counters; with ``reset``, as they were just before zeroing them."""
    if reset:
        response = await kube.post("/_kubesim/stats/reset")
    else:
        response = await kube.get("/_kubesim/stats")
    response.raise_for_status()
    stats: dict[str, Any] = response.json()
    return stats


def request_breakdown(
    stats: dict[str, Any], per: int, unit: str = "spawn", limit: int = 10
) -> list[str]:
    """One line per (verb, resource), most frequent first, summed over every client."""
    totals: dict[str, int] = {}
    for entry in stats["requests"]:
        key = f"{entry['verb']} {entry['resource']}"
        totals[key] = totals.get(key, 0) + entry["count"]
    ordered = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    lines = [f"  {key}: {count} ({count / per:.2f} per {unit})" for key, count in ordered[:limit]]
    if len(ordered) > limit:
        rest = sum(count for _, count in ordered[limit:])
        lines.append(f"  others: {rest} (over {len(ordered) - limit} more verb/resource pairs)")
    return lines


def summarize_warnings(log: Path) -> None:
    """Print how often each warning or error event appeared in a controller's JSON log."""
    counts: dict[str, int] = {}
    reasons: dict[str, str] = {}
    for line in log.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        event = str(record.get("event"))
        counts[event] = counts.get(event, 0) + 1
        reasons.setdefault(event, str(record.get("reason") or record.get("error") or ""))
    for event, count in sorted(counts.items(), key=lambda item: -item[1])[:8]:
        print(f"  controller logged {count} x {event!r} {reasons[event][:120]}")


async def start_controller(
    site_url: str, log: Path | None = None
) -> tuple[Process, str, float, float | None]:
    """Start a controller: the process, its URL, seconds until it served, and seconds until
    its lab informers had listed (as the controller measured them)."""
    process = Process([sys.executable, str(_HERE / "controller_process.py"), site_url], log)
    announced = json.loads(await process.first_line())
    ready = time.monotonic() - process.started
    listed = announced.get("listed_seconds")
    if listed is not None:
        listed += ready - announced["ready_seconds"]  # the same clock as ``ready``
    return process, announced["url"], ready, listed


async def spawn(client: httpx.AsyncClient, name: str, image: str) -> float:
    """Create a lab and read its events until ``complete``; returns seconds taken."""
    headers = {"X-Auth-Request-User": name, "X-Auth-Request-Token": f"token-{name}"}
    body = {
        "options": {"image_dropdown": [image], "size": ["small"]},
        "env": {"JUPYTERHUB_SERVICE_PREFIX": f"/nb/user/{name}/"},
    }
    path = f"/nublado/spawner/v1/labs/{name}"
    start = time.perf_counter()
    created = await client.post(f"{path}/create", json=body, headers=headers)
    if created.status_code != 201:
        raise RuntimeError(f"create {name}: {created.status_code} {created.text}")
    async with client.stream(
        "GET", f"{path}/events", headers={"X-Auth-Request-User": name}
    ) as events:
        event = ""
        error = ""
        async for line in events.aiter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
                if event == "complete":
                    return time.perf_counter() - start
            elif line.startswith("data: ") and event == "error":
                error = line.removeprefix("data: ")
            elif line.startswith("data: ") and event == "failed":
                raise RuntimeError(f"spawn of {name} failed: {error}")
    raise RuntimeError(f"event stream of {name} ended without completing")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def storm(
    client: httpx.AsyncClient, names: list[str], image: str
) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors: list[str] = []

    async def one(name: str) -> None:
        try:
            latencies.append(await spawn(client, name, image))
        except Exception as error:
            errors.append(f"{name}: {error}")

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for name in names:
            nursery.start_soon(one, name)
    elapsed = time.perf_counter() - start
    for error in errors[:5]:
        print(f"  error: {error}")
    return latencies, len(errors), elapsed


async def main(args: argparse.Namespace) -> None:
    singles, burst, total = (10, 30, 60) if args.short else (20, args.storm, args.labs)
    with tempfile.TemporaryDirectory() as scratch:
        config_path = Path(scratch) / "kubesim.yaml"
        config_path.write_text(yaml.safe_dump(site_config(total + singles)))
        kubesim = Process(
            [sys.executable, "-m", "kubesim", "--port", "0", "--config", str(config_path)]
        )
        controller: Process | None = None
        kube: httpx.AsyncClient | None = None
        try:
            site_url = (await kubesim.first_line()).split(" on ", 1)[1].split()[0]
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=200)
            timeout = httpx.Timeout(120.0)
            kube = httpx.AsyncClient(base_url=site_url, timeout=timeout)
            await kube.post("/api/v1/namespaces", json={"metadata": {"name": "nublado"}})
            image = f"{site_url.removeprefix('http://')}/lsstsqre/sciplat-lab:w_2026_46"
            controller_log = Path(scratch) / "controller.log"
            controller, url, _, _ = await start_controller(site_url, controller_log)
            async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as client:
                single = [await spawn(client, user(total + i), image) for i in range(singles)]
                print(
                    f"single spawn create→complete: p50 {percentile(single, 0.5) * 1000:.1f} ms, "
                    f"p99 {percentile(single, 0.99) * 1000:.1f} ms "
                    f"(target <= {TARGET_SINGLE_MS:.0f} ms)"
                )
                rss_before = controller.rss_bytes()
                cpu_before = controller.cpu_seconds()
                await api_stats(kube, reset=True)
                latencies, errors, elapsed = await storm(
                    client, [user(i) for i in range(burst)], image
                )
                cpu = controller.cpu_seconds() - cpu_before
                during = await api_stats(kube)
                print(
                    f"storm of {burst} concurrent spawns: {errors} errors, "
                    f"{burst / elapsed:.1f} spawns/s (target >= {TARGET_RATE:.0f}), "
                    f"latency p50 {percentile(latencies, 0.5) * 1000:.0f} ms / "
                    f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms, "
                    f"controller CPU {cpu / burst * 1000:.1f} ms per spawn"
                    f" (target <= {TARGET_CPU_MS:.0f} ms)"
                )
                print(
                    f"requests per spawn: {during['requests_total'] / burst:.1f} "
                    f"({during['requests_total']} Kubernetes API requests for {burst} spawns)"
                )
                print("\n".join(request_breakdown(during, burst)))
                print(
                    "API-server CPU per spawn: "
                    f"{during['cpu_seconds_since_reset'] / burst * 1000:.1f} ms "
                    "(kubesim's process: API server and simulated kubelet)"
                )
                reported = False

                async def rss_on_the_way(labs_now: int) -> None:
                    """Print RSS per lab once, when 1,000 labs first run (if more will)."""
                    nonlocal reported
                    if reported or labs_now < 1000 or labs_now >= total:
                        return
                    reported = True
                    await trio.sleep(2)
                    per_lab = (controller.rss_bytes() - rss_before) / labs_now
                    print(
                        f"controller RSS per running lab: {per_lab / 1024:.1f} KiB with "
                        f"{labs_now + singles} labs running (on the way to {total})"
                    )

                await rss_on_the_way(burst)
                remaining = [user(i) for i in range(burst, total)]
                for start in range(0, len(remaining), burst):
                    _, more_errors, _ = await storm(client, remaining[start : start + burst], image)
                    errors += more_errors
                    await rss_on_the_way(burst + start + len(remaining[start : start + burst]))
                running = len(
                    (
                        await client.get(
                            "/nublado/spawner/v1/labs", headers={"X-Auth-Request-User": "hub"}
                        )
                    ).json()
                )
                await trio.sleep(2)  # let watches and buffers settle
                per_lab = (controller.rss_bytes() - rss_before) / max(1, running - singles)
                print(
                    f"controller RSS per running lab: {per_lab / 1024:.1f} KiB with {running} labs "
                    f"running (target <= {TARGET_RSS_KB:.0f} KiB at 3,000)"
                )
                watches = (await api_stats(kube))["watches"]
                by_resource = ", ".join(f"{r} {n}" for r, n in watches["open"].items())
                print(
                    f"watch connections: {watches['open_total']} open on the API server with "
                    f"{running} labs running ({by_resource or 'none'}; "
                    f"peak {watches['peak_total']} since the storm began)"
                )
            controller.stop()
            summarize_warnings(controller_log)
            await api_stats(kube, reset=True)
            controller, url, ready, listed = await start_controller(site_url)
            restart = await api_stats(kube)
            print(
                f"restart: new controller serving after {ready:.2f} s with {running} existing"
                " labs (process start, imports and reconciliation;"
                f" target <= {TARGET_READY_S:.0f} s)"
            )
            if listed is not None:
                print(
                    f"restart: ready {ready - listed:.2f} s after the lab informers' first lists"
                    f" ({listed:.2f} s after process start; target <= 1 s after)"
                )
            print(
                f"restart requests: {restart['requests_total']} Kubernetes API requests until "
                f"serving ({restart['requests_total'] / max(1, running):.2f} per running lab)"
            )
            print("\n".join(request_breakdown(restart, max(1, running), "lab", limit=6)))
        finally:
            if controller is not None:
                controller.stop()
            if kube is not None:
                await kube.aclose()
            kubesim.stop()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--short", action="store_true", help="small numbers, for CI")
    parser.add_argument("--storm", type=int, default=1000, help="concurrent spawns")
    parser.add_argument("--labs", type=int, default=3000, help="labs running at the end")
    trio.run(main, parser.parse_args())


if __name__ == "__main__":
    cli()
