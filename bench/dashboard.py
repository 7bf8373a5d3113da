"""The admin dashboard under load: a real Chromium watching labs spawn by the hundred.

kubesim runs in its own process (as in ``spawn_storm.py``: sharing one Trio loop with it, the
controller would be measured together with the simulated API server and kubelet), the
controller in this one; Debian's headless Chromium (``chromium``, ``chromium-driver``) opens
the dashboard. First ``--labs``
labs are spawned and left running, then a storm of ``--storm`` concurrent spawns whose image
pull takes ``--pull`` seconds, so that their progress bars are visibly in flight. Figures
printed (nothing is asserted: shared machines are noisy):

* the page's own counters (``window.nubladoDashboardStats``): renders, mean and worst render
  time, WebSocket messages and bytes received during the storm;
* how long the page took to show every lab complete after the storm's last spawn completed.

``--screenshot PATH`` saves the page in the middle of the storm (docs/dashboard.png is made
this way, with one lab actor crashed on purpose so the tree shows a restart):

    python bench/dashboard.py --labs 700 --storm 300 --screenshot docs/dashboard.png
    python bench/dashboard.py                 # 3,000 labs, then a storm of 300
    python bench/dashboard.py --short         # 60 labs, a storm of 40
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import httpx  # noqa: E402
import trio  # noqa: E402
import yaml  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from web.app import controller_app  # noqa: E402
from web.logging import configure_logging  # noqa: E402
from web.server import RunningServer, ServerTuning, serve  # noqa: E402
from web.simulate import (  # noqa: E402
    CONTROLLER_NAMESPACE,
    FILESERVER_NAMESPACE,
    simulated_controller,
)

SLOW_TAG = "w_2026_42"
"""Not in the prepull set: only the storm's labs pull it, slowly."""
FAST_TAG = "w_2026_46"
FILL_CONCURRENCY = 20
"""Spawns in flight while the running labs are made (the storm itself is all at once)."""


def user(index: int) -> str:
    return f"user{index:05d}"


def site_config(users: int, pull: float) -> dict[str, Any]:
    """kubesim: instant kubelet except the storm's image, and a Gafaelfawr that knows every
    benchmark user and the demo administrator."""
    names = [user(i) for i in range(users)]
    return {
        "store": {"namespace_delete_delay": 0.05},
        "controllers": {
            "kubelet": {"pull_delays": {f"*sciplat-lab:{SLOW_TAG}*": pull}},
            "gafaelfawr": {
                "users": [
                    {
                        "username": n,
                        "uid": 100000 + i,
                        "gid": 100000 + i,
                        "groups": [{"name": n, "id": 100000 + i}],
                    }
                    for i, n in enumerate(names)
                ],
                "tokens": [
                    {"token": f"token-{n}", "username": n, "scopes": ["exec:notebook"]}
                    for n in names
                ]
                + [{"token": "admin-demo-token", "username": "admin", "scopes": ["exec:admin"]}],
            },
        },
    }


async def spawn_all(
    base: str, prefix: str, names: list[str], registry: str, tag: str, concurrency: int
) -> None:
    limiter = trio.CapacityLimiter(concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(120.0)) as client:

        async def one(name: str) -> None:
            body = {
                "options": {
                    "image_list": f"{registry}/lsstsqre/sciplat-lab:{tag}",
                    "size": "small",
                },
                "env": {"JUPYTERHUB_SERVICE_PREFIX": f"/nb/user/{name}/"},
            }
            async with limiter:
                response = await client.post(
                    f"{prefix}/spawner/v1/labs/{name}/create",
                    json=body,
                    headers={"Authorization": f"Bearer token-{name}"},
                )
            if response.status_code != 201:
                print(f"spawn of {name}: {response.status_code} {response.text}", file=sys.stderr)

        async with trio.open_nursery() as nursery:
            for name in names:
                nursery.start_soon(one, name)


async def running_count(base: str, prefix: str) -> int:
    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(60.0)) as client:
        rows = (
            await client.get(
                f"{prefix}/admin/labs", headers={"Authorization": "Bearer admin-demo-token"}
            )
        ).json()
    return sum(1 for row in rows if row["status"] == "running")


async def wait_running(base: str, prefix: str, count: int) -> None:
    while await running_count(base, prefix) < count:
        await trio.sleep(0.5)


def browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1440,1000",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


async def in_thread(call: Any) -> Any:
    return await trio.to_thread.run_sync(call)


def page_stats(driver: webdriver.Chrome) -> dict[str, float]:
    stats: dict[str, float] = driver.execute_script("return {...window.nubladoDashboardStats}")
    return stats


def start_kubesim(config: Path) -> tuple[subprocess.Popen[bytes], str]:
    """kubesim in its own process, with the namespaces the controller expects."""
    command = [sys.executable, "-m", "kubesim", "--port", "0", "--config", str(config)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    if " on " not in line:
        process.kill()
        raise RuntimeError("kubesim exited before announcing itself")
    site_url = line.split(" on ", 1)[1].split()[0]
    with httpx.Client(base_url=site_url) as kube:
        for name in (CONTROLLER_NAMESPACE, FILESERVER_NAMESPACE):
            kube.post("/api/v1/namespaces", json={"metadata": {"name": name}})
    return process, site_url


async def run(args: argparse.Namespace, site_url: str) -> None:
    async with simulated_controller(site_url) as (config, ctl):
        app = controller_app(config, ctl)
        async with trio.open_nursery() as nursery:
            server: RunningServer = await nursery.start(
                partial(
                    serve,
                    config,
                    host="127.0.0.1",
                    port=0,
                    system=ctl.system,
                    app=app,
                    tuning=ServerTuning(graceful_timeout=5, actor_stop_timeout=5),
                    shutdown_signals=(),
                    ready=ctl.wait_ready,
                )
            )
            base, prefix = server.base_url, config.path_prefix
            registry = site_url.removeprefix("http://")
            started = time.monotonic()
            names = [user(i) for i in range(args.labs)]
            await spawn_all(base, prefix, names, registry, FAST_TAG, args.fill_concurrency)
            await wait_running(base, prefix, args.labs)
            print(f"{args.labs} labs running after {time.monotonic() - started:.1f} s")

            driver = await in_thread(browser)
            try:
                await in_thread(lambda: driver.get(f"{base}{prefix}/admin/login"))
                await in_thread(
                    lambda: driver.find_element(By.ID, "token").send_keys("admin-demo-token")
                )
                await in_thread(lambda: driver.find_element(By.ID, "sign-in").click())
                wait = WebDriverWait(driver, 60, poll_frequency=0.2)
                await in_thread(
                    lambda: wait.until(
                        lambda d: d.find_element(By.ID, "n-labs").text == str(args.labs)
                    )
                )
                before = await in_thread(lambda: page_stats(driver))
                if args.crash and args.labs:
                    # One lab actor crashes on a garbled pod read: the tree shows its restart.
                    name = user(0)
                    async with httpx.AsyncClient(base_url=base) as client:
                        await client.post(
                            f"{site_url}/_kubesim/faults/corruptions",
                            json={"verb": "get", "resource": "pods", "count": 1},
                        )
                        await client.post(
                            f"{prefix}/spawner/v1/labs/{name}/create",
                            json={
                                "options": {"image_class": "recommended", "size": "small"},
                                "env": {"JUPYTERHUB_SERVICE_PREFIX": f"/nb/user/{name}/"},
                            },
                            headers={"Authorization": f"Bearer token-{name}"},
                        )
                storm = [user(args.labs + i) for i in range(args.storm)]
                storm_started = time.monotonic()
                async with trio.open_nursery() as storm_nursery:
                    storm_nursery.start_soon(
                        spawn_all, base, prefix, storm, registry, SLOW_TAG, args.storm
                    )
                    if args.screenshot:
                        await trio.sleep(args.pull * 0.6)
                        await in_thread(lambda: driver.save_screenshot(str(args.screenshot)))
                        print(f"screenshot saved to {args.screenshot}")
                total = args.labs + args.storm
                await wait_running(base, prefix, total)
                storm_done = time.monotonic()
                await in_thread(
                    lambda: wait.until(
                        lambda d: d.find_element(By.ID, "n-running").text == str(total)
                    )
                )
                shown = time.monotonic()
                after = await in_thread(lambda: page_stats(driver))
            finally:
                await in_thread(driver.quit)
            renders = after["renders"] - before["renders"]
            render_ms = after["renderMs"] - before["renderMs"]
            print(
                f"storm of {args.storm} spawns over {args.labs} running labs: "
                f"{storm_done - storm_started:.1f} s to all running; page showed it "
                f"{shown - storm_done:.2f} s later"
            )
            print(
                f"page during the storm: {renders:.0f} renders, mean "
                f"{render_ms / max(renders, 1):.1f} ms, worst {after['maxRenderMs']:.1f} ms; "
                f"{after['messages'] - before['messages']:.0f} WebSocket messages, "
                f"{(after['bytes'] - before['bytes']) / 1024:.0f} KiB"
            )
            server.request_shutdown()


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--labs", type=int, default=3000, help="labs running before the storm")
    parser.add_argument("--storm", type=int, default=300, help="concurrent spawns")
    parser.add_argument("--pull", type=float, default=8.0, help="seconds each storm pull takes")
    parser.add_argument(
        "--fill-concurrency",
        type=int,
        default=FILL_CONCURRENCY,
        help=f"spawns in flight while making the running labs (default {FILL_CONCURRENCY})",
    )
    parser.add_argument("--screenshot", type=Path, default=None, help="save the page mid-storm")
    parser.add_argument("--no-crash", dest="crash", action="store_false", help="crash no actor")
    parser.add_argument("--short", action="store_true", help="60 labs and a storm of 40")
    args = parser.parse_args()
    if args.short:
        args.labs, args.storm, args.pull = 60, 40, 2.0
    configure_logging(level="WARNING", profile="development")
    with tempfile.TemporaryDirectory() as scratch:
        config_path = Path(scratch) / "kubesim.yaml"
        config_path.write_text(yaml.safe_dump(site_config(args.labs + args.storm, args.pull)))
        kubesim, site_url = start_kubesim(config_path)
        try:
            trio.run(run, args, site_url)
        finally:
            kubesim.terminate()
            kubesim.wait(15)


if __name__ == "__main__":
    cli()
