"""Volumes that labs, file servers and fsadmin may mount, and the mounts themselves.

A volume only makes data available; a ``VolumeMount`` decides where a container sees it.
Cross-section rules (every mount names a defined volume) live in the sections that own the
mounts and in ``ControllerConfig``, because only they know which volumes exist.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Discriminator, Field, Tag

from .base import ConfigModel, discriminate, tag_name
from .units import AbsPath, K8sName

__all__ = [
    "FORBIDDEN_PATHS",
    "HostPathVolumeSource",
    "NFSVolumeSource",
    "PVCAccessMode",
    "PVCResources",
    "PVCVolumeSource",
    "Volume",
    "VolumeMount",
    "VolumeSource",
]

FORBIDDEN_PATHS = frozenset({"/etc/passwd", "/etc/group", "/tmp"})
"""Paths the controller itself provides inside a lab; nothing may be mounted over them."""


def _not_forbidden(path: str) -> str:
    if path.rstrip("/") in FORBIDDEN_PATHS:
        raise ValueError(f"{path} is managed by the controller and cannot be used here")
    return path


class NFSVolumeSource(ConfigModel):
    """An NFS export; ``readOnly`` forces every mount of it read-only at the NFS client."""

    type: Literal["nfs"] = "nfs"
    server: str = Field(min_length=1)
    server_path: AbsPath
    read_only: bool = False


class HostPathVolumeSource(ConfigModel):
    """A directory already present on every node."""

    type: Literal["hostPath"] = "hostPath"
    path: AbsPath


class PVCAccessMode(StrEnum):
    """Access modes a shared per-user claim may use.

    ``ReadWriteOnce`` and ``ReadWriteOncePod`` are not offered because one claim definition is
    instantiated for labs, file servers and fsadmin, which may run on different nodes.
    """

    READ_ONLY_MANY = "ReadOnlyMany"
    READ_WRITE_MANY = "ReadWriteMany"


class PVCResources(ConfigModel):
    """Resource requests of a claim, as Kubernetes quantities (``{storage: 1Gi}``)."""

    requests: dict[str, str]


class PVCVolumeSource(ConfigModel):
    """A persistent volume claim created per user (or per fsadmin pod) from this template."""

    type: Literal["persistentVolumeClaim"] = "persistentVolumeClaim"
    access_modes: list[PVCAccessMode] = Field(min_length=1)
    storage_class_name: str = Field(min_length=1)
    resources: PVCResources
    read_only: bool = False


_SOURCE_TAGS = {"nfs", "hostPath", "persistentVolumeClaim"}


def _source_tag(value: Any) -> str | None:
    return tag_name(value) if value in _SOURCE_TAGS else None


VolumeSource = Annotated[
    Annotated[NFSVolumeSource, Tag(tag_name("nfs"))]
    | Annotated[HostPathVolumeSource, Tag(tag_name("hostPath"))]
    | Annotated[PVCVolumeSource, Tag(tag_name("persistentVolumeClaim"))],
    Discriminator(
        discriminate("type", _source_tag),
        custom_error_type="invalid_volume_source",
        custom_error_message="type must be one of nfs, hostPath, persistentVolumeClaim",
    ),
]
"""Where a volume's data comes from, selected by ``type``."""


class Volume(ConfigModel):
    """A named volume; names must be unique within the list that defines them."""

    name: K8sName
    source: VolumeSource


class VolumeMount(ConfigModel):
    """Mount of a volume (or one sub-directory of it) into a container."""

    container_path: Annotated[AbsPath, AfterValidator(_not_forbidden)]
    volume_name: str
    sub_path: str | None = None
    read_only: bool = False
