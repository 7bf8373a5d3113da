"""Running a real ``kubectl`` against an in-process kubesim site.

``kubectl`` comes from the test extra (``tests/kubectl.py``). Each test
gets its own home directory with a kubeconfig for the site, so kubectl's discovery and
OpenAPI caches never leak between tests. Every call has a deadline.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import trio
import yaml

from kubesim.cli import kubeconfig
from kubesim.site import Site
from tests.kubectl import kubectl_program

KUBECTL = kubectl_program()


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    def lines(self) -> list[str]:
        return self.stdout.splitlines()


def columns(line: str) -> list[str]:
    """The cells of one line of kubectl's table output (separated by 2+ spaces)."""
    return [cell for cell in (part.strip() for part in line.split("  ")) if cell]


class Kubectl:
    """``kubectl`` configured for one site, namespace ``default`` by default."""

    def __init__(self, site: Site | None, home: Path, config_file: Path | None = None) -> None:
        self.site = site
        self.home = home
        if config_file is not None:
            self.kubeconfig = config_file
        else:
            assert site is not None
            self.kubeconfig = home / "kubeconfig"
            self.kubeconfig.write_text(yaml.safe_dump(kubeconfig(site.url or "")))

    @property
    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "KUBECONFIG": str(self.kubeconfig),
        }

    async def run(
        self, *args: str, stdin: str | None = None, check: bool = True, within: float = 30
    ) -> Result:
        with trio.fail_after(within):
            done = await trio.run_process(
                [KUBECTL, *args],
                stdin=stdin.encode() if stdin is not None else b"",
                capture_stdout=True,
                capture_stderr=True,
                check=False,
                env=self.env,
            )
        result = Result(done.returncode, done.stdout.decode(), done.stderr.decode())
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
        return result

    async def open(self, *args: str) -> trio.Process:
        """Start a long-running kubectl (``get -w``, ``logs -f``); the caller stops it."""
        return await trio.lowlevel.open_process(
            [KUBECTL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env
        )


async def stop(process: trio.Process) -> None:
    """End a kubectl started with :meth:`Kubectl.open` and release its pipes."""
    process.kill()
    with trio.move_on_after(5):
        await process.wait()
    for pipe in (process.stdout, process.stderr):
        if pipe is not None:
            await pipe.aclose()


async def read_lines_until(
    process: trio.Process,
    done: Callable[[list[str]], bool],
    *,
    within: float = 20,
    stderr: bool = False,
) -> list[str]:
    """Lines of ``process``'s stdout (or stderr) until ``done(lines)`` is true (or the
    output ends)."""
    stream = process.stderr if stderr else process.stdout
    assert stream is not None
    buffer = b""
    lines: list[str] = []
    with trio.fail_after(within):
        while not done(lines):
            chunk = await stream.receive_some(4096)
            if not chunk:
                break
            buffer += chunk
            *complete, buffer = buffer.split(b"\n")
            lines += [line.decode() for line in complete]
    return lines
