"""The ``lab`` section: everything that shapes a user's JupyterLab pod and namespace.

Rules that involve several keys of this section (mounts name defined volumes, the default
size exists, secret keys are unique, ...) are checked here; rules that reach into other
sections (file server and fsadmin mounts) are checked by ``ControllerConfig``.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AfterValidator, Field, model_validator

from .base import ConfigModel, Issue, raise_issues
from .kubernetes import Affinity, ContainerImage, Resources, Toleration
from .units import K8sName, PositiveDuration
from .volumes import FORBIDDEN_PATHS, Volume, VolumeMount

__all__ = [
    "RESERVED_ENV_NAMES",
    "RESERVED_ENV_PREFIX",
    "EmptyDirSource",
    "HomedirSchema",
    "InitContainer",
    "LabConfig",
    "LabSecret",
    "LabSize",
    "NSSConfig",
    "SizeConfig",
]

RESERVED_ENV_NAMES = frozenset(
    {
        "ACCESS_TOKEN",
        "CONTAINER_SIZE",
        "CPU_GUARANTEE",
        "CPU_LIMIT",
        "DEBUG",
        "EXTERNAL_INSTANCE_URL",
        "IMAGE_DESCRIPTION",
        "IMAGE_DIGEST",
        "JPY_API_TOKEN",
        "JUPYTER_IMAGE",
        "JUPYTER_IMAGE_SPEC",
        "KUBERNETES_NODE_NAME",
        "MEM_GUARANTEE",
        "MEM_LIMIT",
        "MIGRATOR_POD_REGEX",
        "RESET_USER_ENV",
    }
)
"""Environment names the controller sets itself; ``lab.env`` may not override them."""

RESERVED_ENV_PREFIX = "JUPYTERHUB_"
"""Every name with this prefix belongs to JupyterHub and is reserved as well."""


class LabSize(StrEnum):
    """Names of lab sizes, smallest to largest.

    ``custom`` describes a running lab whose resources match no configured size (found by
    reconciliation); it is refused in the configuration itself.
    """

    FINE = "fine"
    DIMINUTIVE = "diminutive"
    TINY = "tiny"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"
    HUGE = "huge"
    GARGANTUAN = "gargantuan"
    COLOSSAL = "colossal"
    CUSTOM = "custom"


def _not_custom(size: LabSize) -> LabSize:
    if size is LabSize.CUSTOM:
        raise ValueError("custom is reserved for labs that match no configured size")
    return size


class SizeConfig(ConfigModel):
    """One lab size offered on the spawn form, with its container resources."""

    size: Annotated[LabSize, AfterValidator(_not_custom)]
    resources: Resources


class LabSecret(ConfigModel):
    """A value copied from a controller-namespace secret into every lab."""

    secret_name: str = Field(min_length=1)
    secret_key: str = Field(min_length=1)
    env: str | None = None
    path: str | None = None


class NSSConfig(ConfigModel):
    """The start of the lab's ``/etc/passwd`` and ``/etc/group``; user lines are appended."""

    base_passwd: str = "root:x:0:0:root:/root:/bin/bash\n"
    base_group: str = "root:x:0\n"


class InitContainer(ConfigModel):
    """An extra init container run before the lab, in list order.

    It sees only its own mounts; ``privileged`` runs it as root with privilege escalation,
    otherwise it runs as the user with every capability dropped.
    """

    name: K8sName
    image: ContainerImage
    command: list[str] | None = None
    privileged: bool = False
    volume_mounts: list[VolumeMount] = Field(default_factory=list)


class EmptyDirSource(StrEnum):
    """Backing of the lab's ``/tmp``: tmpfs (counted as pod memory) or node disk."""

    MEMORY = "memory"
    DISK = "disk"


class HomedirSchema(StrEnum):
    """Layout of home directories under ``homedirPrefix``."""

    USERNAME = "username"
    INITIAL_THEN_USERNAME = "initialThenUsername"


def _clean_homedir_prefix(prefix: str) -> str:
    prefix = prefix.rstrip("/")
    if not prefix.startswith("/") or len(prefix) < 2:
        raise ValueError("must be an absolute path other than / (for example /home)")
    return prefix


def _clean_homedir_suffix(suffix: str) -> str:
    return suffix.strip("/")


class LabConfig(ConfigModel):
    """Configuration of user labs (section ``lab``)."""

    activity_interval: PositiveDuration = timedelta(hours=1)
    affinity: Affinity | None = None
    application: str | None = None
    default_size: LabSize | None = None
    delete_timeout: PositiveDuration = timedelta(minutes=1)
    empty_dir_source: EmptyDirSource = EmptyDirSource.MEMORY
    env: dict[str, str] = Field(default_factory=dict)
    extra_annotations: dict[str, str] = Field(default_factory=dict)
    files: dict[str, str] = Field(default_factory=dict)
    homedir_prefix: Annotated[str, AfterValidator(_clean_homedir_prefix)] = "/home"
    homedir_schema: HomedirSchema = HomedirSchema.USERNAME
    homedir_suffix: Annotated[str, AfterValidator(_clean_homedir_suffix)] = ""
    home_volume_name: str = "home"
    init_containers: list[InitContainer] = Field(default_factory=list)
    jupyterlab_config_dir: str = "/opt/lsst/software/jupyterlab"
    lab_start_command: list[str] = Field(
        default_factory=lambda: ["/opt/lsst/software/jupyterlab/runlab.sh"], min_length=1
    )
    namespace_annotations: dict[str, str] = Field(default_factory=dict)
    namespace_prefix: K8sName
    node_selector: dict[str, str] = Field(default_factory=dict)
    nss: NSSConfig = Field(default_factory=NSSConfig)
    pull_secret: str | None = None
    reconcile_interval: PositiveDuration = timedelta(minutes=5)
    runtime_mounts_dir: str = "/etc/nublado"
    secrets: list[LabSecret] = Field(default_factory=list)
    sizes: list[SizeConfig] = Field(min_length=1)
    spawn_timeout: PositiveDuration = timedelta(minutes=10)
    standard_inithome: bool = False
    tolerations: list[Toleration] = Field(default_factory=list)
    volumes: list[Volume] = Field(default_factory=list)
    volume_mounts: list[VolumeMount] = Field(default_factory=list)

    @property
    def volume_names(self) -> frozenset[str]:
        """Names of all lab volumes (what every mount in the configuration may refer to)."""
        return frozenset(volume.name for volume in self.volumes)

    def size(self, name: LabSize | str) -> SizeConfig | None:
        """The configured size with this name, if any."""
        return next((s for s in self.sizes if s.size == name), None)

    @model_validator(mode="after")
    def _check_cross_fields(self) -> Self:
        issues = [
            *self._volume_issues(),
            *self._size_issues(),
            *self._secret_issues(),
            *self._env_and_file_issues(),
            *self._init_container_issues(),
        ]
        raise_issues(issues)
        return self

    def _volume_issues(self) -> list[Issue]:
        issues: list[Issue] = []
        seen: set[str] = set()
        for index, volume in enumerate(self.volumes):
            if volume.name in seen:
                issues.append((("volumes", index, "name"), f"duplicate volume {volume.name}"))
            seen.add(volume.name)
        if self.home_volume_name not in seen:
            issues.append((("homeVolumeName",), self._unknown_volume(self.home_volume_name)))
        for index, mount in enumerate(self.volume_mounts):
            if mount.volume_name not in seen:
                where: tuple[str | int, ...] = ("volumeMounts", index, "volumeName")
                issues.append((where, self._unknown_volume(mount.volume_name)))
        for c_index, container in enumerate(self.init_containers):
            for m_index, mount in enumerate(container.volume_mounts):
                if mount.volume_name not in seen:
                    path = ("initContainers", c_index, "volumeMounts", m_index, "volumeName")
                    issues.append((path, self._unknown_volume(mount.volume_name)))
        return issues

    @staticmethod
    def _unknown_volume(name: str) -> str:
        return f"no volume named {name} in lab.volumes"

    def _size_issues(self) -> list[Issue]:
        issues: list[Issue] = []
        seen: set[LabSize] = set()
        for index, size in enumerate(self.sizes):
            if size.size in seen:
                issues.append((("sizes", index, "size"), f"duplicate size {size.size.value}"))
            seen.add(size.size)
        if self.default_size is not None and self.default_size not in seen:
            message = f"{self.default_size.value} is not one of the configured sizes"
            issues.append((("defaultSize",), message))
        return issues

    def _secret_issues(self) -> list[Issue]:
        issues: list[Issue] = []
        seen: set[str] = set()
        for index, secret in enumerate(self.secrets):
            path = ("secrets", index, "secretKey")
            if secret.secret_key == "token":
                issues.append((path, "token is reserved for the user's own token"))
            elif secret.secret_key in seen:
                issues.append((path, f"duplicate secret key {secret.secret_key}"))
            seen.add(secret.secret_key)
        return issues

    def _init_container_issues(self) -> list[Issue]:
        issues: list[Issue] = []
        seen: set[str] = set()
        for index, container in enumerate(self.init_containers):
            if container.name in seen:
                path = ("initContainers", index, "name")
                issues.append((path, f"duplicate init container {container.name}"))
            seen.add(container.name)
        return issues

    def _env_and_file_issues(self) -> list[Issue]:
        issues: list[Issue] = []
        for name in self.env:
            if name in RESERVED_ENV_NAMES or name.startswith(RESERVED_ENV_PREFIX):
                issues.append((("env", name), "reserved: the controller sets this variable"))
        for path in self.files:
            if not path.startswith("/"):
                issues.append((("files", path), "file path must be absolute"))
            elif path.rstrip("/") in FORBIDDEN_PATHS:
                message = f"{path} is managed by the controller and cannot be used here"
                issues.append((("files", path), message))
        return issues
