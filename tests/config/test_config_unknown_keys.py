"""Unknown keys are errors in every section, switched off or not.

Sections that may be switched off (``fileserver``, the disabled and mock ``metrics`` shapes)
and ``fsadmin`` used to drop every unknown key, so a typo there (``enabeld: true``) silently
left a feature off or a setting at its default. Now only the keys known to be harmless are
accepted without being read: the keys of a switched-off shape and the keys the deployment
tooling (Phalanx) writes for itself. These tests pin both halves of that rule, and that the
operator sees every bad key at once rather than one per restart.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from actors.config import (
    ConfigError,
    FileserverDisabled,
    MetricsDisabled,
    MetricsMock,
    build_config,
    load_config,
)


def _message(data: dict[str, Any], environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        build_config(data, environ)
    return str(caught.value)


@pytest.mark.parametrize(
    ("section", "body", "line"),
    [
        ("fileserver", {"enabeld": True}, "fileserver.enabeld: unknown key"),
        (
            "fileserver",
            {"enabled": False, "pathPrefix": "/files", "idle_timout": "1d"},
            "fileserver.idle_timout: unknown key",
        ),
        ("fsadmin", {"timout": "3m"}, "fsadmin.timout: unknown key"),
        ("fsadmin", {"application": "nublado", "podname": "x"}, "fsadmin.podname: unknown key"),
        (
            "metrics",
            {"enabled": False, "application": "nublado", "kafak": {}},
            "metrics.kafak: unknown key",
        ),
        (
            "metrics",
            {"enabled": False, "mock": True, "application": "nublado", "schemaManger": {}},
            "metrics.schemaManger: unknown key",
        ),
    ],
)
def test_a_typo_in_a_tolerant_section_is_an_error(
    minimal: dict[str, Any], section: str, body: dict[str, Any], line: str
) -> None:
    minimal[section] = body
    message = _message(minimal)
    assert message.splitlines()[1:] == [f"  {line}"]


def test_every_bad_key_is_reported_in_one_message(tmp_path: Path, minimal: dict[str, Any]) -> None:
    minimal["fileserver"] = {"enabeld": True}
    minimal["fsadmin"] = {"timout": "3m"}
    minimal["metrics"] = {"enabled": False, "application": "nublado", "kafak": {}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(minimal), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert sorted(caught.value.problems) == [
        "fileserver.enabeld: unknown key",
        "fsadmin.timout: unknown key",
        "metrics.kafak: unknown key",
    ]
    message = str(caught.value)
    for problem in caught.value.problems:
        assert f"  {problem}\n" in message + "\n"


def test_a_disabled_fileserver_accepts_the_keys_of_the_enabled_shape_unread(
    minimal: dict[str, Any],
) -> None:
    # What a Phalanx values file renders for a site without file servers: the whole block,
    # in either spelling, some values placeholders that would not pass when enabled.
    minimal["fileserver"] = {
        "enabled": False,
        "application": "nublado-fileservers",
        "namespace": None,
        "creationTimeout": "3m",
        "delete_timeout": "not checked",
        "idleTimeout": "1d",
        "reconcileInterval": "1h",
        "extraAnnotations": {},
        "nodeSelector": {},
        "resources": {"limits": {"cpu": 1}},
        "tolerations": [],
        "affinity": None,
        "volumeMounts": [{"containerPath": "/home", "volumeName": "no-such-volume"}],
        "pathPrefix": "/webdav",
    }
    config = build_config(minimal)
    assert config.fileserver == FileserverDisabled(path_prefix="/webdav")


def test_fsadmin_accepts_application_unread(minimal: dict[str, Any]) -> None:
    minimal["fsadmin"] = {"application": "nublado-fsadmin", "podName": "admin"}
    config = build_config(minimal)
    assert config.fsadmin.pod_name == "admin"
    assert "application" not in config.fsadmin.model_dump(by_alias=True)


@pytest.mark.parametrize("mock", [False, True])
def test_switched_off_metrics_accept_the_kafka_blocks_unread(
    minimal: dict[str, Any], mock: bool
) -> None:
    minimal["metrics"] = {
        "enabled": False,
        "mock": mock,
        "application": "nublado",
        "events": {"topicPrefix": "site.events"},
        "kafka": {"bootstrapServers": "kafka:9092", "anything": "unchecked"},
        "schema_manager": {"registryUrl": "not a url"},
    }
    metrics = build_config(minimal).metrics
    assert isinstance(metrics, MetricsMock if mock else MetricsDisabled)
    assert metrics.events.topic_prefix == "site.events"


def test_kafka_environment_does_not_break_disabled_metrics(minimal: dict[str, Any]) -> None:
    environ = {
        "KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
        "KAFKA_SECURITY_PROTOCOL": "SSL",
        "SCHEMA_MANAGER_REGISTRY_URL": "http://registry:8081",
    }
    assert isinstance(build_config(copy.deepcopy(minimal), environ).metrics, MetricsDisabled)


def test_the_events_block_stays_strict_when_metrics_are_off(minimal: dict[str, Any]) -> None:
    minimal["metrics"] = {"enabled": False, "application": "n", "events": {"topicPrefx": "x"}}
    assert "metrics.events.topicPrefx: unknown key" in _message(minimal)
