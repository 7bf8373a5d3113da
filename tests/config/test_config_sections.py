"""Sections, keys, defaults and spellings of the configuration (spec §2 to §9, §11, §15)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from actors.config import (
    KAFKA_REFUSAL,
    ControllerConfig,
    DockerSource,
    FileserverDisabled,
    FileserverEnabled,
    GARSource,
    LabSize,
    MetricsDisabled,
    MetricsMock,
    PullPolicy,
    TolerationOperator,
)


def _error_locations(error: ValidationError) -> list[tuple[str | int, ...]]:
    return [tuple(item["loc"]) for item in error.errors()]


def test_minimal_config_gets_every_documented_default(minimal: dict[str, Any]) -> None:
    config = ControllerConfig.model_validate(minimal)
    assert config.name == "Nublado"
    assert config.path_prefix == "/nublado"
    assert config.base_url == "http://127.0.0.1:8080"
    assert config.log_level == "INFO"
    assert config.log_profile == "production"
    assert config.metadata_path == Path("/etc/podinfo")
    assert config.slack_webhook is None
    assert config.watch_reconnect_timeout == timedelta(minutes=3)
    assert isinstance(config.fileserver, FileserverDisabled)
    assert config.fileserver.path_prefix == "/files"
    lab = config.lab
    assert lab.spawn_timeout == timedelta(minutes=10)
    assert lab.delete_timeout == timedelta(minutes=1)
    assert lab.reconcile_interval == timedelta(minutes=5)
    assert lab.activity_interval == timedelta(hours=1)
    assert lab.homedir_prefix == "/home"
    assert lab.homedir_suffix == ""
    assert lab.home_volume_name == "home"
    assert lab.lab_start_command == ["/opt/lsst/software/jupyterlab/runlab.sh"]
    assert lab.jupyterlab_config_dir == "/opt/lsst/software/jupyterlab"
    assert lab.runtime_mounts_dir == "/etc/nublado"
    assert lab.nss.base_passwd == "root:x:0:0:root:/root:/bin/bash\n"
    assert lab.nss.base_group == "root:x:0\n"
    assert lab.empty_dir_source == "memory"
    assert lab.homedir_schema == "username"
    assert lab.standard_inithome is False
    assert lab.default_size is None
    images = config.images
    assert images.docker_credentials_path == Path("/etc/secrets/.dockerconfigjson")
    assert images.refresh_interval == timedelta(minutes=5)
    assert images.prepull_timeout == timedelta(minutes=10)
    assert images.recommended_tag == "recommended"
    assert (images.num_releases, images.num_weeklies, images.num_dailies) == (1, 2, 3)
    assert images.cycle is None
    assert isinstance(images.source, DockerSource)
    assert images.source.registry == "docker.io"
    assert config.fsadmin.pod_name == "fsadmin"
    assert config.fsadmin.timeout == timedelta(minutes=2)
    assert config.fsadmin.mount_prefix is None
    assert config.dropdown_menu.weekly.limit is None


def test_snake_case_and_camel_case_are_both_accepted(minimal: dict[str, Any]) -> None:
    minimal["lab"]["spawn_timeout"] = "5m"
    minimal["lab"]["deleteTimeout"] = "2m"
    minimal["lab"]["volume_mounts"] = minimal["lab"].pop("volumeMounts")
    minimal["path_prefix"] = "/labs"
    minimal["watchReconnectTimeout"] = 60
    config = ControllerConfig.model_validate(minimal)
    assert config.lab.spawn_timeout == timedelta(minutes=5)
    assert config.lab.delete_timeout == timedelta(minutes=2)
    assert config.lab.volume_mounts[0].container_path == "/home"
    assert config.path_prefix == "/labs"
    assert config.watch_reconnect_timeout == timedelta(seconds=60)


def test_serialisation_is_camel_case_with_seconds(minimal: dict[str, Any]) -> None:
    dumped = ControllerConfig.model_validate(minimal).model_dump(mode="json")
    assert dumped["lab"]["spawnTimeout"] == 600.0
    assert dumped["lab"]["namespacePrefix"] == "nublado"
    assert dumped["baseUrl"] == "http://127.0.0.1:8080"


@pytest.mark.parametrize("key", ["EXTERNAL_INSTANCE_URL", "base_url", "baseUrl"])
def test_base_url_spellings(minimal: dict[str, Any], key: str) -> None:
    minimal[key] = "https://data.example.org/"
    assert ControllerConfig.model_validate(minimal).base_url == "https://data.example.org"


@pytest.mark.parametrize("key", ["NUBLADO_SLACK_WEBHOOK", "slack_webhook", "slackWebhook"])
def test_slack_webhook_spellings_and_secrecy(minimal: dict[str, Any], key: str) -> None:
    minimal[key] = "https://hooks.example.org/secret-path"
    config = ControllerConfig.model_validate(minimal)
    assert config.slack_webhook is not None
    assert config.slack_webhook.get_secret_value() == "https://hooks.example.org/secret-path"
    assert "secret-path" not in repr(config)
    assert "secret-path" not in str(config.model_dump())


def test_log_level_is_case_insensitive(minimal: dict[str, Any]) -> None:
    minimal["logLevel"] = "debug"
    assert ControllerConfig.model_validate(minimal).log_level == "DEBUG"
    minimal["logLevel"] = "verbose"
    with pytest.raises(ValidationError):
        ControllerConfig.model_validate(minimal)


@pytest.mark.parametrize("prefix", ["/nublado/", "nublado", ""])
def test_path_prefix_must_be_absolute_without_trailing_slash(
    minimal: dict[str, Any], prefix: str
) -> None:
    minimal["pathPrefix"] = prefix
    with pytest.raises(ValidationError) as caught:
        ControllerConfig.model_validate(minimal)
    assert _error_locations(caught.value) == [("pathPrefix",)]


@pytest.mark.parametrize("section", [None, "lab", "images"])
def test_unknown_keys_are_rejected_in_strict_sections(
    minimal: dict[str, Any], section: str | None
) -> None:
    target = minimal if section is None else minimal[section]
    target["surprise"] = 1
    with pytest.raises(ValidationError) as caught:
        ControllerConfig.model_validate(minimal)
    expected = ("surprise",) if section is None else (section, "surprise")
    assert _error_locations(caught.value) == [expected]


def test_fsadmin_accepts_the_phalanx_application_key(minimal: dict[str, Any]) -> None:
    minimal["fsadmin"] = {"application": "nublado-fsadmin", "timeout": "3m"}
    config = ControllerConfig.model_validate(minimal)
    assert config.fsadmin.timeout == timedelta(minutes=3)


def test_disabled_fileserver_reads_only_path_prefix(minimal: dict[str, Any]) -> None:
    minimal["fileserver"] = {"enabled": False, "pathPrefix": "/webdav", "namespace": "unused"}
    fileserver = ControllerConfig.model_validate(minimal).fileserver
    assert fileserver == FileserverDisabled(path_prefix="/webdav")
    minimal["fileserver"]["image"] = "old"  # obsolete key: an error even when disabled
    with pytest.raises(ValidationError) as caught:
        ControllerConfig.model_validate(minimal)
    assert [loc[-1] for loc in _error_locations(caught.value)] == ["image"]


def test_enabled_fileserver_rejects_unknown_keys_and_needs_namespace(
    minimal: dict[str, Any],
) -> None:
    minimal["fileserver"] = {"enabled": True, "image": {"repository": "x"}}
    with pytest.raises(ValidationError) as caught:
        ControllerConfig.model_validate(minimal)
    locations = {loc[-1] for loc in _error_locations(caught.value)}
    assert locations == {"namespace", "image"}


def test_enabled_fileserver_defaults(minimal: dict[str, Any]) -> None:
    minimal["fileserver"] = {"enabled": True, "namespace": "fileservers"}
    fileserver = ControllerConfig.model_validate(minimal).fileserver
    assert isinstance(fileserver, FileserverEnabled)
    assert fileserver.creation_timeout == timedelta(minutes=2)
    assert fileserver.delete_timeout == timedelta(minutes=1)
    assert fileserver.idle_timeout == timedelta(hours=1)
    assert fileserver.reconcile_interval == timedelta(minutes=60)
    assert fileserver.path_prefix == "/files"
    assert fileserver.resources is None


def test_gar_source(minimal: dict[str, Any]) -> None:
    minimal["images"]["source"] = {
        "type": "google",
        "location": "us-central1",
        "projectId": "science-1234",
        "repository": "sciplat",
        "image": "sciplat-lab",
    }
    source = ControllerConfig.model_validate(minimal).images.source
    assert isinstance(source, GARSource)
    assert source.registry == "us-central1-docker.pkg.dev"


def test_unknown_image_source_type_is_named(minimal: dict[str, Any]) -> None:
    minimal["images"]["source"] = {"type": "quay", "repository": "x"}
    with pytest.raises(ValidationError, match="type must be docker or google"):
        ControllerConfig.model_validate(minimal)


@pytest.mark.parametrize("number", [-1, "many"])
def test_image_counts_are_non_negative_integers(minimal: dict[str, Any], number: object) -> None:
    minimal["images"]["numDailies"] = number
    with pytest.raises(ValidationError):
        ControllerConfig.model_validate(minimal)


def test_image_filter_number_zero_means_no_limit(minimal: dict[str, Any]) -> None:
    minimal["dropdownMenu"] = {"daily": {"number": 0}, "weekly": {"number": 4, "age": "8w"}}
    menu = ControllerConfig.model_validate(minimal).dropdown_menu
    assert menu.daily.limit is None
    assert menu.weekly.limit == 4
    assert menu.weekly.age == timedelta(weeks=8)


def test_image_filter_rejects_unknown_keys(minimal: dict[str, Any]) -> None:
    minimal["dropdownMenu"] = {"releaseCandidate": {"newest": 2}}
    with pytest.raises(ValidationError) as caught:
        ControllerConfig.model_validate(minimal)
    assert _error_locations(caught.value) == [("dropdownMenu", "releaseCandidate", "newest")]


def test_metrics_shapes(minimal: dict[str, Any]) -> None:
    minimal["metrics"] = {"enabled": False, "appName": "nublado", "kafka": {"whatever": 1}}
    assert isinstance(ControllerConfig.model_validate(minimal).metrics, MetricsDisabled)
    minimal["metrics"] = {"enabled": False, "mock": True, "application": "nublado"}
    assert isinstance(ControllerConfig.model_validate(minimal).metrics, MetricsMock)
    # Neither `enabled` nor Kafka settings: disabled, with the default application name.
    minimal["metrics"] = {}
    metrics = ControllerConfig.model_validate(minimal).metrics
    assert isinstance(metrics, MetricsDisabled)
    assert metrics.application == "nublado"
    del minimal["metrics"]
    assert isinstance(ControllerConfig.model_validate(minimal).metrics, MetricsDisabled)


@pytest.mark.parametrize(
    "section",
    [
        {"enabled": True, "application": "nublado"},
        {
            "application": "nublado",
            "kafka": {"bootstrapServers": "kafka:9092"},
            "schemaManager": {"registryUrl": "http://registry:8081/"},
        },
        {"enabled": "yes", "kafka": {"bootstrapServers": "kafka:9092"}},
    ],
)
def test_kafka_metrics_are_refused_with_a_pointer_to_the_metrics_route(
    minimal: dict[str, Any], section: dict[str, Any]
) -> None:
    minimal["metrics"] = section
    with pytest.raises(ValidationError) as caught:
        ControllerConfig.model_validate(minimal)
    assert _error_locations(caught.value) == [("metrics", "<kafka>")]
    assert KAFKA_REFUSAL in str(caught.value)
    assert "GET /metrics" in KAFKA_REFUSAL


def test_unknown_metrics_keys_are_still_errors(minimal: dict[str, Any]) -> None:
    minimal["metrics"] = {"enabled": False, "brokers": "kafka:9092"}
    with pytest.raises(ValidationError) as caught:
        ControllerConfig.model_validate(minimal)
    assert {loc[-1] for loc in _error_locations(caught.value)} == {"brokers"}


def test_size_requires_all_four_resources(minimal: dict[str, Any]) -> None:
    del minimal["lab"]["sizes"][0]["resources"]["requests"]["memory"]
    with pytest.raises(ValidationError) as caught:
        ControllerConfig.model_validate(minimal)
    assert _error_locations(caught.value) == [
        ("lab", "sizes", 0, "resources", "requests", "memory")
    ]


def test_size_names_are_the_enum_without_custom(minimal: dict[str, Any]) -> None:
    minimal["lab"]["sizes"][0]["size"] = "custom"
    with pytest.raises(ValidationError, match="custom is reserved"):
        ControllerConfig.model_validate(minimal)
    minimal["lab"]["sizes"][0]["size"] = "enormous"
    with pytest.raises(ValidationError):
        ControllerConfig.model_validate(minimal)
    minimal["lab"]["sizes"][0]["size"] = "colossal"
    assert ControllerConfig.model_validate(minimal).lab.sizes[0].size is LabSize.COLOSSAL


def test_sizes_are_required_and_non_empty(minimal: dict[str, Any]) -> None:
    minimal["lab"]["sizes"] = []
    with pytest.raises(ValidationError):
        ControllerConfig.model_validate(minimal)
    del minimal["lab"]["sizes"]
    with pytest.raises(ValidationError) as caught:
        ControllerConfig.model_validate(minimal)
    assert _error_locations(caught.value) == [("lab", "sizes")]


def test_namespace_prefix_is_required(minimal: dict[str, Any]) -> None:
    del minimal["lab"]["namespacePrefix"]
    with pytest.raises(ValidationError) as caught:
        ControllerConfig.model_validate(minimal)
    assert _error_locations(caught.value) == [("lab", "namespacePrefix")]


@pytest.mark.parametrize("section", ["lab", "images", "fsadmin"])
def test_required_sections(minimal: dict[str, Any], section: str) -> None:
    del minimal[section]
    with pytest.raises(ValidationError) as caught:
        ControllerConfig.model_validate(minimal)
    assert _error_locations(caught.value) == [(section,)]


def test_homedir_prefix_and_suffix_are_normalised(minimal: dict[str, Any]) -> None:
    minimal["lab"]["homedirPrefix"] = "/u/home/"
    minimal["lab"]["homedirSuffix"] = "/rsphome/"
    lab = ControllerConfig.model_validate(minimal).lab
    assert (lab.homedir_prefix, lab.homedir_suffix) == ("/u/home", "rsphome")


def test_volume_sources(minimal: dict[str, Any]) -> None:
    minimal["lab"]["volumes"] += [
        {"name": "data", "source": {"type": "hostPath", "path": "/data"}},
        {
            "name": "scratch",
            "source": {
                "type": "persistentVolumeClaim",
                "accessModes": ["ReadWriteMany"],
                "storageClassName": "rwx",
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
    ]
    volumes = ControllerConfig.model_validate(minimal).lab.volumes
    assert [v.source.type for v in volumes] == ["nfs", "hostPath", "persistentVolumeClaim"]


@pytest.mark.parametrize("mode", ["ReadWriteOnce", "ReadWriteOncePod"])
def test_single_node_claims_are_rejected(minimal: dict[str, Any], mode: str) -> None:
    minimal["lab"]["volumes"].append(
        {
            "name": "scratch",
            "source": {
                "type": "persistentVolumeClaim",
                "accessModes": [mode],
                "storageClassName": "rwo",
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }
    )
    with pytest.raises(ValidationError):
        ControllerConfig.model_validate(minimal)


def test_empty_dir_volume_source_is_not_accepted(minimal: dict[str, Any]) -> None:
    minimal["lab"]["volumes"].append({"name": "tmp2", "source": {"type": "emptyDir"}})
    with pytest.raises(ValidationError, match="type must be one of nfs, hostPath"):
        ControllerConfig.model_validate(minimal)


def test_init_container_image_defaults_and_numeric_tag(minimal: dict[str, Any]) -> None:
    minimal["lab"]["initContainers"] = [
        {"name": "setup", "image": {"repository": "example/setup", "tag": 1.4}}
    ]
    container = ControllerConfig.model_validate(minimal).lab.init_containers[0]
    assert container.image.reference == "example/setup:1.4"
    assert container.image.pull_policy is PullPolicy.IF_NOT_PRESENT
    assert container.privileged is False
    assert container.command is None


@pytest.mark.parametrize(
    ("toleration", "valid"),
    [
        ({"key": "dedicated", "value": "labs", "effect": "NoSchedule"}, True),
        ({"key": "dedicated", "operator": "Exists"}, True),
        ({"operator": "Exists"}, True),
        ({"key": "", "operator": "Exists"}, True),
        ({"key": "dedicated"}, False),
        ({"value": "labs"}, False),
        ({"key": "dedicated", "operator": "Exists", "value": "labs"}, False),
        ({"key": "k", "value": "v", "effect": "Sometimes"}, False),
    ],
)
def test_toleration_rules(minimal: dict[str, Any], toleration: object, valid: bool) -> None:
    minimal["lab"]["tolerations"] = [toleration]
    if valid:
        config = ControllerConfig.model_validate(minimal)
        assert config.lab.tolerations[0].operator in set(TolerationOperator)
    else:
        with pytest.raises(ValidationError):
            ControllerConfig.model_validate(minimal)


def test_affinity_long_and_short_keys(minimal: dict[str, Any]) -> None:
    term = {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
    minimal["lab"]["affinity"] = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]},
            "preferred": [{"weight": 5, "preference": term}],
        },
        "podAntiAffinity": {"required": [{"topologyKey": "kubernetes.io/hostname"}]},
    }
    affinity = ControllerConfig.model_validate(minimal).lab.affinity
    assert affinity is not None
    assert affinity.node_affinity is not None
    assert (
        affinity.node_affinity.preferred_during_scheduling_ignored_during_execution[0].weight == 5
    )
    dumped = affinity.model_dump(mode="json", exclude_none=True)
    assert "requiredDuringSchedulingIgnoredDuringExecution" in dumped["podAntiAffinity"]


@pytest.mark.parametrize(
    "requirement",
    [
        {"key": "zone", "operator": "In"},
        {"key": "zone", "operator": "Exists", "values": ["a"]},
        {"key": "cores", "operator": "Gt", "values": ["1", "2"]},
        {"key": "cores", "operator": "Lt", "values": ["few"]},
        {"key": "zone", "operator": "Near", "values": ["a"]},
    ],
)
def test_node_selector_requirement_rules(minimal: dict[str, Any], requirement: object) -> None:
    minimal["lab"]["affinity"] = {
        "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [requirement]}]}}
    }
    with pytest.raises(ValidationError):
        ControllerConfig.model_validate(minimal)


def test_label_selector_has_no_numeric_operators(minimal: dict[str, Any]) -> None:
    selector = {"matchExpressions": [{"key": "n", "operator": "Gt", "values": ["1"]}]}
    minimal["lab"]["affinity"] = {
        "podAffinity": {"required": [{"topologyKey": "zone", "labelSelector": selector}]}
    }
    with pytest.raises(ValidationError):
        ControllerConfig.model_validate(minimal)


@pytest.mark.parametrize("weight", [0, 101])
def test_pod_affinity_weight_range(minimal: dict[str, Any], weight: int) -> None:
    minimal["lab"]["affinity"] = {
        "podAffinity": {"preferred": [{"weight": weight, "podAffinityTerm": {"topologyKey": "z"}}]}
    }
    with pytest.raises(ValidationError):
        ControllerConfig.model_validate(minimal)


def test_config_is_immutable(minimal: dict[str, Any]) -> None:
    config = ControllerConfig.model_validate(minimal)
    with pytest.raises(ValidationError):
        config.name = "Other"  # type: ignore[misc]
    assert config.model_copy(update={"name": "Other"}).name == "Other"
