"""``nublado-trio serve`` as a real process: start-up errors, SIGTERM, actor-system failure."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import trio
import yaml

from kubesim.site import run_site
from tests.web.conftest import minimal_config_data, write_config

REPO = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = str(Path(sys.executable).parent / "nublado-trio")
SERVE_LOCALLY = ["--host", "127.0.0.1", "--port", "0"]

RUN_WITH_FAILING_TREE = """
import sys
from tests.web.trees import failing_controller
from web.cli import main
sys.exit(main(sys.argv[1:], controller_factory=failing_controller))
"""

RUN_REPORTING_MODULES = """
import atexit, json, os, sys
from web.cli import main

def report():
    with open(os.environ["MODULES_REPORT"], "w") as out:
        json.dump(sorted(sys.modules), out)

atexit.register(report)
sys.exit(main(sys.argv[1:]))
"""
"""The real CLI, which writes the names of every module it loaded to $MODULES_REPORT at exit."""


class ControllerProcess:
    """A running controller process whose stdout is one JSON log record per line."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.records: list[dict[str, Any]] = []
        self._buffer = b""

    async def wait_for_record(self, event: str) -> dict[str, Any]:
        """Read log lines until one has this ``event`` (use a deadline)."""
        assert self.process.stdout is not None
        while True:
            while b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                record = json.loads(line)
                self.records.append(record)
                if record["event"] == event:
                    return record
            chunk = await self.process.stdout.receive_some(65536)
            assert chunk, f"the process exited before logging {event!r}"
            self._buffer += chunk

    async def read_rest(self) -> None:
        """Read the remaining output (after the process has exited)."""
        assert self.process.stdout is not None
        while chunk := await self.process.stdout.receive_some(65536):
            self._buffer += chunk
        self.records += [json.loads(line) for line in self._buffer.splitlines()]
        self._buffer = b""


async def run_to_completion(command: list[str], **env: str) -> subprocess.CompletedProcess[bytes]:
    return await trio.run_process(
        command, capture_stdout=True, capture_stderr=True, check=False, cwd=REPO, env=_env(env)
    )


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NUBLADO_CONFIG_PATH"}
    return {**env, **extra}


def cluster_files(tmp_path: Path, site_url: str) -> tuple[Path, dict[str, str]]:
    """A config whose cluster is ``site_url``: kubeconfig and pod metadata written to disk.

    Returns the config path and the environment the controller process needs.
    """
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "sim", "cluster": {"server": site_url}}],
                "users": [{"name": "sim", "user": {"token": "unused"}}],
                "contexts": [{"name": "sim", "context": {"cluster": "sim", "user": "sim"}}],
                "current-context": "sim",
            }
        )
    )
    podinfo = tmp_path / "podinfo"
    podinfo.mkdir()
    (podinfo / "namespace").write_text("nublado\n")
    config = write_config(tmp_path / "config.yaml", minimal_config_data(metadataPath=str(podinfo)))
    return config, {"KUBECONFIG": str(kubeconfig)}


async def test_sigterm_stops_the_controller_cleanly_and_quickly(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with run_site() as site:
            config, env = cluster_files(tmp_path, site.url or "")
            command = [CONSOLE_SCRIPT, "serve", "--config", str(config), *SERVE_LOCALLY]
            process = await trio.lowlevel.open_process(
                command, stdout=subprocess.PIPE, cwd=REPO, env=_env(env)
            )
            try:
                controller = ControllerProcess(process)
                serving = await controller.wait_for_record("Controller serving")
                async with httpx.AsyncClient(base_url=serving["urls"][0]) as client:
                    # Leaves an idle keep-alive connection open across the shutdown.
                    assert (await client.get("/")).status_code == 200
                    process.send_signal(signal.SIGTERM)
                    sent_at = trio.current_time()
                    with trio.fail_after(5):
                        returncode = await process.wait()
                    exit_took = trio.current_time() - sent_at
                await controller.read_rest()
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
                assert process.stdout is not None
                await process.stdout.aclose()
    assert returncode == 0
    assert exit_took < 3.0
    events = [record["event"] for record in controller.records]
    assert events.index("Reconciled labs") < events.index("Controller serving")
    assert events.index("Signal received, shutting down gracefully") < events.index(
        "Controller stopped"
    )


async def test_a_production_serve_never_imports_the_simulator(tmp_path: Path) -> None:
    """``serve`` without ``--simulate`` runs a whole controller (start-up, a request, SIGTERM)
    and never loads ``kubesim`` or ``web.simulate``: the fake Gafaelfawr with its public demo
    tokens and the fault-injection API are test infrastructure, not part of production."""
    report = tmp_path / "modules.json"
    with trio.fail_after(30):
        async with run_site() as site:
            config, env = cluster_files(tmp_path, site.url or "")
            command = [
                sys.executable,
                "-c",
                RUN_REPORTING_MODULES,
                "serve",
                "--config",
                str(config),
                *SERVE_LOCALLY,
            ]
            process = await trio.lowlevel.open_process(
                command,
                stdout=subprocess.PIPE,
                cwd=REPO,
                env=_env({**env, "MODULES_REPORT": str(report)}),
            )
            try:
                controller = ControllerProcess(process)
                serving = await controller.wait_for_record("Controller serving")
                async with httpx.AsyncClient(base_url=serving["urls"][0]) as client:
                    assert (await client.get("/")).status_code == 200
                process.send_signal(signal.SIGTERM)
                with trio.fail_after(5):
                    returncode = await process.wait()
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
                assert process.stdout is not None
                await process.stdout.aclose()
    assert returncode == 0
    modules: list[str] = json.loads(report.read_text())
    assert {"web.cli", "web.server", "actors.controller"} <= set(modules)
    simulator = [m for m in modules if m.split(".")[0] == "kubesim" or m == "web.simulate"]
    assert simulator == []


async def test_no_cluster_credentials_exits_2_with_a_message(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.yaml", minimal_config_data())
    with trio.fail_after(30):
        result = await run_to_completion(
            [CONSOLE_SCRIPT, "serve", "--config", str(config), *SERVE_LOCALLY],
            KUBECONFIG=str(tmp_path / "no-such-kubeconfig"),
        )
    stderr = result.stderr.decode()
    assert result.returncode == 2
    assert "cannot load Kubernetes credentials" in stderr
    assert "Traceback" not in stderr


async def test_invalid_config_exits_2_naming_the_key_without_traceback(tmp_path: Path) -> None:
    data = minimal_config_data()
    data["lab"]["namespacePrefix"] = "Not_A_Kubernetes_Name"
    config = write_config(tmp_path / "config.yaml", data)
    with trio.fail_after(30):
        result = await run_to_completion(
            [CONSOLE_SCRIPT, "serve", *SERVE_LOCALLY], NUBLADO_CONFIG_PATH=str(config)
        )
    stderr = result.stderr.decode()
    assert result.returncode == 2
    assert "lab.namespacePrefix" in stderr
    assert "Traceback" not in stderr
    assert result.stdout == b""


async def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    with trio.fail_after(30):
        result = await run_to_completion(
            [CONSOLE_SCRIPT, "serve", "--config", str(missing), *SERVE_LOCALLY]
        )
    assert result.returncode == 2
    assert str(missing) in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()


async def test_root_supervisor_failure_exits_non_zero_with_the_reason(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.yaml", minimal_config_data())
    command = [sys.executable, "-c", RUN_WITH_FAILING_TREE, "serve", "--config", str(config)]
    with trio.fail_after(30):
        result = await run_to_completion([*command, *SERVE_LOCALLY])
    records = [json.loads(line) for line in result.stdout.splitlines()]
    [failure] = [r for r in records if r["event"] == "Actor system failed, exiting"]
    assert result.returncode == 1
    assert failure["level"] == "critical"
    assert "crasher" in failure["reason"]


async def test_simulate_runs_the_simulated_site_alone_until_sigterm() -> None:
    command = [CONSOLE_SCRIPT, "simulate", "--port", "0", "--seed", "3"]
    with trio.fail_after(30):
        process = await trio.lowlevel.open_process(
            command, stdout=subprocess.PIPE, cwd=REPO, env=_env({})
        )
        try:
            assert process.stdout is not None
            line = b""
            while b"\n" not in line:
                chunk = await process.stdout.receive_some(4096)
                assert chunk, "simulate exited before announcing its URL"
                line += chunk
            url = line.decode().split(" on ", 1)[1].split()[0]
            async with httpx.AsyncClient(base_url=url) as client:
                namespaces = await client.get("/api/v1/namespaces")
                assert namespaces.status_code == 200
                assert namespaces.json()["kind"] == "NamespaceList"
                nodes = await client.get("/api/v1/nodes")
                assert len(nodes.json()["items"]) > 0  # the demo site has nodes
            process.send_signal(signal.SIGTERM)
            with trio.fail_after(5):
                returncode = await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            assert process.stdout is not None
            await process.stdout.aclose()
    assert returncode == 0


async def test_simulate_serves_the_registry_over_tls_and_prints_the_ca_file() -> None:
    command = [CONSOLE_SCRIPT, "simulate", "--port", "0", "--registry-tls-port", "0"]
    with trio.fail_after(30):
        process = await trio.lowlevel.open_process(
            command, stdout=subprocess.PIPE, cwd=REPO, env=_env({})
        )
        try:
            assert process.stdout is not None
            output = b""
            while output.count(b"\n") < 2:
                chunk = await process.stdout.receive_some(4096)
                assert chunk, "simulate exited before announcing its TLS registry"
                output += chunk
            announced = output.decode().splitlines()[1]
            url = announced.split(" on ", 1)[1].split()[0]
            ca_file = announced.split("CA certificate: ", 1)[1].rstrip(")")
            assert url.startswith("https://127.0.0.1:")
            context = ssl.create_default_context(cafile=ca_file)
            async with httpx.AsyncClient(base_url=url, verify=context) as client:
                challenge = await client.get("/v2/")
            assert challenge.status_code == 401
            assert f'realm="{url}/registry/token"' in challenge.headers["www-authenticate"]
            process.send_signal(signal.SIGTERM)
            with trio.fail_after(5):
                returncode = await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            assert process.stdout is not None
            await process.stdout.aclose()
    assert returncode == 0


async def test_serve_simulate_prints_its_urls_serves_demo_tokens_and_stops_on_sigterm() -> None:
    command = [CONSOLE_SCRIPT, "serve", "--simulate", "--port", "0"]
    with trio.fail_after(60):
        process = await trio.lowlevel.open_process(
            command, stdout=subprocess.PIPE, cwd=REPO, env=_env({})
        )
        try:
            assert process.stdout is not None
            output = b""
            while b"Controller API:" not in output or not output.endswith(b"\n"):
                chunk = await process.stdout.receive_some(65536)
                assert chunk, f"serve --simulate exited early: {output.decode()}"
                output += chunk
            text = output.decode()
            api = text.split("Controller API:", 1)[1].split()[0]
            assert api.startswith("http://127.0.0.1:")
            assert "loopback only" in text
            admin = {"Authorization": "Bearer admin-demo-token"}
            user = {"Authorization": "Bearer alice-demo-token"}
            async with httpx.AsyncClient() as client:
                tree = await client.get(f"{api}/admin/actors", headers=admin)
                assert tree.status_code == 200
                assert "lab-manager" in tree.text
                # The fake Repertoire and Slack webhook are wired in.
                discovery = await client.get(f"{api}/admin/actors/discovery", headers=admin)
                assert discovery.json()["phase"] == "ready"
                alerts = await client.get(f"{api}/admin/actors/alerts", headers=admin)
                assert alerts.status_code == 200
                posts = text.split("Alerts posted:", 1)[1].split()[0]
                assert (await client.get(posts)).json() == []
                refused = await client.get(f"{api}/admin/actors", headers=user)
                assert refused.status_code == 403
            process.send_signal(signal.SIGTERM)
            with trio.fail_after(10):
                returncode = await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            assert process.stdout is not None
            await process.stdout.aclose()
    assert returncode == 0


async def test_a_port_in_use_is_one_line_before_anything_else_starts(tmp_path: Path) -> None:
    """The port is bound first: no credentials are even looked for (this config has none)."""
    config = write_config(tmp_path / "config.yaml", minimal_config_data())
    with trio.socket.socket() as taken:
        await taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        with trio.fail_after(30):
            result = await run_to_completion(
                [
                    CONSOLE_SCRIPT,
                    "serve",
                    "--config",
                    str(config),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    port,
                ],
                KUBECONFIG=str(tmp_path / "no-such-kubeconfig"),
            )
            simulated = await run_to_completion(
                [CONSOLE_SCRIPT, "serve", "--simulate", "--port", port]
            )
    for outcome in (result, simulated):
        assert outcome.returncode == 1
        # The configuration's own warnings (fallback image) may come before it.
        assert outcome.stderr.decode().splitlines()[-1] == (
            f"nublado-trio: cannot listen on 127.0.0.1:{port}: the address is already in use"
            " (is another controller running?)"
        )
        assert b"Traceback" not in outcome.stdout + outcome.stderr
