"""The lab environment ConfigMap: layering, reserved names and number formatting (§2.4)."""

from __future__ import annotations

from typing import Any

from actors.common.models import LabResources, ResourceQuantity
from actors.config import LabSize
from actors.labs.builder import build_lab
from actors.labs.builder.environment import lab_environment

from .examples import (
    DISCOVERY,
    build_example,
    make_config,
    pull_secret,
    source_secrets,
    wombat_request,
    worked_example_data,
)

SMALL = LabResources(
    limits=ResourceQuantity(cpu=1, memory=3 * 1024**3),
    requests=ResourceQuantity(cpu=0.25, memory=768 * 1024**2),
)


def env_data(**request_options: Any) -> dict[str, str]:
    data = build_example(request=wombat_request(**request_options)).env_config_map.data
    assert data is not None
    return data


def test_hub_environment_is_kept() -> None:
    data = env_data(env={"JPY_API_TOKEN": "jpy", "JUPYTERHUB_BASE_URL": "/nb/"})
    assert data["JPY_API_TOKEN"] == "jpy"
    assert data["JUPYTERHUB_BASE_URL"] == "/nb/"
    assert data["JUPYTERHUB_SERVICE_PREFIX"] == "/nb/user/wombat/"


def test_computed_values_override_what_the_hub_sent() -> None:
    data = env_data(
        env={"CPU_LIMIT": "99", "JUPYTER_IMAGE": "evil:latest", "EXTERNAL_INSTANCE_URL": "x"}
    )
    assert data["CPU_LIMIT"] == "2.0"
    assert data["JUPYTER_IMAGE"].endswith("@sha256:5678")
    assert data["EXTERNAL_INSTANCE_URL"] == "https://data.example.org"


def test_debug_and_reset_only_when_asked() -> None:
    plain = env_data()
    assert "DEBUG" not in plain
    assert "RESET_USER_ENV" not in plain
    asked = env_data(enable_debug=True, reset_user_env=True)
    assert asked["DEBUG"] == "TRUE"
    assert asked["RESET_USER_ENV"] == "TRUE"


def test_debug_from_the_hub_is_replaced_by_the_users_choice() -> None:
    assert env_data(enable_debug=True, env={"DEBUG": "no"})["DEBUG"] == "TRUE"


def test_configured_env_wins_over_controller_paths_and_repertoire() -> None:
    data = worked_example_data()
    data["lab"]["env"] = {
        "REPERTOIRE_BASE_URL": "https://elsewhere.example/repertoire",
        "JUPYTERLAB_CONFIG_DIR": "/srv/jupyterlab",
        "RSP_SITE_TYPE": "science",
    }
    env = build_example(config=make_config(data)).env_config_map.data
    assert env is not None
    assert env["REPERTOIRE_BASE_URL"] == "https://elsewhere.example/repertoire"
    assert env["JUPYTERLAB_CONFIG_DIR"] == "/srv/jupyterlab"
    assert env["RSP_SITE_TYPE"] == "science"


def test_repertoire_url_absent_when_unknown() -> None:
    data = worked_example_data()
    config = make_config(data).model_copy(update={"repertoire_base_url": None})
    env = lab_environment(config, wombat_request())
    assert "REPERTOIRE_BASE_URL" not in env


def test_repertoire_url_from_the_given_environment_wins() -> None:
    env = lab_environment(
        make_config(), wombat_request(), {"REPERTOIRE_BASE_URL": "https://r.example/"}
    )
    assert env["REPERTOIRE_BASE_URL"] == "https://r.example/"


def test_cpu_is_a_python_float_and_memory_whole_bytes() -> None:
    data = worked_example_data()
    data["lab"]["sizes"] = [
        {
            "size": "small",
            "resources": {
                "limits": {"cpu": 1, "memory": "3Gi"},
                "requests": {"cpu": "250m", "memory": "768Mi"},
            },
        }
    ]
    request = wombat_request(resources=SMALL, size=LabSize.SMALL)
    env = lab_environment(make_config(data), request)
    assert env["CPU_LIMIT"] == "1.0"
    assert env["CPU_GUARANTEE"] == "0.25"
    assert env["MEM_LIMIT"] == "3221225472"
    assert env["MEM_GUARANTEE"] == "805306368"
    assert env["CONTAINER_SIZE"] == "Small (1.0 CPU, 3Gi RAM)"


def test_activity_interval_in_whole_seconds() -> None:
    data = worked_example_data()
    data["lab"]["activityInterval"] = "1h30m"
    env = lab_environment(make_config(data), wombat_request())
    assert env["JUPYTERHUB_ACTIVITY_INTERVAL"] == "5400"


def test_start_command_is_shell_quoted() -> None:
    data = worked_example_data()
    data["lab"]["labStartCommand"] = ["/opt/run lab.sh", "--name", "it's", "plain"]
    env = lab_environment(make_config(data), wombat_request())
    assert env["JUPYTERLAB_START_COMMAND"] == "'/opt/run lab.sh' --name 'it'\"'\"'s' plain"


def test_start_command_is_the_notebook_args_unquoted() -> None:
    data = worked_example_data()
    data["lab"]["labStartCommand"] = ["/opt/run lab.sh", "--x"]
    objects = build_lab(
        make_config(data),
        wombat_request(),
        source_secrets=source_secrets(),
        pull_secret=pull_secret(),
        discovery=DISCOVERY,
    )
    assert objects.pod.spec is not None
    assert objects.pod.spec.containers[0].args == ["/opt/run lab.sh", "--x"]
