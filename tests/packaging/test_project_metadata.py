"""pyproject.toml: one version, a licence file that matches, no invented URLs."""

from __future__ import annotations

import configparser
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_the_licence_file_is_the_declared_mit_licence() -> None:
    assert PROJECT["license"] == {"text": "MIT"}
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert "nublado-trio contributors" in text
    assert "License :: OSI Approved :: MIT License" in PROJECT["classifiers"]


def test_no_placeholder_urls() -> None:
    for url in PROJECT.get("urls", {}).values():
        assert "example." not in url, url


def test_the_changelog_covers_the_current_version() -> None:
    """Either a dated release heading for the version, or the unreleased section naming it."""
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    version = re.escape(PROJECT["version"])
    released = re.search(rf"^## \[{version}\] - \d{{4}}-\d\d-\d\d$", changelog, re.M)
    unreleased = re.search(rf"^## \[Unreleased\]\n\nVersion {version} ", changelog, re.M)
    assert released or unreleased


def test_the_classifiers_name_every_python_tox_can_test() -> None:
    tox = configparser.ConfigParser()
    tox.read(ROOT / "tox.ini", encoding="utf-8")
    label = tox["tox"]["labels"].strip()
    assert label.startswith("pythons =")
    versions = {
        f"3.{name[3:]}"
        for name in label.removeprefix("pythons =").replace(",", " ").split()
        if re.fullmatch(r"py3\d+", name)
    }
    declared = {
        classifier.rsplit(" :: ", 1)[1]
        for classifier in PROJECT["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", classifier)
    }
    assert versions == declared == {"3.11", "3.12", "3.13"}
