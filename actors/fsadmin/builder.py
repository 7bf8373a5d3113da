"""The fsadmin pod and its claims (``kubernetes-objects.md`` §4.1-4.2), built purely.

The pod mounts every lab mount plus ``fsadmin.extraVolumeMounts`` under
``fsadmin.mountPrefix``, every mount read-write. That "read-write" is applied to *new*
``V1VolumeMount`` objects made here; the configured mounts (frozen pydantic models) are only
read, and no Kubernetes model is shared with a lab build, so building fsadmin can never make
a lab mount writable (upstream quirk Q2). A volume whose *source* is read-only (an NFS export
marked ``readOnly``) stays read-only at the volume level: that is the storage's own rule.

Claims are made for every PVC-backed volume the pod mounts, extra volumes included (Q3).
The pieces shared with migrator pods (privileged root container, pod-level settings from the
``fsadmin`` section) are public here so the migrator builder uses the same ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kubernetes.client import (
    V1Container,
    V1EnvVar,
    V1PersistentVolumeClaim,
    V1Pod,
    V1PodSecurityContext,
    V1PodSpec,
    V1SecurityContext,
    V1Volume,
    V1VolumeMount,
)

from actors.common.labels import Category, standard_metadata
from actors.common.resources import configured_resources
from actors.common.scheduling import kubernetes_affinity, kubernetes_tolerations
from actors.common.storage import config_volume, persistent_volume_claim, pvc_volumes_in_use
from actors.config import ControllerConfig, Volume, VolumeMount

__all__ = [
    "FSADMIN_COMMAND",
    "PodObjects",
    "build_fsadmin",
    "claims",
    "privileged_container",
    "privileged_pod",
    "read_write_mounts",
]

FSADMIN_COMMAND = ["tail", "-f", "/dev/null"]
"""The pod idles; administrators ``kubectl exec`` into it."""


@dataclass(frozen=True)
class PodObjects:
    """A pod and the claims it needs (create the claims first)."""

    namespace: str
    pvcs: list[V1PersistentVolumeClaim]
    pod: V1Pod


def read_write_mounts(mounts: Iterable[VolumeMount], *, prefix: str = "") -> list[V1VolumeMount]:
    """New mounts for ``mounts``, each under ``prefix`` and explicitly read-write."""
    return [
        V1VolumeMount(
            name=mount.volume_name,
            mount_path=f"{prefix}{mount.container_path}",
            sub_path=mount.sub_path,
            read_only=False,
        )
        for mount in mounts
    ]


def privileged_container(
    config: ControllerConfig,
    name: str,
    command: list[str],
    mounts: list[V1VolumeMount],
    env: list[V1EnvVar] | None = None,
) -> V1Container:
    """A root, privileged container of the helper image (fsadmin and migrator)."""
    image = config.helper_image
    return V1Container(
        name=name,
        image=image.reference,
        image_pull_policy=image.pull_policy.value,
        command=list(command),
        env=env,
        resources=configured_resources(config.fsadmin.resources),
        security_context=V1SecurityContext(
            privileged=True, run_as_non_root=False, run_as_user=0, run_as_group=0
        ),
        volume_mounts=mounts,
    )


def privileged_pod(
    config: ControllerConfig,
    *,
    name: str,
    namespace: str,
    category: Category,
    container: V1Container,
    volumes: list[V1Volume],
) -> V1Pod:
    """A never-restarting pod with the ``fsadmin`` section's scheduling and annotations."""
    fsadmin = config.fsadmin
    metadata = standard_metadata(
        name,
        namespace=namespace,
        category=category,
        username=None,
        application=None,
        annotations=dict(fsadmin.extra_annotations),
    )
    spec = V1PodSpec(
        restart_policy="Never",
        security_context=V1PodSecurityContext(run_as_non_root=False),
        affinity=kubernetes_affinity(fsadmin.affinity),
        node_selector=dict(fsadmin.node_selector) or None,
        tolerations=kubernetes_tolerations(fsadmin.tolerations),
        containers=[container],
        volumes=volumes,
    )
    return V1Pod(api_version="v1", kind="Pod", metadata=metadata, spec=spec)


def claims(
    volumes: Iterable[Volume],
    mounted: Iterable[str],
    *,
    stem: str,
    namespace: str,
    category: Category,
) -> list[V1PersistentVolumeClaim]:
    """Claims ``<stem>-pvc-<volume>`` for every PVC-backed volume in ``mounted``."""
    return [
        persistent_volume_claim(
            volume,
            stem=stem,
            namespace=namespace,
            category=category,
            username=None,
            application=None,
        )
        for volume in pvc_volumes_in_use(volumes, mounted)
    ]


def build_fsadmin(config: ControllerConfig, namespace: str) -> PodObjects:
    """The fsadmin pod (``fsadmin.podName``) and its claims, in ``namespace``."""
    fsadmin = config.fsadmin
    name = fsadmin.pod_name
    mounts = [*config.lab.volume_mounts, *fsadmin.extra_volume_mounts]
    mounted = {mount.volume_name for mount in mounts}
    all_volumes = [*config.lab.volumes, *fsadmin.extra_volumes]
    volumes = [config_volume(volume, name) for volume in all_volumes if volume.name in mounted]
    container = privileged_container(
        config, name, FSADMIN_COMMAND, read_write_mounts(mounts, prefix=fsadmin.mount_prefix or "")
    )
    pod = privileged_pod(
        config,
        name=name,
        namespace=namespace,
        category=Category.FSADMIN,
        container=container,
        volumes=volumes,
    )
    pvcs = claims(all_volumes, mounted, stem=name, namespace=namespace, category=Category.FSADMIN)
    return PodObjects(namespace=namespace, pvcs=pvcs, pod=pod)
