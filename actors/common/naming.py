"""Names of a user's lab objects, the lab's internal URL and the home directory path.

Everything here is a pure function of the configuration and the username, so that the
builder, the lab actor (deletion) and reconciliation (which only knows namespace names)
always agree on what a lab's objects are called.
"""

from __future__ import annotations

from actors.config import ControllerConfig, HomedirSchema, LabConfig

__all__ = [
    "DISCOVERY_KEY",
    "LAB_PORT",
    "NOTEBOOK_CONTAINER",
    "PULL_SECRET_NAME",
    "SERVICE_NAME",
    "env_config_map_name",
    "files_config_map_name",
    "home_directory",
    "internal_url",
    "lab_namespace",
    "lab_object_name",
    "lab_pvc_name",
    "lab_username",
    "nss_config_map_name",
]

LAB_PORT = 8888
"""Port JupyterLab listens on; the Service and the NetworkPolicy expose only this one."""

SERVICE_NAME = "lab"
"""Name of the lab Service in every lab namespace (it is the host of the internal URL)."""

PULL_SECRET_NAME = "pull-secret"
"""Fixed name of the copied image pull secret, whatever the source secret is called."""

NOTEBOOK_CONTAINER = "notebook"
"""Name of the lab's one regular container."""

DISCOVERY_KEY = "discovery-v1-json"
"""Files ConfigMap key (and pod volume name) of the service-discovery document."""


def _lab_config(config: ControllerConfig | LabConfig) -> LabConfig:
    return config.lab if isinstance(config, ControllerConfig) else config


def lab_namespace(config: ControllerConfig | LabConfig, username: str) -> str:
    """``<namespacePrefix>-<username>``: the namespace holding everything of the lab."""
    return f"{_lab_config(config).namespace_prefix}-{username}"


def lab_username(config: ControllerConfig | LabConfig, namespace: str) -> str | None:
    """The username of a lab namespace, or ``None`` if the name lacks the lab prefix."""
    prefix = f"{_lab_config(config).namespace_prefix}-"
    if not namespace.startswith(prefix) or len(namespace) == len(prefix):
        return None
    return namespace[len(prefix) :]


def lab_object_name(username: str) -> str:
    """``<user>-nb``: the pod, user Secret, ResourceQuota and NetworkPolicy name."""
    return f"{username}-nb"


def env_config_map_name(username: str) -> str:
    return f"{lab_object_name(username)}-env"


def nss_config_map_name(username: str) -> str:
    return f"{lab_object_name(username)}-nss"


def files_config_map_name(username: str) -> str:
    return f"{lab_object_name(username)}-files"


def lab_pvc_name(username: str, volume_name: str) -> str:
    """``<user>-nb-pvc-<volume>``: the claim created for a PVC-backed lab volume."""
    return f"{lab_object_name(username)}-pvc-{volume_name}"


def internal_url(config: ControllerConfig | LabConfig, username: str, service_prefix: str) -> str:
    """URL JupyterHub's proxy uses to reach the lab: the Service plus the hub's prefix.

    ``service_prefix`` is ``JUPYTERHUB_SERVICE_PREFIX`` as the hub sent it (it begins and
    normally ends with ``/``), appended verbatim.
    """
    namespace = lab_namespace(config, username)
    return f"http://{SERVICE_NAME}.{namespace}:{LAB_PORT}{service_prefix}"


def home_directory(config: ControllerConfig | LabConfig, username: str) -> str:
    """The user's home directory inside the lab (``/etc/passwd``, ``workingDir``).

    The configuration has already stripped the prefix's trailing and the suffix's leading
    and trailing slashes, so joining with ``/`` never doubles one.
    """
    lab = _lab_config(config)
    if lab.homedir_schema is HomedirSchema.INITIAL_THEN_USERNAME:
        home = f"{lab.homedir_prefix}/{username[0]}/{username}"
    else:
        home = f"{lab.homedir_prefix}/{username}"
    if lab.homedir_suffix:
        home += f"/{lab.homedir_suffix}"
    return home
