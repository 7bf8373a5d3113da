"""The lab pod's volumes and the "full mount list" of its containers (§2.12.1-2).

Order matters to nobody at runtime but is part of the specification (and makes the pod spec
stable and diffable): configured volumes first (all of them, mounted or not), then the
controller's own volumes in a fixed order. The full mount list is shared by the ``notebook``
container and the standard landing-page and startup init containers; only the hand-off area
``/etc/nublado/startup`` differs (read-only in the lab, writable in init containers).
"""

from __future__ import annotations

from kubernetes.client import (
    V1ConfigMapVolumeSource,
    V1DownwardAPIVolumeFile,
    V1DownwardAPIVolumeSource,
    V1EmptyDirVolumeSource,
    V1KeyToPath,
    V1ResourceFieldSelector,
    V1SecretVolumeSource,
    V1Volume,
    V1VolumeMount,
)

from actors.common.models import LabResources
from actors.common.naming import (
    DISCOVERY_KEY,
    NOTEBOOK_CONTAINER,
    env_config_map_name,
    files_config_map_name,
    lab_object_name,
    nss_config_map_name,
)
from actors.common.resources import tmp_size_limit
from actors.common.storage import config_volume, config_volume_mount
from actors.config import EmptyDirSource, LabConfig

from .files import DISCOVERY_MOUNT_PATH, LabFile
from .nss import GROUP_KEY, PASSWD_KEY

__all__ = [
    "CONTROLLER_VOLUME_NAMES",
    "ENV_VOLUME",
    "FILE_MODE",
    "GROUP_VOLUME",
    "PASSWD_VOLUME",
    "RUNTIME_VOLUME",
    "SECRETS_VOLUME",
    "STARTUP_MOUNT_PATH",
    "STARTUP_SIZE_LIMIT",
    "STARTUP_VOLUME",
    "TMP_VOLUME",
    "full_mount_list",
    "lab_pod_volumes",
]

PASSWD_VOLUME = "passwd"
GROUP_VOLUME = "group"
SECRETS_VOLUME = "secrets"
ENV_VOLUME = "env"
TMP_VOLUME = "tmp"
RUNTIME_VOLUME = "runtime"
STARTUP_VOLUME = "lab-startup"

CONTROLLER_VOLUME_NAMES = frozenset(
    {
        PASSWD_VOLUME,
        GROUP_VOLUME,
        DISCOVERY_KEY,
        SECRETS_VOLUME,
        ENV_VOLUME,
        TMP_VOLUME,
        RUNTIME_VOLUME,
        STARTUP_VOLUME,
    }
)
"""Pod volume names the controller uses itself; configured files may not take them."""

FILE_MODE = 0o644
"""Mode of files projected from ConfigMaps (420 in JSON)."""

STARTUP_MOUNT_PATH = "/etc/nublado/startup"
"""Hand-off area between the init containers and the lab (fixed path)."""

STARTUP_SIZE_LIMIT = str(640 * 1024)
"""The hand-off area is small and always memory-backed: 640 KiB."""

_RUNTIME_FIELDS = (
    ("limits_cpu", "limits.cpu"),
    ("requests_cpu", "requests.cpu"),
    ("limits_memory", "limits.memory"),
    ("requests_memory", "requests.memory"),
)


def lab_pod_volumes(
    lab: LabConfig, *, username: str, files: list[LabFile], resources: LabResources
) -> list[V1Volume]:
    """Every volume of the lab pod, in specification order."""
    stem = lab_object_name(username)
    nss = nss_config_map_name(username)
    files_map = files_config_map_name(username)
    volumes = [config_volume(volume, stem) for volume in lab.volumes]
    volumes.append(_single_item(PASSWD_VOLUME, nss, PASSWD_KEY, PASSWD_KEY))
    volumes.append(_single_item(GROUP_VOLUME, nss, GROUP_KEY, GROUP_KEY))
    volumes.extend(_single_item(file.key, files_map, file.key, file.basename) for file in files)
    volumes.append(_single_item(DISCOVERY_KEY, files_map, DISCOVERY_KEY, "v1.json"))
    volumes.append(V1Volume(name=SECRETS_VOLUME, secret=V1SecretVolumeSource(secret_name=stem)))
    volumes.append(
        V1Volume(
            name=ENV_VOLUME, config_map=V1ConfigMapVolumeSource(name=env_config_map_name(username))
        )
    )
    medium = "Memory" if lab.empty_dir_source is EmptyDirSource.MEMORY else None
    volumes.append(
        V1Volume(
            name=TMP_VOLUME,
            empty_dir=V1EmptyDirVolumeSource(medium=medium, size_limit=tmp_size_limit(resources)),
        )
    )
    volumes.append(
        V1Volume(
            name=RUNTIME_VOLUME,
            downward_api=V1DownwardAPIVolumeSource(
                items=[
                    V1DownwardAPIVolumeFile(
                        path=path,
                        resource_field_ref=V1ResourceFieldSelector(
                            container_name=NOTEBOOK_CONTAINER, resource=resource
                        ),
                    )
                    for path, resource in _RUNTIME_FIELDS
                ]
            ),
        )
    )
    volumes.append(
        V1Volume(
            name=STARTUP_VOLUME,
            empty_dir=V1EmptyDirVolumeSource(medium="Memory", size_limit=STARTUP_SIZE_LIMIT),
        )
    )
    return volumes


def _single_item(name: str, config_map: str, key: str, path: str) -> V1Volume:
    return V1Volume(
        name=name,
        config_map=V1ConfigMapVolumeSource(
            name=config_map, items=[V1KeyToPath(key=key, path=path, mode=FILE_MODE)]
        ),
    )


def full_mount_list(
    lab: LabConfig, *, files: list[LabFile], startup_read_only: bool
) -> list[V1VolumeMount]:
    """The mounts of the lab (``startup_read_only=True``) or a full-view init container."""
    runtime_dir = lab.runtime_mounts_dir.rstrip("/")
    volumes = {volume.name: volume for volume in lab.volumes}
    mounts = [config_volume_mount(mount, volumes) for mount in lab.volume_mounts]
    mounts.append(_mount(PASSWD_VOLUME, "/etc/passwd", read_only=True, sub_path=PASSWD_KEY))
    mounts.append(_mount(GROUP_VOLUME, "/etc/group", read_only=True, sub_path=GROUP_KEY))
    mounts.extend(
        _mount(file.key, file.path, read_only=True, sub_path=file.basename) for file in files
    )
    mounts.append(_mount(DISCOVERY_KEY, DISCOVERY_MOUNT_PATH, read_only=True, sub_path="v1.json"))
    mounts.append(_mount(SECRETS_VOLUME, f"{runtime_dir}/secrets", read_only=True))
    mounts.append(_mount(ENV_VOLUME, f"{runtime_dir}/environment", read_only=True))
    mounts.append(_mount(TMP_VOLUME, "/tmp", read_only=False))
    mounts.append(_mount(RUNTIME_VOLUME, f"{runtime_dir}/runtime", read_only=True))
    mounts.append(_mount(STARTUP_VOLUME, STARTUP_MOUNT_PATH, read_only=startup_read_only))
    mounts.extend(
        _mount(SECRETS_VOLUME, secret.path, read_only=True, sub_path=secret.secret_key)
        for secret in lab.secrets
        if secret.path is not None
    )
    return mounts


def _mount(name: str, path: str, *, read_only: bool, sub_path: str | None = None) -> V1VolumeMount:
    return V1VolumeMount(name=name, mount_path=path, sub_path=sub_path, read_only=read_only)
