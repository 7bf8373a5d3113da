"""``kubectl kustomize deploy/overlays/<mode> | kubectl apply -f -`` against ``nublado-trio
simulate``, with a real kubectl, as an operator would try the manifests first.

Every rendered object must be accepted (kubectl's client-side validation included, which
reads the simulated server's OpenAPI) and read back as applied.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.deploy.render import OVERLAYS, kubectl, render, rendered_text
from tests.e2e.processes import kubesim_process


def _kubectl(server: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [kubectl(), f"--server={server}", "--kubeconfig=/dev/null", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _contains(stored: Any, wanted: Any) -> bool:
    """``stored`` holds everything of ``wanted`` (the server may add defaults around it)."""
    if isinstance(wanted, dict):
        return isinstance(stored, dict) and all(
            key in stored and _contains(stored[key], value) for key, value in wanted.items()
        )
    if isinstance(wanted, list):
        return (
            isinstance(stored, list)
            and len(stored) == len(wanted)
            and all(_contains(s, w) for s, w in zip(stored, wanted, strict=True))
        )
    return bool(stored == wanted)


@pytest.mark.parametrize("overlay", OVERLAYS)
async def test_every_rendered_object_applies_to_the_simulated_site(
    overlay: str, tmp_path: Path
) -> None:
    config = tmp_path / "kubesim.yaml"
    config.write_text("{}\n", encoding="utf-8")
    rendered = await trio.to_thread.run_sync(rendered_text, overlay)
    with trio.fail_after(60):
        async with kubesim_process(config, tmp_path / "kubesim.log") as (_, url):
            applied = await trio.to_thread.run_sync(
                lambda: _kubectl(url, "apply", "-f", "-", stdin=rendered)
            )
            assert applied.returncode == 0, applied.stderr
            for obj in render(overlay):
                kind = obj["kind"]
                name = obj["metadata"]["name"]
                namespace = obj["metadata"].get("namespace")
                args = ["get", kind, name, "-o", "json"]
                if namespace:
                    args += ["-n", namespace]
                got = await trio.to_thread.run_sync(lambda args=args: _kubectl(url, *args))
                assert got.returncode == 0, f"{kind} {name}: {got.stderr}"
                stored = json.loads(got.stdout)
                for field in ("spec", "data", "rules", "roleRef", "subjects", "config"):
                    if field in obj:
                        assert _contains(stored[field], obj[field]), (kind, name, field)
