"""The installed import names ``actors``, ``web`` and ``kubesim`` are checked for owners.

The console script refuses to start when another installed distribution provides one of
them (``web.distribution``); these tests install such a distribution's metadata for real (a
``.dist-info`` directory on ``sys.path`` of a child Python) and run the real entry point.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from web.distribution import conflict_message, foreign_providers

ROOT = Path(__file__).parents[2]


def test_only_other_distributions_count_as_conflicts() -> None:
    providers = {
        "web": ["nublado_trio", "webkit-tools"],
        "actors": ["nublado-trio"],
        "kubesim": ["Nublado.Trio", "kubesim", "aaa"],
        "requests": ["requests"],
    }
    assert foreign_providers(providers) == {"web": ["webkit-tools"], "kubesim": ["aaa", "kubesim"]}
    assert foreign_providers({"web": ["nublado-trio"]}) == {}


def test_this_environment_has_no_conflict() -> None:
    assert foreign_providers() == {}


def _run_cli(*extra_path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    # The project first, so the other "web" is installed but not the one imported.
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *map(str, extra_path)])
    code = "import sys; from web.cli import main; sys.exit(main(['--help']))"
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_the_console_script_refuses_to_start_beside_another_web_package(tmp_path: Path) -> None:
    info = tmp_path / "webkit_tools-1.0.dist-info"
    info.mkdir()
    # Its files exist, as installed files do (importlib.metadata skips missing ones).
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "__init__.py").write_text("")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: webkit-tools\nVersion: 1.0\n")
    (info / "RECORD").write_text("web/__init__.py,,\nwebkit_tools-1.0.dist-info/METADATA,,\n")
    refused = _run_cli(tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert refused.stdout == ""
    assert refused.stderr == conflict_message({"web": ["webkit-tools"]}) + "\n"
    assert "  web: webkit-tools" in refused.stderr

    allowed = _run_cli()
    assert allowed.returncode == 0, allowed.stderr
    assert "serve" in allowed.stdout
