"""The whole controller configuration: ``ControllerConfig``.

Top-level keys, the sections, and the rules that span sections (file server and fsadmin
mounts must name volumes that exist). Values normally supplied by the environment
(``EXTERNAL_INSTANCE_URL``, ``NUBLADO_SLACK_WEBHOOK``, the helper image, the Repertoire
URL) are ordinary fields here; ``actors.config.loading`` fills them from the environment when
the YAML does not set them, so building a config from a dict never reads ``os.environ``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import AliasChoices, BeforeValidator, Field, SecretStr, model_validator

from .alerts import AlertsConfig
from .auth import AuthConfig
from .base import ConfigModel, Issue, raise_issues
from .discovery import DiscoveryConfig
from .fileserver import FileserverConfig, FileserverDisabled, FileserverEnabled, UrlPathPrefix
from .fsadmin import FSAdminConfig
from .images import DropdownMenuConfig, ImagesConfig
from .kubernetes import ContainerImage, PullPolicy
from .lab import LabConfig
from .leader_election import LeaderElectionConfig
from .metrics import MetricsConfig, MetricsDisabled
from .server import ServerConfig
from .units import PositiveDuration

__all__ = [
    "DEFAULT_HELPER_IMAGE",
    "ControllerConfig",
    "LogLevel",
    "LogProfile",
]

DEFAULT_HELPER_IMAGE = ContainerImage(
    repository="ghcr.io/lsst-sqre/nublado", tag="15.1.0", pull_policy=PullPolicy.IF_NOT_PRESENT
)
"""The reference Nublado image, release 15.1.0: it provides ``nublado inithome``,
``landingpage``, ``startup`` and ``migrator`` and ``/usr/local/bin/worblehat``, the programs
the pods this controller builds run (nublado-trio's own image contains none of them)."""

HELPER_IMAGE_KEYS = ("helperImage", "controllerImage")
"""The helper image's key, then the older name it keeps for configurations written for the
reference controller, whose own image is the helper image."""


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_upper)
]
"""Python log level name, accepted in any case and stored upper-case."""

LogProfile = Literal["production", "development"]
"""``production``: one JSON object per line; ``development``: human-readable lines."""


def _base_url(value: object) -> object:
    if isinstance(value, str):
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")
    return value


class ControllerConfig(ConfigModel):
    """Complete, validated controller configuration. Immutable."""

    base_url: Annotated[str, BeforeValidator(_base_url)] = Field(
        "http://127.0.0.1:8080",
        validation_alias=AliasChoices("EXTERNAL_INSTANCE_URL", "baseUrl", "base_url"),
        serialization_alias="baseUrl",
    )
    """Public base URL of the platform (no trailing slash)."""

    slack_webhook: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("NUBLADO_SLACK_WEBHOOK", "slackWebhook", "slack_webhook"),
        serialization_alias="slackWebhook",
    )
    """Slack incoming webhook for failure alerts; a secret that never prints."""

    log_level: LogLevel = "INFO"
    log_profile: LogProfile = "production"
    metadata_path: Path = Path("/etc/podinfo")
    metrics: MetricsConfig = Field(default_factory=MetricsDisabled)
    name: str = Field("Nublado", min_length=1)
    path_prefix: UrlPathPrefix = "/nublado"
    fileserver: FileserverConfig = Field(default_factory=FileserverDisabled)
    fsadmin: FSAdminConfig
    images: ImagesConfig
    dropdown_menu: DropdownMenuConfig = Field(default_factory=DropdownMenuConfig)
    lab: LabConfig
    watch_reconnect_timeout: PositiveDuration = timedelta(minutes=3)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    discovery: DiscoveryConfig = Field(default_factory=DiscoveryConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    leader_election: LeaderElectionConfig = Field(default_factory=LeaderElectionConfig)

    helper_image: ContainerImage = Field(
        DEFAULT_HELPER_IMAGE,
        validation_alias=AliasChoices(
            "helperImage", "helper_image", "controllerImage", "controller_image"
        ),
        serialization_alias="helperImage",
    )
    """Image providing the ``nublado`` helper commands: the standard lab init containers,
    fsadmin and the migrator. Normally from ``NUBLADO_HELPER_*`` (or the reference's
    ``NUBLADO_CONTROLLER_*``); not the image nublado-trio itself runs from."""

    fileserver_image: ContainerImage | None = None
    """Image providing ``/usr/local/bin/worblehat`` for file servers; unset means
    ``helper_image`` (the reference image has both). Use :attr:`worblehat_image`."""

    repertoire_base_url: Annotated[str | None, BeforeValidator(_base_url)] = None
    """Repertoire service-discovery base URL (``REPERTOIRE_BASE_URL``); copied into labs."""

    @model_validator(mode="before")
    @classmethod
    def _one_helper_image_key(cls, data: Any) -> Any:
        if isinstance(data, dict):
            spellings = [
                key
                for key in data
                if key in ("helperImage", "helper_image", "controllerImage", "controller_image")
            ]
            if len(spellings) > 1:
                issue = ((spellings[1],), f"the older name of {spellings[0]}; set only one")
                raise_issues([issue])
        return data

    @property
    def worblehat_image(self) -> ContainerImage:
        """The image file-server pods run."""
        return self.fileserver_image or self.helper_image

    @model_validator(mode="after")
    def _check_cross_sections(self) -> Self:
        lab_volumes = self.lab.volume_names
        issues: list[Issue] = []
        if isinstance(self.fileserver, FileserverEnabled):
            for index, mount in enumerate(self.fileserver.volume_mounts):
                if mount.volume_name not in lab_volumes:
                    path = ("fileserver", "volumeMounts", index, "volumeName")
                    issues.append((path, f"no volume named {mount.volume_name} in lab.volumes"))
        extra_volumes = {volume.name for volume in self.fsadmin.extra_volumes}
        for index, volume in enumerate(self.fsadmin.extra_volumes):
            if volume.name in lab_volumes:
                path = ("fsadmin", "extraVolumes", index, "name")
                message = f"{volume.name} is already a lab volume (fsadmin mounts both sets)"
                issues.append((path, message))
        for index, mount in enumerate(self.fsadmin.extra_volume_mounts):
            if mount.volume_name not in lab_volumes | extra_volumes:
                path = ("fsadmin", "extraVolumeMounts", index, "volumeName")
                message = f"no volume named {mount.volume_name} in lab.volumes or extraVolumes"
                issues.append((path, message))
        raise_issues(issues)
        return self
