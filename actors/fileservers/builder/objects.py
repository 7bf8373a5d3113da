"""The objects of one user's file server (``kubernetes-objects.md`` §3.1-3.4).

``build_fileserver`` is pure: the frozen configuration and the user record in, new
Kubernetes models out (a fresh object graph per call, nothing shared between builds). The
``GafaelfawrIngress`` is a custom resource and travels as a plain dict.

Creation order (§3.5): ``pvcs``, ``gafaelfawr_ingress``, ``service``, then ``job``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from kubernetes.client import (
    V1Capabilities,
    V1Container,
    V1ContainerPort,
    V1EnvVar,
    V1Job,
    V1JobSpec,
    V1ObjectMeta,
    V1PersistentVolumeClaim,
    V1PodSecurityContext,
    V1PodSpec,
    V1PodTemplateSpec,
    V1SecurityContext,
    V1Service,
    V1ServicePort,
    V1ServiceSpec,
)

from actors.common.labels import (
    Category,
    argocd_annotations,
    selector_labels,
    standard_labels,
    standard_metadata,
)
from actors.common.models import UserInfo
from actors.common.resources import configured_resources
from actors.common.scheduling import kubernetes_affinity, kubernetes_tolerations
from actors.common.storage import (
    config_volume,
    config_volume_mount,
    persistent_volume_claim,
    pvc_volumes_in_use,
)
from actors.config import ControllerConfig, FileserverEnabled

from .naming import (
    FILESERVER_CONTAINER,
    FILESERVER_MOUNT_PREFIX,
    FILESERVER_PORT,
    GAFAELFAWR_SERVICE,
    WORBLEHAT_COMMAND,
    fileserver_name,
)

__all__ = [
    "FileserverIdentityError",
    "FileserverObjects",
    "build_fileserver",
    "fileserver_config",
]

GAFAELFAWR_API_VERSION = "gafaelfawr.lsst.io/v1alpha1"


class FileserverIdentityError(ValueError):
    """The user record lacks the UID or GID the file server must run as."""


@dataclass(frozen=True)
class FileserverObjects:
    """Everything to create for one file server, in creation order."""

    namespace: str
    pvcs: list[V1PersistentVolumeClaim]
    gafaelfawr_ingress: dict[str, Any]
    service: V1Service
    job: V1Job


def fileserver_config(config: ControllerConfig) -> FileserverEnabled:
    """The enabled ``fileserver`` section (callers only build when file servers are on)."""
    if not isinstance(config.fileserver, FileserverEnabled):
        raise ValueError("file servers are disabled in the configuration")
    return config.fileserver


def _metadata(fs: FileserverEnabled, name: str, username: str) -> V1ObjectMeta:
    return standard_metadata(
        name,
        namespace=fs.namespace,
        category=Category.FILESERVER,
        username=username,
        application=fs.application,
    )


def _gafaelfawr_ingress(
    config: ControllerConfig, fs: FileserverEnabled, username: str
) -> dict[str, Any]:
    name = fileserver_name(username)
    return {
        "apiVersion": GAFAELFAWR_API_VERSION,
        "kind": "GafaelfawrIngress",
        "metadata": {
            "name": name,
            "namespace": fs.namespace,
            "labels": standard_labels(Category.FILESERVER, username, fs.application),
            "annotations": argocd_annotations(),
        },
        "config": {
            "allowOptions": True,
            "authType": "basic",
            "baseUrl": config.base_url,
            "scopes": {"all": ["write:files"]},
            "service": GAFAELFAWR_SERVICE,
            "username": username,
        },
        "template": {
            "metadata": {
                "name": name,
                "labels": selector_labels(Category.FILESERVER, username),
            },
            "spec": {
                "rules": [
                    {
                        "host": urlsplit(config.base_url).hostname,
                        "http": {
                            "paths": [
                                {
                                    "path": f"{fs.path_prefix}/{username}",
                                    "pathType": "Prefix",
                                    "backend": {
                                        "service": {
                                            "name": name,
                                            "port": {"number": FILESERVER_PORT},
                                        }
                                    },
                                }
                            ]
                        },
                    }
                ]
            },
        },
    }


def _service(fs: FileserverEnabled, username: str) -> V1Service:
    return V1Service(
        api_version="v1",
        kind="Service",
        metadata=_metadata(fs, fileserver_name(username), username),
        spec=V1ServiceSpec(
            ports=[V1ServicePort(port=FILESERVER_PORT, target_port=FILESERVER_PORT)],
            selector=selector_labels(Category.FILESERVER, username),
        ),
    )


def _container(config: ControllerConfig, fs: FileserverEnabled, username: str) -> V1Container:
    volumes = {volume.name: volume for volume in config.lab.volumes}
    image = config.worblehat_image
    return V1Container(
        name=FILESERVER_CONTAINER,
        image=image.reference,
        image_pull_policy=image.pull_policy.value,
        command=[WORBLEHAT_COMMAND],
        env=[
            V1EnvVar(name="WORBLEHAT_BASE_HREF", value=f"{fs.path_prefix}/{username}"),
            V1EnvVar(name="WORBLEHAT_TIMEOUT", value=str(int(fs.idle_timeout.total_seconds()))),
            V1EnvVar(name="WORBLEHAT_DIR", value=FILESERVER_MOUNT_PREFIX),
        ],
        ports=[V1ContainerPort(container_port=FILESERVER_PORT, name="http")],
        resources=configured_resources(fs.resources),
        security_context=V1SecurityContext(
            allow_privilege_escalation=False,
            capabilities=V1Capabilities(drop=["all"]),
            read_only_root_filesystem=True,
        ),
        volume_mounts=[
            config_volume_mount(mount, volumes, prefix=FILESERVER_MOUNT_PREFIX)
            for mount in fs.volume_mounts
        ],
    )


def _job(
    config: ControllerConfig, fs: FileserverEnabled, user: UserInfo, uid: int, gid: int
) -> V1Job:
    username = user.username
    name = fileserver_name(username)
    mounted = {mount.volume_name for mount in fs.volume_mounts}
    stem = name
    metadata = _metadata(fs, name, username)
    assert metadata.annotations is not None
    metadata.annotations.update(fs.extra_annotations)
    template = V1PodTemplateSpec(
        metadata=V1ObjectMeta(
            name=name,
            labels=selector_labels(Category.FILESERVER, username),
            annotations=dict(fs.extra_annotations),
        ),
        spec=V1PodSpec(
            restart_policy="Never",
            security_context=V1PodSecurityContext(
                run_as_user=uid,
                run_as_group=gid,
                run_as_non_root=True,
                supplemental_groups=[group.id for group in user.groups],
            ),
            affinity=kubernetes_affinity(fs.affinity),
            node_selector=dict(fs.node_selector) or None,
            tolerations=kubernetes_tolerations(fs.tolerations),
            containers=[_container(config, fs, username)],
            volumes=[config_volume(v, stem) for v in config.lab.volumes if v.name in mounted],
        ),
    )
    return V1Job(
        api_version="batch/v1", kind="Job", metadata=metadata, spec=V1JobSpec(template=template)
    )


def build_fileserver(config: ControllerConfig, user: UserInfo) -> FileserverObjects:
    """Every object of ``user``'s file server.

    Raises ``FileserverIdentityError`` when the user has no UID or GID (the server runs as them).
    """
    fs = fileserver_config(config)
    if not user.uid:
        raise FileserverIdentityError("Must have a UID to start a file server")
    if not user.gid:
        raise FileserverIdentityError("Must have a GID to start a file server")
    username = user.username
    mounted = [mount.volume_name for mount in fs.volume_mounts]
    pvcs = [
        persistent_volume_claim(
            volume,
            stem=fileserver_name(username),
            namespace=fs.namespace,
            category=Category.FILESERVER,
            username=username,
            application=fs.application,
        )
        for volume in pvc_volumes_in_use(config.lab.volumes, mounted)
    ]
    return FileserverObjects(
        namespace=fs.namespace,
        pvcs=pvcs,
        gafaelfawr_ingress=_gafaelfawr_ingress(config, fs, username),
        service=_service(fs, username),
        job=_job(config, fs, user, user.uid, user.gid),
    )
