"""The image's lock files agree with pyproject.toml (offline; ``tox -e lock`` relocks).

These checks need no network: every dependency pyproject.toml declares is pinned once, to a
version its bounds allow, with hashes, and nothing is pinned twice. ``tox -e lock``
(``.ci/lock.py --check``) additionally re-resolves from PyPI as of the date in the files and
compares them line by line.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+) \\$")


def pins(name: str) -> dict[str, tuple[str, int]]:
    """Canonical name -> (pinned version, number of hashes) of one lock file."""
    found: dict[str, tuple[str, int]] = {}
    current: str | None = None
    for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
        if match := _PIN.match(line):
            current = canonicalize_name(match.group(1))
            assert current not in found, f"{current} pinned twice in {name}"
            found[current] = (match.group(2), 0)
        elif line.strip().startswith("--hash=sha256:") and current is not None:
            version, hashes = found[current]
            found[current] = (version, hashes + 1)
    return found


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [
        ("requirements.lock", PYPROJECT["project"]["dependencies"]),
        ("requirements-build.lock", PYPROJECT["build-system"]["requires"]),
    ],
)
def test_every_declared_dependency_is_pinned_within_its_bounds(
    lock: str, requirements: list[str]
) -> None:
    pinned = pins(lock)
    assert pinned
    for text in requirements:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is declared in pyproject.toml but not in {lock}"
        version, _ = pinned[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock} pins {name}=={version}, outside {requirement.specifier}"
        )
    for name, (version, hashes) in pinned.items():
        assert hashes > 0, f"{name}=={version} has no hash in {lock}"


def test_the_lock_files_were_resolved_at_a_recorded_date() -> None:
    for lock in ("requirements.lock", "requirements-build.lock"):
        first = (ROOT / lock).read_text(encoding="utf-8").splitlines()[0]
        assert re.fullmatch(r"# Resolved from PyPI as of \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\.", first)


def test_the_image_installs_from_the_lock_files_with_hashes() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for lock in ("requirements.lock", "requirements-build.lock"):
        assert re.search(rf"--require-hashes[^\n]*-r [^\n]*{re.escape(lock)}", dockerfile), lock
    # Dependencies come before the sources, so a code change reuses the dependency layer.
    assert dockerfile.index("requirements.lock") < dockerfile.index("COPY actors")


def test_the_image_label_carries_the_project_version() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    version = PYPROJECT["project"]["version"]
    assert f"ARG VERSION={version}\n" in dockerfile
    assert 'org.opencontainers.image.version="${VERSION}"' in dockerfile
