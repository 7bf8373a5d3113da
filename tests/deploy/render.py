"""Rendering ``deploy/`` the way an operator does: ``kubectl kustomize deploy/overlays/<mode>``.

kubectl is a real program the tests drive (the test extra installs it, ``tests/kubectl.py``);
a missing kubectl is a failure, not a skip, because then nothing here would be checked.
"""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.kubectl import kubectl_program

DEPLOY = Path(__file__).parents[2] / "deploy"
OVERLAYS = ("ingress", "direct")


def kubectl() -> str:
    return kubectl_program()


@cache
def _render(overlay: str) -> str:
    result = subprocess.run(
        [kubectl(), "kustomize", str(DEPLOY / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def rendered_text(overlay: str) -> str:
    """What ``kubectl kustomize`` prints for ``overlay``: the input of ``kubectl apply``."""
    return _render(overlay)


def render(overlay: str) -> list[dict[str, Any]]:
    """The objects of ``overlay`` as ``kubectl kustomize`` prints them (fresh copies)."""
    return [doc for doc in yaml.safe_load_all(_render(overlay)) if doc]


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    """The objects of ``kind`` (and ``name``, when given)."""
    return [
        obj
        for obj in objects
        if obj["kind"] == kind and (name is None or obj["metadata"]["name"] == name)
    ]


def only(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def controller_config(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The controller's configuration file as the overlay's ConfigMap holds it."""
    config_map = only(objects, "ConfigMap")
    data: dict[str, Any] = yaml.safe_load(config_map["data"]["config.yaml"])
    return data


def controller_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The controller's container in the Deployment."""
    container: dict[str, Any] = only(objects, "Deployment")["spec"]["template"]["spec"][
        "containers"
    ][0]
    return container


def controller_env(objects: list[dict[str, Any]]) -> dict[str, str]:
    """The environment the Deployment gives the controller with literal values."""
    return {
        item["name"]: item["value"]
        for item in controller_container(objects)["env"]
        if "value" in item
    }


def controller_field_env(objects: list[dict[str, Any]]) -> dict[str, str]:
    """The variables the Deployment fills from the pod's own fields (the downward API):
    name -> field path."""
    return {
        item["name"]: item["valueFrom"]["fieldRef"]["fieldPath"]
        for item in controller_container(objects)["env"]
        if "fieldRef" in item.get("valueFrom", {})
    }
