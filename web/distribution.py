"""Who else installs the top-level packages ``actors``, ``web`` and ``kubesim``.

The repository's layout makes these the import names of the installed wheel, and they are
generic: another distribution in the same environment may ship a package of the same name,
and then one of the two is silently overwritten or shadowed, and the controller fails later
in confusing ways (or runs someone else's module). Renaming them would change every import
in the project, so instead the console script checks at start-up, from the installed
distributions' metadata, that no other distribution provides one of them, and refuses to
start with one message naming the culprits if one does. The cure is an environment of its
own for nublado-trio (a virtual environment, as the container image has).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import metadata

__all__ = ["DISTRIBUTION", "TOP_LEVEL_PACKAGES", "conflict_message", "foreign_providers"]

DISTRIBUTION = "nublado-trio"
TOP_LEVEL_PACKAGES = ("actors", "web", "kubesim")


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def foreign_providers(
    providers: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, list[str]]:
    """Top-level package -> the other distributions that install it (only conflicts).

    ``providers`` is ``importlib.metadata.packages_distributions()`` (read when ``None``:
    a scan of the installed distributions' file lists, some tens of milliseconds).
    """
    if providers is None:
        providers = metadata.packages_distributions()
    conflicts: dict[str, list[str]] = {}
    for package in TOP_LEVEL_PACKAGES:
        others = {
            name
            for name in providers.get(package, ())
            if _canonical(name) != _canonical(DISTRIBUTION)
        }
        if others:
            conflicts[package] = sorted(others)
    return conflicts


def conflict_message(conflicts: Mapping[str, Sequence[str]]) -> str:
    """The one paragraph the console script prints before refusing to start."""
    lines = [
        f"{DISTRIBUTION} cannot run in this Python environment: other installed distributions"
        " provide the same top-level packages, so the code imported may not be its own:"
    ]
    lines += [f"  {package}: {', '.join(names)}" for package, names in sorted(conflicts.items())]
    lines.append(f"Install {DISTRIBUTION} in a virtual environment of its own.")
    return "\n".join(lines)
