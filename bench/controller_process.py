"""Run the real controller against a kubesim in another process (used by spawn_storm.py).

``python bench/controller_process.py SITE_URL [LEADER_ELECTION_JSON]`` serves on 127.0.0.1
(a free port) in ingress authentication mode (the benchmark sends ``X-Auth-Request-*``
headers for its many users), and prints one JSON line ``{"url": ..., "ready_seconds": ...,
"listed_seconds": ...}`` once it serves, which is after the startup reconciliation (with
leader election: once its informers are warm); ``listed_seconds`` is when every lab informer
had completed its first list. It runs until SIGTERM, which hands leadership off first.
The optional second argument is the ``leaderElection`` section as JSON (``handoff.py``);
``POD_NAME`` in the environment names the replica.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

# Run as a script, this folder would come first on the path and shadow the ``actors`` package
# with bench/actors.py.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

import trio  # noqa: E402

from web.app import controller_app  # noqa: E402
from web.logging import configure_logging  # noqa: E402
from web.server import RunningServer, freeze_import_time_objects, serve  # noqa: E402
from web.simulate import simulated_controller  # noqa: E402


async def run(site_url: str, started: float, election: dict[str, Any] | None) -> None:
    configure_logging(level="WARNING", profile="production", stream=sys.stderr)
    overrides: dict[str, Any] = {"auth": {"mode": "ingress", "gafaelfawrUrl": site_url}}
    if election is not None:
        overrides["leaderElection"] = election
    async with simulated_controller(
        site_url, config_overrides=overrides, environ=dict(os.environ)
    ) as (config, controller):
        app = controller_app(config, controller)
        listed: list[float] = []

        async def note_lists() -> None:
            await controller.labs.feeds.wait_listed()
            listed.append(time.monotonic() - started)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(note_lists)
            server: RunningServer = await nursery.start(
                partial(
                    serve,
                    config,
                    host="127.0.0.1",
                    port=0,
                    system=controller.system,
                    app=app,
                    ready=controller.wait_ready,
                    replicas=controller.replicas,
                    shutdown_signals=(signal.SIGTERM,),
                )
            )
            ready = time.monotonic() - started
            announce = {"url": server.base_url, "ready_seconds": ready}
            if listed:
                announce["listed_seconds"] = listed[0]
            print(json.dumps(announce), flush=True)


def main() -> None:
    started = time.monotonic()
    freeze_import_time_objects()  # as ``nublado-trio serve`` does
    election = json.loads(sys.argv[2]) if len(sys.argv) > 2 else None
    trio.run(run, sys.argv[1], started, election)


if __name__ == "__main__":
    main()
