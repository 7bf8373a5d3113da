"""Every cross-field rule of spec §12 plus the quirk resolutions C3 and C8.

Each test breaks exactly one rule and checks, through ``build_config``, that the error names
the offending key by its full dotted path.
"""

from __future__ import annotations

from typing import Any

import pytest

from actors.config import ConfigError, ControllerConfig, build_config


def _problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        build_config(data)
    return list(caught.value.problems)


def _mount(volume: str, path: str = "/data") -> dict[str, str]:
    return {"containerPath": path, "volumeName": volume}


def test_lab_mounts_must_name_lab_volumes(minimal: dict[str, Any]) -> None:
    minimal["lab"]["volumeMounts"].append(_mount("missing"))
    assert _problems(minimal) == [
        "lab.volumeMounts[1].volumeName: no volume named missing in lab.volumes"
    ]


def test_init_container_mounts_must_name_lab_volumes(minimal: dict[str, Any]) -> None:
    minimal["lab"]["initContainers"] = [
        {"name": "setup", "image": {"repository": "r", "tag": "t"}, "volumeMounts": [_mount("x")]}
    ]
    assert _problems(minimal) == [
        "lab.initContainers[0].volumeMounts[0].volumeName: no volume named x in lab.volumes"
    ]


def test_home_volume_must_exist(minimal: dict[str, Any]) -> None:
    minimal["lab"]["homeVolumeName"] = "homes"
    assert _problems(minimal) == ["lab.homeVolumeName: no volume named homes in lab.volumes"]


def test_at_least_one_volume_is_needed_for_home(minimal: dict[str, Any]) -> None:
    minimal["lab"]["volumes"] = []
    minimal["lab"]["volumeMounts"] = []
    assert _problems(minimal) == ["lab.homeVolumeName: no volume named home in lab.volumes"]


def test_enabled_fileserver_mounts_must_name_lab_volumes(minimal: dict[str, Any]) -> None:
    minimal["fileserver"] = {
        "enabled": True,
        "namespace": "fileservers",
        "volumeMounts": [_mount("home", "/home"), _mount("project", "/project")],
    }
    assert _problems(minimal) == [
        "fileserver.volumeMounts[1].volumeName: no volume named project in lab.volumes"
    ]


def test_disabled_fileserver_mounts_are_not_checked(minimal: dict[str, Any]) -> None:
    minimal["fileserver"] = {"enabled": False, "volumeMounts": [_mount("project")]}
    build_config(minimal)


def test_default_size_must_be_configured(minimal: dict[str, Any]) -> None:
    minimal["lab"]["defaultSize"] = "large"
    assert _problems(minimal) == ["lab.defaultSize: large is not one of the configured sizes"]
    minimal["lab"]["defaultSize"] = "small"
    assert ControllerConfig.model_validate(minimal).lab.default_size == "small"


def test_size_names_must_be_unique(minimal: dict[str, Any]) -> None:
    minimal["lab"]["sizes"].append(minimal["lab"]["sizes"][0])
    assert _problems(minimal) == ["lab.sizes[1].size: duplicate size small"]


def test_secret_keys_must_be_unique_and_not_token(minimal: dict[str, Any]) -> None:
    minimal["lab"]["secrets"] = [
        {"secretName": "s", "secretKey": "butler"},
        {"secretName": "t", "secretKey": "butler"},
        {"secretName": "s", "secretKey": "token"},
    ]
    assert _problems(minimal) == [
        "lab.secrets[1].secretKey: duplicate secret key butler",
        "lab.secrets[2].secretKey: token is reserved for the user's own token",
    ]


@pytest.mark.parametrize("name", ["ACCESS_TOKEN", "MEM_LIMIT", "JUPYTERHUB_API_URL", "DEBUG"])
def test_reserved_environment_names(minimal: dict[str, Any], name: str) -> None:
    minimal["lab"]["env"] = {"HUB_ROUTE": "/nb/hub", name: "x"}
    assert _problems(minimal) == [f"lab.env.{name}: reserved: the controller sets this variable"]


@pytest.mark.parametrize("path", ["/etc/passwd", "/etc/group", "/tmp"])
def test_controller_owned_paths_cannot_be_files(minimal: dict[str, Any], path: str) -> None:
    minimal["lab"]["files"] = {path: "contents"}
    assert _problems(minimal) == [
        f'lab.files["{path}"]: {path} is managed by the controller and cannot be used here'
    ]


def test_lab_files_must_be_absolute(minimal: dict[str, Any]) -> None:
    minimal["lab"]["files"] = {"etc/motd": "hello"}
    assert _problems(minimal) == ['lab.files["etc/motd"]: file path must be absolute']


@pytest.mark.parametrize("path", ["/etc/passwd", "/etc/group", "/tmp", "/tmp/"])
def test_controller_owned_paths_cannot_be_mounted(minimal: dict[str, Any], path: str) -> None:
    minimal["lab"]["volumeMounts"].append(_mount("home", path))
    problems = _problems(minimal)
    assert len(problems) == 1
    assert problems[0].startswith("lab.volumeMounts[1].containerPath: ")


@pytest.mark.parametrize("section", ["sizes", "fileserver", "fsadmin"])
def test_requests_must_not_exceed_limits(minimal: dict[str, Any], section: str) -> None:
    resources = {
        "limits": {"cpu": "500m", "memory": "1Gi"},
        "requests": {"cpu": 1, "memory": "2Gi"},
    }
    expected_prefix = {
        "sizes": "lab.sizes[0].resources",
        "fileserver": "fileserver.resources",
        "fsadmin": "fsadmin.resources",
    }[section]
    if section == "sizes":
        minimal["lab"]["sizes"][0]["resources"] = resources
    elif section == "fileserver":
        minimal["fileserver"] = {"enabled": True, "namespace": "fs", "resources": resources}
    else:
        minimal["fsadmin"] = {"resources": resources}
    assert _problems(minimal) == [
        f"{expected_prefix}.requests.cpu: must not exceed limits.cpu",
        f"{expected_prefix}.requests.memory: must not exceed limits.memory",
    ]


@pytest.mark.parametrize("prefix", ["/", "home", "//", ""])
def test_homedir_prefix_must_be_a_real_absolute_path(minimal: dict[str, Any], prefix: str) -> None:
    minimal["lab"]["homedirPrefix"] = prefix
    assert _problems(minimal) == [
        "lab.homedirPrefix: must be an absolute path other than / (for example /home)"
    ]


def test_duplicate_volume_names_are_rejected(minimal: dict[str, Any]) -> None:
    minimal["lab"]["volumes"].append(minimal["lab"]["volumes"][0])
    assert _problems(minimal) == ["lab.volumes[1].name: duplicate volume home"]


def test_duplicate_init_container_names_are_rejected(minimal: dict[str, Any]) -> None:
    container = {"name": "setup", "image": {"repository": "r", "tag": "t"}}
    minimal["lab"]["initContainers"] = [container, container]
    assert _problems(minimal) == ["lab.initContainers[1].name: duplicate init container setup"]


def test_fsadmin_extra_mounts_may_use_lab_or_extra_volumes(minimal: dict[str, Any]) -> None:
    minimal["fsadmin"] = {
        "extraVolumes": [{"name": "archive", "source": {"type": "hostPath", "path": "/a"}}],
        "extraVolumeMounts": [_mount("archive", "/archive"), _mount("home", "/h2")],
    }
    build_config(minimal)
    minimal["fsadmin"]["extraVolumeMounts"].append(_mount("elsewhere", "/e"))
    assert _problems(minimal) == [
        "fsadmin.extraVolumeMounts[2].volumeName:"
        " no volume named elsewhere in lab.volumes or extraVolumes"
    ]


def test_fsadmin_extra_volumes_may_not_shadow_lab_volumes(minimal: dict[str, Any]) -> None:
    minimal["fsadmin"] = {
        "extraVolumes": [{"name": "home", "source": {"type": "hostPath", "path": "/a"}}]
    }
    assert _problems(minimal) == [
        "fsadmin.extraVolumes[0].name: home is already a lab volume (fsadmin mounts both sets)"
    ]


def test_several_broken_rules_are_all_reported(minimal: dict[str, Any]) -> None:
    minimal["lab"]["defaultSize"] = "huge"
    minimal["lab"]["homeVolumeName"] = "nothing"
    minimal["lab"]["env"] = {"CPU_LIMIT": "9"}
    problems = _problems(minimal)
    assert [problem.split(":")[0] for problem in problems] == [
        "lab.homeVolumeName",
        "lab.defaultSize",
        "lab.env.CPU_LIMIT",
    ]
