"""Fixtures for the configuration tests: the smallest valid configuration as a dict."""

from __future__ import annotations

import copy
from typing import Any

import pytest

_MINIMAL: dict[str, Any] = {
    "metrics": {"enabled": False, "application": "nublado"},
    "lab": {
        "namespacePrefix": "nublado",
        "sizes": [
            {
                "size": "small",
                "resources": {
                    "limits": {"cpu": 1, "memory": "3Gi"},
                    "requests": {"cpu": 0.25, "memory": "768Mi"},
                },
            }
        ],
        "volumes": [
            {
                "name": "home",
                "source": {"type": "nfs", "server": "10.0.0.5", "serverPath": "/exports/home"},
            }
        ],
        "volumeMounts": [{"containerPath": "/home", "volumeName": "home"}],
    },
    "images": {"source": {"type": "docker", "repository": "library/sketchbook"}},
    "fsadmin": {},
}


@pytest.fixture
def minimal() -> dict[str, Any]:
    """A fresh copy of the smallest valid configuration, to modify per test."""
    return copy.deepcopy(_MINIMAL)
