"""The ``nublado-trio`` client commands as real processes against a controller on kubesim.

Each command runs as ``python -m web.cli`` in a subprocess, over real HTTP, exactly as an
operator would run it; the tests read its output and exit code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import trio

from tests.e2e.harness import RunningController
from tests.e2e.spawner_client import demo_token

REPO = Path(__file__).resolve().parents[2]
DEADLINE = 60


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUBLADO_")}
    return {**env, "COLUMNS": "200", **extra}


async def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    result = await trio.run_process(
        [sys.executable, "-m", "web.cli", *args],
        capture_stdout=True,
        capture_stderr=True,
        check=False,
        cwd=REPO,
        env=_env(**env),
    )
    return subprocess.CompletedProcess(
        result.args, result.returncode, result.stdout.decode(), result.stderr.decode()
    )


def _url(nublado: RunningController) -> list[str]:
    return ["--url", f"{nublado.url}{nublado.prefix}"]


async def test_spawn_follow_labs_actors_and_delete(nublado: RunningController) -> None:
    url = _url(nublado)
    with trio.fail_after(DEADLINE):
        spawned = await cli("spawn", "alice", "--follow", "--tag", "w_2026_46", *url)
        assert spawned.returncode == 0, spawned.stderr
        assert "Lab of alice started." in spawned.stdout
        assert "100%" in spawned.stdout
        # No token was given and the URL is loopback: the demo token, said out loud.
        assert "public demo token of alice" in spawned.stderr

        labs = await cli("labs", *url)
        assert labs.returncode == 0, labs.stderr
        [line] = [line for line in labs.stdout.splitlines() if "alice" in line]
        for cell in ("running", "small", "sciplat-lab:w_2026_46", "100% complete"):
            assert cell in line

        actors = await cli("actors", *url)
        assert actors.returncode == 0
        assert "lab/alice running" in actors.stdout
        assert "lab-manager" in actors.stdout

        deleted = await cli("delete", "alice", *url, "--token", demo_token("admin"))
        assert deleted.returncode == 0, deleted.stderr
        assert "Lab of alice deleted." in deleted.stdout
        assert "demo token" not in deleted.stderr
        after = await cli("labs", "--json", *url, NUBLADO_TOKEN=demo_token("admin"))
        assert after.stdout.strip() == "[]"


async def test_images_and_prepulls(nublado: RunningController) -> None:
    url = _url(nublado)
    with trio.fail_after(DEADLINE):
        images = await cli("images", *url)
        assert images.returncode == 0, images.stderr
        assert "Weekly 2026_46" in images.stdout
        assert "recommended" in images.stdout
        prepulls = await cli("prepulls", *url)
        assert prepulls.returncode == 0, prepulls.stderr
        assert "Prepull set" in prepulls.stdout
        assert "node1" in prepulls.stdout


async def test_a_failed_spawn_exits_non_zero(nublado: RunningController) -> None:
    # The API server forbids creating the lab's pod: the spawn fails after it was accepted.
    nublado.site.faults.add_error(verb="create", resource="pods", status=403)
    with trio.fail_after(DEADLINE):
        spawned = await cli("spawn", "alice", "--follow", *_url(nublado))
        assert spawned.returncode == 1, spawned.stdout
        assert "error:" in spawned.stdout
        assert "the spawn of alice failed" in spawned.stderr


async def test_refusals_and_usage_errors(nublado: RunningController) -> None:
    url = _url(nublado)
    with trio.fail_after(DEADLINE):
        wrong = await cli("labs", *url, "--token", "not-a-token")
        assert wrong.returncode == 1
        assert "HTTP 401" in wrong.stderr
        not_admin = await cli("labs", *url, "--token", demo_token("alice"))
        assert not_admin.returncode == 1
        assert "exec:admin" in not_admin.stderr
        someone_else = await cli("spawn", "bob", *url, "--token", demo_token("alice"))
        assert someone_else.returncode == 1
        assert "HTTP 403" in someone_else.stderr
        remote = await cli("labs", "--url", "http://nublado.example.org/nublado")
        assert remote.returncode == 2
        assert "a token is needed" in remote.stderr
        unknown = await cli("delete", "nobody", *url)
        assert unknown.returncode == 1
        assert "HTTP 404" in unknown.stderr
        closed = await cli("labs", "--url", "http://127.0.0.1:9/nublado")
        assert closed.returncode == 1
        assert "cannot reach the controller" in closed.stderr
        for token in ("not-a-token", demo_token("alice")):
            assert token not in wrong.stderr + not_admin.stderr


async def test_actors_watch_follows_the_tree_until_interrupted(nublado: RunningController) -> None:
    command = [sys.executable, "-m", "web.cli", "actors", "--watch", *_url(nublado)]
    with trio.fail_after(DEADLINE):
        process = await trio.lowlevel.open_process(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=REPO, env=_env()
        )
        assert process.stdout is not None
        try:
            seen = b""
            while b"lab-manager" not in seen:
                chunk = await process.stdout.receive_some(65536)
                assert chunk, "the watch ended before showing the tree"
                seen += chunk
            async with nublado.client("alice") as alice:
                body = {
                    "options": {"image_tag": "w_2026_46", "size": "small"},
                    "env": {"JUPYTERHUB_SERVICE_PREFIX": "/nb/user/alice/"},
                }
                created = await alice.post(
                    f"{nublado.prefix}/spawner/v1/labs/alice/create", json=body
                )
                assert created.status_code == 201
            while b"lab/alice" not in seen:
                chunk = await process.stdout.receive_some(65536)
                assert chunk, "the watch ended before showing the new lab"
                seen += chunk
            process.send_signal(signal.SIGINT)
            assert await process.wait() == 130
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            await process.stdout.aclose()


async def test_version_check_config_and_no_abbreviations(tmp_path: Path) -> None:
    with trio.fail_after(DEADLINE):
        version = await cli("--version")
        assert version.returncode == 0
        assert version.stdout.startswith("nublado-trio ")
        valid = await cli("check-config", str(REPO / "docs/examples/config-minimal.yaml"))
        assert valid.returncode == 0, valid.stderr
        assert "valid configuration" in valid.stdout
        bad = tmp_path / "bad.yaml"
        bad.write_text("lab: {sizes: 3}\nunknownKey: 1\n")
        invalid = await cli("check-config", str(bad))
        assert invalid.returncode == 2
        assert "unknownKey: unknown key" in invalid.stderr
        missing = await cli("check-config", str(tmp_path / "absent.yaml"))
        assert missing.returncode == 2
        typo = await cli("serve", "--simulat")
        assert typo.returncode == 2
        assert "unrecognized arguments: --simulat" in typo.stderr
        short = await cli("labs", "--tok", "x")
        assert short.returncode == 2


async def test_the_simulate_banner_prints_a_dashboard_url_that_signs_in() -> None:
    command = [sys.executable, "-m", "web.cli", "serve", "--simulate", "--port", "0"]
    with trio.fail_after(DEADLINE):
        process = await trio.lowlevel.open_process(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=REPO, env=_env()
        )
        assert process.stdout is not None
        try:
            seen = b""
            while b"Simulated site:" not in seen:
                chunk = await process.stdout.receive_some(65536)
                assert chunk, "serve --simulate exited before its banner"
                seen += chunk
            lines = seen.decode().splitlines()
            [dashboard] = [line.split()[1] for line in lines if "Dashboard:" in line]
            [api] = [line.split()[2] for line in lines if "Controller API:" in line]
            assert dashboard == f"{api}/admin/"
            assert any(f"nublado-trio labs --url {api}" in line for line in lines)
            async with httpx.AsyncClient() as browser:
                page = await browser.get(dashboard)
                assert page.status_code == 303
                form = await browser.get(httpx.URL(dashboard).join(page.headers["location"]))
                assert 'name="token"' in form.text
                signed_in = await browser.post(
                    f"{dashboard}login", data={"token": demo_token("admin")}
                )
                assert signed_in.status_code == 303
                assert (await browser.get(dashboard)).status_code == 200
            labs = await cli("labs", "--url", api)
            assert labs.returncode == 0, labs.stderr
            assert "0 labs" in labs.stdout
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            await process.stdout.aclose()
