"""The ``discovery`` and ``alerts`` sections and ``images.source.caBundlePath`` (extensions)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from actors.config import ControllerConfig, DockerSource


def test_defaults(minimal: dict[str, Any]) -> None:
    config = ControllerConfig.model_validate(minimal)
    assert config.discovery.refresh_interval == timedelta(minutes=5)
    assert config.discovery.timeout == timedelta(seconds=20)
    alerts = config.alerts
    assert alerts.max_per_minute == 10
    assert alerts.dedup_window == timedelta(minutes=10)
    assert alerts.kubernetes_unreachable_after == timedelta(minutes=2)
    assert alerts.kubernetes_probe_interval == timedelta(seconds=10)
    assert alerts.timeout == timedelta(seconds=10)


def test_values_in_human_durations(minimal: dict[str, Any]) -> None:
    data = {
        **minimal,
        "discovery": {"refreshInterval": "1m", "timeout": 5},
        "alerts": {"maxPerMinute": 3, "dedupWindow": "1h", "kubernetesUnreachableAfter": "30s"},
    }
    config = ControllerConfig.model_validate(data)
    assert config.discovery.refresh_interval == timedelta(minutes=1)
    assert config.discovery.timeout == timedelta(seconds=5)
    assert config.alerts.max_per_minute == 3
    assert config.alerts.dedup_window == timedelta(hours=1)
    assert config.alerts.kubernetes_unreachable_after == timedelta(seconds=30)


@pytest.mark.parametrize(
    ("section", "body", "where"),
    [
        ("discovery", {"refreshInterval": 0}, ("discovery", "refreshInterval")),
        ("discovery", {"refreshIntervall": "5m"}, ("discovery", "refreshIntervall")),
        ("alerts", {"maxPerMinute": 0}, ("alerts", "maxPerMinute")),
        ("alerts", {"dedupWindow": "-1"}, ("alerts", "dedupWindow")),
        ("alerts", {"webhook": "https://x"}, ("alerts", "webhook")),
    ],
)
def test_bad_values_and_unknown_keys_are_refused(
    minimal: dict[str, Any], section: str, body: dict[str, Any], where: tuple[str, ...]
) -> None:
    with pytest.raises(ValidationError) as caught:
        ControllerConfig.model_validate({**minimal, section: body})
    assert where in [tuple(error["loc"]) for error in caught.value.errors()]


def test_a_docker_source_takes_a_ca_bundle(minimal: dict[str, Any]) -> None:
    images = dict(minimal["images"])
    images["source"] = {
        "type": "docker",
        "registry": "registry.internal",
        "repository": "lab",
        "caBundlePath": "/etc/nublado/ca.pem",
    }
    config = ControllerConfig.model_validate({**minimal, "images": images})
    assert isinstance(config.images.source, DockerSource)
    assert config.images.source.ca_bundle_path == Path("/etc/nublado/ca.pem")
