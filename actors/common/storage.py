"""Configured volumes as pod volumes, volume mounts and PersistentVolumeClaims.

Shared by every pod family (labs, file servers, fsadmin, migrator): only the *claim stem*
differs (``<user>-nb`` for labs), giving claims named ``<stem>-pvc-<volume>``. The functions
read the frozen configuration and build new objects; they never change a configured mount
(upstream once did, quirk Q2).

Mount rule (spec §8): ``readOnly`` is always explicit, and a volume whose source is read-only
forces every mount of it read-only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from kubernetes.client import (
    V1HostPathVolumeSource,
    V1NFSVolumeSource,
    V1PersistentVolumeClaim,
    V1PersistentVolumeClaimSpec,
    V1PersistentVolumeClaimVolumeSource,
    V1Volume,
    V1VolumeMount,
    V1VolumeResourceRequirements,
)

from actors.config import (
    HostPathVolumeSource,
    NFSVolumeSource,
    PVCVolumeSource,
    Volume,
    VolumeMount,
)

from .labels import Category, standard_metadata

__all__ = [
    "claim_name",
    "config_volume",
    "config_volume_mount",
    "persistent_volume_claim",
    "pvc_volumes_in_use",
]


def claim_name(stem: str, volume_name: str) -> str:
    """``<stem>-pvc-<volume>``."""
    return f"{stem}-pvc-{volume_name}"


def config_volume(volume: Volume, stem: str) -> V1Volume:
    """The pod volume of a configured volume; PVCs refer to the per-stem claim."""
    source = volume.source
    if isinstance(source, NFSVolumeSource):
        return V1Volume(
            name=volume.name,
            nfs=V1NFSVolumeSource(
                server=source.server, path=source.server_path, read_only=source.read_only
            ),
        )
    if isinstance(source, HostPathVolumeSource):
        return V1Volume(name=volume.name, host_path=V1HostPathVolumeSource(path=source.path))
    return V1Volume(
        name=volume.name,
        persistent_volume_claim=V1PersistentVolumeClaimVolumeSource(
            claim_name=claim_name(stem, volume.name), read_only=source.read_only
        ),
    )


def config_volume_mount(
    mount: VolumeMount, volumes: Mapping[str, Volume], *, prefix: str = ""
) -> V1VolumeMount:
    """A configured mount, under ``prefix`` (``/mnt`` for file servers), never loosened.

    The mount is read-only if the mount or the volume's source says so.
    """
    volume = volumes.get(mount.volume_name)
    source_read_only = (
        volume is not None
        and isinstance(volume.source, NFSVolumeSource | PVCVolumeSource)
        and volume.source.read_only
    )
    return V1VolumeMount(
        name=mount.volume_name,
        mount_path=f"{prefix}{mount.container_path}",
        sub_path=mount.sub_path,
        read_only=mount.read_only or source_read_only,
    )


def pvc_volumes_in_use(volumes: Iterable[Volume], mounted: Iterable[str]) -> list[Volume]:
    """PVC-backed volumes (in configuration order) whose name is among ``mounted``."""
    wanted = set(mounted)
    return [
        volume
        for volume in volumes
        if volume.name in wanted and isinstance(volume.source, PVCVolumeSource)
    ]


def persistent_volume_claim(
    volume: Volume,
    *,
    stem: str,
    namespace: str,
    category: Category,
    username: str | None,
    application: str | None,
) -> V1PersistentVolumeClaim:
    """The claim for a PVC-backed volume, its spec copied from the volume source."""
    source = volume.source
    if not isinstance(source, PVCVolumeSource):
        raise TypeError(f"volume {volume.name} is not backed by a persistent volume claim")
    metadata = standard_metadata(
        claim_name(stem, volume.name),
        namespace=namespace,
        category=category,
        username=username,
        application=application,
    )
    spec = V1PersistentVolumeClaimSpec(
        storage_class_name=source.storage_class_name,
        access_modes=[mode.value for mode in source.access_modes],
        resources=V1VolumeResourceRequirements(requests=dict(source.resources.requests)),
    )
    return V1PersistentVolumeClaim(
        api_version="v1", kind="PersistentVolumeClaim", metadata=metadata, spec=spec
    )
