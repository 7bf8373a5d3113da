"""Loading the file, merging the environment (YAML wins) and the ``ConfigError`` messages."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import trio
import yaml

from actors.config import (
    KAFKA_REFUSAL,
    ConfigError,
    FileserverEnabled,
    MetricsDisabled,
    MetricsMock,
    PullPolicy,
    build_config,
    load_config,
)

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"

_HELPER_ENV = {
    "NUBLADO_HELPER_REPOSITORY": "ghcr.io/lsst-sqre/nublado",
    "NUBLADO_HELPER_TAG": "15.2.0",
}


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _message(data: dict[str, Any], environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        build_config(data, environ)
    return str(caught.value)


@pytest.mark.parametrize("name", ["config-minimal.yaml", "config-full.yaml"])
def test_example_configurations_load(name: str) -> None:
    config = load_config(EXAMPLES / name, _HELPER_ENV)
    assert config.lab.sizes
    assert config.helper_image.reference == "ghcr.io/lsst-sqre/nublado:15.2.0"


def test_full_example_sets_the_interesting_parts() -> None:
    config = load_config(EXAMPLES / "config-full.yaml", _HELPER_ENV)
    assert isinstance(config.fileserver, FileserverEnabled)
    assert config.lab.default_size == "medium"
    assert config.lab.affinity is not None
    assert len(config.lab.volumes) == 4
    assert config.fsadmin.extra_volume_mounts[0].volume_name == "archive"


async def test_load_config_runs_in_a_worker_thread(tmp_path: Path, minimal: dict[str, Any]) -> None:
    path = _write(tmp_path, minimal)
    with trio.fail_after(10):
        config = await trio.to_thread.run_sync(load_config, path, _HELPER_ENV)
    assert config.lab.namespace_prefix == "nublado"


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError, match=f"{path} does not exist"):
        load_config(path, {})


def test_unreadable_yaml_names_the_path_and_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("lab:\n  sizes: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"{path} is not valid YAML: .*line \d+"):
        load_config(path, {})


@pytest.mark.parametrize(("text", "found"), [("", "nothing"), ("- a\n- b\n", "a list")])
def test_yaml_that_is_not_a_mapping(tmp_path: Path, text: str, found: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=f"{path} must contain a mapping of keys, found {found}"):
        load_config(path, {})


def test_duplicate_yaml_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("name: One\nname: Two\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="duplicate key 'name'"):
        load_config(path, {})


def test_error_message_lists_every_bad_key_with_its_path(
    tmp_path: Path, minimal: dict[str, Any]
) -> None:
    minimal["lab"]["sizes"].append(
        {
            "size": "large",
            "resources": {
                "limits": {"cpu": "lots", "memory": "8Gi"},
                "requests": {"cpu": 1, "memory": "2Gi"},
            },
        }
    )
    minimal["lab"]["spawnTimeout"] = "soon"
    minimal["images"]["extra"] = True
    path = _write(tmp_path, minimal)
    with pytest.raises(ConfigError) as caught:
        load_config(path, _HELPER_ENV)
    message = str(caught.value)
    assert message.startswith(f"invalid configuration in {path}:\n")
    assert "lab.sizes[1].resources.limits.cpu: invalid CPU amount 'lots'" in message
    assert "lab.spawnTimeout: invalid duration 'soon'" in message
    assert "images.extra: unknown key" in message
    assert "pydantic" not in message
    assert "Traceback" not in message


def test_error_paths_use_the_snake_case_spelling_of_the_file(minimal: dict[str, Any]) -> None:
    minimal["lab"]["spawn_timeout"] = "later"
    assert "lab.spawn_timeout: invalid duration 'later'" in _message(minimal)


def test_cross_field_paths_use_the_snake_case_spelling_too(minimal: dict[str, Any]) -> None:
    minimal["lab"]["home_volume_name"] = "homes"
    assert "lab.home_volume_name: no volume named homes in lab.volumes" in _message(minimal)


def test_union_members_do_not_leak_into_paths(minimal: dict[str, Any]) -> None:
    minimal["lab"]["volumes"][0]["source"]["serverPath"] = "exports/home"
    message = _message(minimal)
    assert "lab.volumes[0].source.serverPath: 'exports/home' is not an absolute path" in message
    assert "<" not in message


def test_secret_values_are_never_echoed(minimal: dict[str, Any]) -> None:
    minimal["slackWebhook"] = ["https://hooks.example.org/very-secret"]
    message = _message(minimal)
    assert "slackWebhook:" in message
    assert "very-secret" not in message


def test_environment_supplies_base_url_and_slack_webhook(minimal: dict[str, Any]) -> None:
    environ = {
        "EXTERNAL_INSTANCE_URL": "https://data.example.org",
        "NUBLADO_SLACK_WEBHOOK": "https://hooks.example.org/abc",
        "REPERTOIRE_BASE_URL": "https://data.example.org/repertoire",
    }
    config = build_config(minimal, environ)
    assert config.base_url == "https://data.example.org"
    assert config.slack_webhook is not None
    assert config.slack_webhook.get_secret_value() == "https://hooks.example.org/abc"
    assert config.repertoire_base_url == "https://data.example.org/repertoire"


@pytest.mark.parametrize("key", ["EXTERNAL_INSTANCE_URL", "base_url", "baseUrl"])
def test_yaml_wins_over_the_environment(minimal: dict[str, Any], key: str) -> None:
    minimal[key] = "https://yaml.example.org"
    minimal["slack_webhook"] = "https://hooks.example.org/from-yaml"
    environ = {
        "EXTERNAL_INSTANCE_URL": "https://env.example.org",
        "NUBLADO_SLACK_WEBHOOK": "https://hooks.example.org/from-env",
        "METRICS_APPLICATION": "from-env",
    }
    config = build_config(minimal, environ)
    assert config.base_url == "https://yaml.example.org"
    assert config.slack_webhook is not None
    assert config.slack_webhook.get_secret_value().endswith("from-yaml")
    assert config.metrics.application == "nublado"


def test_empty_environment_values_count_as_unset(minimal: dict[str, Any]) -> None:
    config = build_config(minimal, {"NUBLADO_SLACK_WEBHOOK": "", "EXTERNAL_INSTANCE_URL": ""})
    assert config.slack_webhook is None
    assert config.base_url == "http://127.0.0.1:8080"


def test_environment_errors_name_the_variable(minimal: dict[str, Any]) -> None:
    message = _message(minimal, {"EXTERNAL_INSTANCE_URL": "data.example.org"})
    assert (
        "baseUrl: must be an http:// or https:// URL"
        " (from environment variable EXTERNAL_INSTANCE_URL)" in message
    )


def test_helper_image_from_environment(minimal: dict[str, Any]) -> None:
    environ = {**_HELPER_ENV, "NUBLADO_HELPER_PULL_POLICY": "always"}
    config = build_config(minimal, environ)
    assert config.helper_image.reference == "ghcr.io/lsst-sqre/nublado:15.2.0"
    assert config.helper_image.pull_policy is PullPolicy.ALWAYS
    # File servers run the helper image too unless fileserverImage says otherwise.
    assert config.worblehat_image == config.helper_image


def test_the_reference_controller_variables_still_name_the_helper_image(
    minimal: dict[str, Any],
) -> None:
    environ = {
        "NUBLADO_CONTROLLER_REPOSITORY": "registry.example.org/nublado",
        "NUBLADO_CONTROLLER_TAG": "14.0.0",
        "NUBLADO_CONTROLLER_PULL_POLICY": "Never",
    }
    image = build_config(minimal, environ).helper_image
    assert image.reference == "registry.example.org/nublado:14.0.0"
    assert image.pull_policy is PullPolicy.NEVER
    environ["NUBLADO_HELPER_TAG"] = "15.2.0"
    assert build_config(minimal, environ).helper_image.tag == "15.2.0"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Never", PullPolicy.NEVER),
        ("NEVER", PullPolicy.NEVER),
        ("sometimes", PullPolicy.IF_NOT_PRESENT),
    ],
)
def test_helper_pull_policy_falls_back_to_if_not_present(
    minimal: dict[str, Any], value: str, expected: PullPolicy
) -> None:
    environ = {**_HELPER_ENV, "NUBLADO_HELPER_PULL_POLICY": value}
    assert build_config(minimal, environ).helper_image.pull_policy == expected


def test_helper_image_default_is_logged(
    minimal: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="actors.config.loading"):
        image = build_config(minimal, {}).helper_image
    assert image.reference == "ghcr.io/lsst-sqre/nublado:15.1.0"
    assert image.pull_policy is PullPolicy.IF_NOT_PRESENT
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "NUBLADO_HELPER_REPOSITORY is not set" in logged
    assert "NUBLADO_HELPER_TAG is not set" in logged


@pytest.mark.parametrize("key", ["helperImage", "controllerImage"])
def test_helper_image_in_yaml_wins(minimal: dict[str, Any], key: str) -> None:
    minimal[key] = {"repository": "local/nublado", "tag": "dev"}
    image = build_config(minimal, _HELPER_ENV).helper_image
    assert image.reference == "local/nublado:dev"


def test_the_helper_image_has_one_name_at_a_time(minimal: dict[str, Any]) -> None:
    minimal["helperImage"] = {"repository": "local/nublado", "tag": "dev"}
    minimal["controllerImage"] = {"repository": "local/other", "tag": "dev"}
    message = _message(minimal, _HELPER_ENV)
    assert message.splitlines()[1:] == [
        "  controllerImage: the older name of helperImage; set only one"
    ]


def test_file_servers_may_run_their_own_image(minimal: dict[str, Any]) -> None:
    minimal["fileserverImage"] = {"repository": "ghcr.io/lsst-sqre/worblehat", "tag": "0.3.0"}
    config = build_config(minimal, _HELPER_ENV)
    assert config.worblehat_image.reference == "ghcr.io/lsst-sqre/worblehat:0.3.0"
    assert config.helper_image.reference == "ghcr.io/lsst-sqre/nublado:15.2.0"


def test_metrics_from_the_environment_alone(minimal: dict[str, Any]) -> None:
    del minimal["metrics"]
    environ = {"METRICS_APPLICATION": "nublado", "METRICS_ENABLED": "false", "METRICS_MOCK": "true"}
    assert isinstance(build_config(minimal, environ).metrics, MetricsMock)
    environ["METRICS_MOCK"] = "false"
    assert isinstance(build_config(minimal, environ).metrics, MetricsDisabled)


def test_kafka_metrics_from_the_environment(minimal: dict[str, Any]) -> None:
    del minimal["metrics"]
    environ = {
        "METRICS_APPLICATION": "nublado",
        "METRICS_EVENTS_TOPIC_PREFIX": "site.events",
        "KAFKA_BOOTSTRAP_SERVERS": "kafka-1:9093,kafka-2:9093",
        "KAFKA_SECURITY_PROTOCOL": "SSL",
        "KAFKA_CLUSTER_CA_PATH": "/etc/kafka/ca.crt",
        "KAFKA_CLIENT_CERT_PATH": "/etc/kafka/user.crt",
        "KAFKA_CLIENT_KEY_PATH": "/etc/kafka/user.key",
        "SCHEMA_MANAGER_REGISTRY_URL": "http://schema-registry:8081",
    }
    # Kafka settings without METRICS_ENABLED=false ask for publishing, which is refused.
    message = _message(minimal, environ)
    assert f"metrics.enabled: {KAFKA_REFUSAL}" in message
    environ["METRICS_ENABLED"] = "false"
    metrics = build_config(minimal, environ).metrics
    assert isinstance(metrics, MetricsDisabled)
    assert metrics.events.topic_prefix == "site.events"


def test_partial_metrics_section_is_completed_by_the_environment(minimal: dict[str, Any]) -> None:
    minimal["metrics"] = {"enabled": False}
    config = build_config(minimal, {"METRICS_APPLICATION": "from-env"})
    assert config.metrics.application == "from-env"


def test_missing_metrics_without_environment_is_disabled(minimal: dict[str, Any]) -> None:
    del minimal["metrics"]
    metrics = build_config(minimal, {}).metrics
    assert isinstance(metrics, MetricsDisabled)
    assert metrics.application == "nublado"


def test_yaml_enabled_flag_wins_over_metrics_enabled(minimal: dict[str, Any]) -> None:
    environ = {"METRICS_ENABLED": "true", "KAFKA_BOOTSTRAP_SERVERS": "kafka:9092"}
    assert isinstance(build_config(minimal, environ).metrics, MetricsDisabled)


def test_invalid_environment_boolean_is_named(minimal: dict[str, Any]) -> None:
    del minimal["metrics"]
    message = _message(minimal, {"METRICS_ENABLED": "perhaps", "METRICS_APPLICATION": "n"})
    assert "(from environment variable METRICS_ENABLED)" in message


def test_build_config_does_not_modify_its_input(minimal: dict[str, Any]) -> None:
    del minimal["metrics"]
    snapshot = yaml.safe_dump(minimal)
    build_config(minimal, {"METRICS_ENABLED": "0", "METRICS_APPLICATION": "n"})
    assert yaml.safe_dump(minimal) == snapshot


def test_empty_section_headers_read_as_empty_sections(tmp_path: Path) -> None:
    text = (EXAMPLES / "config-minimal.yaml").read_text(encoding="utf-8")
    path = tmp_path / "config.yaml"
    path.write_text(text.replace("fsadmin: {}", "fsadmin:\ndropdownMenu:"), encoding="utf-8")
    config = load_config(path, _HELPER_ENV)
    assert config.fsadmin.pod_name == "fsadmin"
    assert config.dropdown_menu.daily.limit is None
