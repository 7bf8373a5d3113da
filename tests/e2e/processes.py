"""Child processes for tests that run kubesim and the controller as separate programs.

Each process writes its stdout and stderr to a log file (never a pipe: a process that logs
more than a pipe holds while nobody reads would block). A test waits for the line a process
prints once it serves, and the process is killed when the block ends, whatever happened.
Processes import this checkout's code, as the test process does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

REPO = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = str(Path(sys.executable).parent / "nublado-trio")
POLL_INTERVAL = 0.05
LOG_TAIL = 4000


class ChildProcess:
    """A running program whose output goes to ``log``."""

    def __init__(self, process: trio.Process, log: Path) -> None:
        self.process = process
        self.log = log

    @property
    def pid(self) -> int:
        return self.process.pid

    def tail(self) -> str:
        """The end of the log, for assertion messages."""
        return self.log.read_text(errors="replace")[-LOG_TAIL:]

    async def first_line(self, predicate: Callable[[str], bool]) -> str:
        """The first log line that satisfies ``predicate`` (bounded by the caller's deadline).

        Raises if the process exits before writing one.
        """
        while True:
            for line in self.log.read_text(errors="replace").splitlines():
                if predicate(line):
                    return line
            if self.process.poll() is not None:
                raise AssertionError(
                    f"{self.process.args!r} exited ({self.process.returncode}) before the "
                    f"expected line:\n{self.tail()}"
                )
            await trio.sleep(POLL_INTERVAL)

    async def sigkill(self) -> int:
        """Kill the process with SIGKILL and return its exit status (``-SIGKILL`` if the
        signal, not something else, ended it)."""
        self.process.send_signal(signal.SIGKILL)
        return await self.process.wait()


@asynccontextmanager
async def child_process(
    command: Sequence[str], log: Path, *, env: Mapping[str, str] | None = None
) -> AsyncIterator[ChildProcess]:
    """Run ``command`` for the block; it is killed (SIGKILL) and reaped when the block ends."""
    environment = {k: v for k, v in os.environ.items() if k != "NUBLADO_CONFIG_PATH"}
    # The code under test, as the test process imports it (pytest's ``pythonpath``), not
    # whatever the console script's environment would find first.
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    environment.update(env or {})
    with log.open("ab") as output:
        process = await trio.lowlevel.open_process(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env=environment,
        )
    try:
        yield ChildProcess(process, log)
    finally:
        with trio.CancelScope(shield=True):
            if process.returncode is None:
                process.kill()
            await process.wait()


@asynccontextmanager
async def kubesim_process(config: Path, log: Path) -> AsyncIterator[tuple[ChildProcess, str]]:
    """``nublado-trio simulate`` on a free port; yields the process and its base URL."""
    command = [CONSOLE_SCRIPT, "simulate", "--port", "0", "--config", str(config)]
    async with child_process(command, log) as process:
        line = await process.first_line(lambda text: text.startswith("kubesim serving"))
        yield process, line.split(" on ", 1)[1].split()[0]


def _serving_record(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if isinstance(record, dict) and record.get("event") == "Controller serving":
        return record
    return None


@asynccontextmanager
async def controller_process(
    config: Path, log: Path, *, env: Mapping[str, str]
) -> AsyncIterator[tuple[ChildProcess, str]]:
    """``nublado-trio serve --config`` on a free local port (production JSON logs); yields
    the process and its base URL once it serves, which is after its startup reconciliation."""
    command = [CONSOLE_SCRIPT, "serve", "--config", str(config), "--host", "127.0.0.1"]
    async with child_process([*command, "--port", "0"], log, env=env) as process:
        line = await process.first_line(lambda text: _serving_record(text) is not None)
        record = _serving_record(line)
        assert record is not None
        yield process, str(record["urls"][0])
