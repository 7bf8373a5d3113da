"""The lab environment: the ``<user>-nb-env`` ConfigMap and its layering (spec §2.4).

Layers, each overwriting the previous one key by key:

1. the environment JupyterHub sent with the spawn request;
2. ``DEBUG=TRUE`` / ``RESET_USER_ENV=TRUE`` when the user asked for them;
3. values the controller computes (image, size, resources, URLs, paths);
4. ``REPERTOIRE_BASE_URL`` when the controller knows it;
5. ``lab.env`` from the configuration (which may not use the reserved names of layers 2
   and 3, so in effect it only adds variables or overrides layer 4 and the paths).

The hub's layer contains ``JUPYTERHUB_API_TOKEN`` and ``JPY_API_TOKEN``, so this ConfigMap is
sensitive even though it is not a Secret (quirk Q10; kept for compatibility with lab images
that read the mounted directory).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from kubernetes.client import V1ConfigMap

from actors.common.labels import Category, standard_metadata
from actors.common.models import SpawnRequest
from actors.common.naming import env_config_map_name
from actors.common.resources import container_size_label, format_cpu, format_memory
from actors.config import ControllerConfig

__all__ = ["REPERTOIRE_VARIABLE", "env_config_map", "lab_environment", "repertoire_url"]

REPERTOIRE_VARIABLE = "REPERTOIRE_BASE_URL"


def lab_environment(
    config: ControllerConfig,
    request: SpawnRequest,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The lab's environment variables, layered as described in the module docstring.

    ``REPERTOIRE_BASE_URL`` comes from ``environ`` when that is given and sets it to a
    non-empty value, otherwise from ``config.repertoire_base_url`` (which the configuration
    loader already fills from the controller's environment).
    """
    lab = config.lab
    env = dict(request.env)
    if request.enable_debug:
        env["DEBUG"] = "TRUE"
    if request.reset_user_env:
        env["RESET_USER_ENV"] = "TRUE"
    resources = request.resources
    env.update(
        {
            "JUPYTER_IMAGE": request.image.reference,
            "JUPYTER_IMAGE_SPEC": request.image.reference,
            "IMAGE_DESCRIPTION": request.image.description,
            "IMAGE_DIGEST": request.image.digest,
            "CONTAINER_SIZE": container_size_label(request.size, resources),
            "CPU_GUARANTEE": format_cpu(resources.requests.cpu),
            "CPU_LIMIT": format_cpu(resources.limits.cpu),
            "MEM_GUARANTEE": format_memory(resources.requests.memory),
            "MEM_LIMIT": format_memory(resources.limits.memory),
            "JUPYTERHUB_ACTIVITY_INTERVAL": str(int(lab.activity_interval.total_seconds())),
            "EXTERNAL_INSTANCE_URL": config.base_url,
            "JUPYTERLAB_CONFIG_DIR": lab.jupyterlab_config_dir,
            "JUPYTERLAB_START_COMMAND": shlex.join(lab.lab_start_command),
            "NUBLADO_RUNTIME_MOUNTS_DIR": lab.runtime_mounts_dir,
        }
    )
    repertoire = repertoire_url(config, environ)
    if repertoire:
        env[REPERTOIRE_VARIABLE] = repertoire
    env.update(lab.env)
    return env


def repertoire_url(config: ControllerConfig, environ: Mapping[str, str] | None) -> str | None:
    """The Repertoire base URL labs are told about and the discovery document comes from."""
    if environ is not None and environ.get(REPERTOIRE_VARIABLE):
        return environ[REPERTOIRE_VARIABLE]
    return config.repertoire_base_url


def env_config_map(
    config: ControllerConfig, *, namespace: str, username: str, data: dict[str, str]
) -> V1ConfigMap:
    """The immutable env ConfigMap holding ``data`` (from ``lab_environment``)."""
    metadata = standard_metadata(
        env_config_map_name(username),
        namespace=namespace,
        category=Category.LAB,
        username=username,
        application=config.lab.application,
    )
    return V1ConfigMap(
        api_version="v1", kind="ConfigMap", metadata=metadata, immutable=True, data=data
    )
