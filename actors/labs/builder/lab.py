"""``build_lab``: configuration + spawn request → every Kubernetes object of one lab.

Pure and deterministic: no I/O, no clock, no randomness, and nothing it receives is changed
(the configuration is frozen and shared by every actor). The caller reads the source secrets
and the discovery document beforehand and creates the objects afterwards: the namespace
first, then ``namespaced_objects()`` (independent of each other), then — once the namespace's
default service account exists — the pod.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes.client import (
    V1ConfigMap,
    V1Namespace,
    V1NetworkPolicy,
    V1PersistentVolumeClaim,
    V1Pod,
    V1ResourceQuota,
    V1Secret,
    V1Service,
)

from actors.common.labels import Category
from actors.common.models import SpawnRequest
from actors.common.naming import home_directory, lab_namespace, lab_object_name
from actors.common.storage import persistent_volume_claim, pvc_volumes_in_use
from actors.config import ControllerConfig

from .containers import ContainerContext
from .environment import env_config_map, lab_environment
from .errors import UserIdentityError
from .files import files_config_map, lab_files
from .namespace import check_namespace_annotations, lab_namespace_object
from .network import lab_network_policy, lab_service
from .nss import group_file, nss_config_map, passwd_file
from .pod import lab_pod
from .quota import lab_quota
from .secrets import copy_pull_secret, user_secret
from .volumes import CONTROLLER_VOLUME_NAMES

__all__ = ["LabObjects", "NamespacedLabObject", "build_lab", "check_lab_config"]

NamespacedLabObject = (
    V1PersistentVolumeClaim | V1ConfigMap | V1Secret | V1ResourceQuota | V1NetworkPolicy | V1Service
)
"""Any object that lives in the lab namespace, except the pod."""


@dataclass(frozen=True)
class LabObjects:
    """The complete object set of one lab (``kubernetes-objects.md`` §2)."""

    namespace: V1Namespace
    pvcs: list[V1PersistentVolumeClaim]
    env_config_map: V1ConfigMap
    nss_config_map: V1ConfigMap
    files_config_map: V1ConfigMap
    secret: V1Secret
    pull_secret: V1Secret | None
    quota: V1ResourceQuota | None
    network_policy: V1NetworkPolicy
    service: V1Service
    pod: V1Pod

    def namespaced_objects(self) -> list[NamespacedLabObject]:
        """Everything but the namespace and the pod, in the specification's creation order.

        None depends on another, so they may be created concurrently once the namespace
        exists; the pod needs them all (it mounts the ConfigMaps, Secret and claims).
        """
        objects: list[NamespacedLabObject] = [*self.pvcs]
        objects += [self.env_config_map, self.nss_config_map, self.files_config_map]
        objects.append(self.secret)
        if self.pull_secret is not None:
            objects.append(self.pull_secret)
        if self.quota is not None:
            objects.append(self.quota)
        objects += [self.network_policy, self.service]
        return objects


def build_lab(
    config: ControllerConfig,
    request: SpawnRequest,
    *,
    source_secrets: Mapping[str, V1Secret],
    pull_secret: V1Secret | None,
    discovery: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
) -> LabObjects:
    """Build every object of the requesting user's lab.

    ``source_secrets`` maps controller-namespace secret names (at least those of
    ``required_source_secrets``) to the secrets read; ``pull_secret`` is the secret named
    by ``lab.pullSecret`` (ignored when that is unset); ``discovery`` is the Repertoire
    discovery document for labs; ``environ`` optionally supplies ``REPERTOIRE_BASE_URL``.

    Raises ``MissingSecretError`` for an absent source secret or key,
    ``NamespaceAnnotationError`` or ``FileKeyError`` for unsupported configuration, and
    ``UserIdentityError`` if the user has no UID or GID.
    """
    lab = config.lab
    user = request.user
    username = user.username
    if not user.uid or not user.gid:
        raise UserIdentityError(f"user {username} has no UID or primary GID")
    uid, gid = user.uid, user.gid
    namespace = lab_namespace(config, username)
    home = home_directory(config, username)
    files = lab_files(lab, reserved_names=CONTROLLER_VOLUME_NAMES | lab.volume_names)

    mounted = {mount.volume_name for mount in lab.volume_mounts}
    for container in lab.init_containers:
        mounted.update(mount.volume_name for mount in container.volume_mounts)
    pvcs = [
        persistent_volume_claim(
            volume,
            stem=lab_object_name(username),
            namespace=namespace,
            category=Category.LAB,
            username=username,
            application=lab.application,
        )
        for volume in pvc_volumes_in_use(lab.volumes, mounted)
    ]

    env = lab_environment(config, request, environ)
    passwd = passwd_file(lab, username=username, uid=uid, gid=gid, name=user.name, home=home)
    group = group_file(lab, username=username, gid=gid, groups=list(user.groups))
    context = ContainerContext(
        lab=lab,
        username=username,
        uid=uid,
        gid=gid,
        home=home,
        helper_image=config.helper_image,
        lab_resources=request.resources,
        files=files,
    )
    return LabObjects(
        namespace=lab_namespace_object(
            lab, namespace=namespace, username=username, uid=uid, gid=gid
        ),
        pvcs=pvcs,
        env_config_map=env_config_map(config, namespace=namespace, username=username, data=env),
        nss_config_map=nss_config_map(
            lab, namespace=namespace, username=username, passwd=passwd, group=group
        ),
        files_config_map=files_config_map(
            lab, namespace=namespace, username=username, files=files, discovery=discovery
        ),
        secret=user_secret(
            lab,
            namespace=namespace,
            username=username,
            token=request.token,
            source_secrets=source_secrets,
        ),
        pull_secret=copy_pull_secret(
            lab, namespace=namespace, username=username, source=pull_secret
        ),
        quota=lab_quota(lab, namespace=namespace, username=username, quota=user.notebook_quota),
        network_policy=lab_network_policy(lab, namespace=namespace, username=username),
        service=lab_service(lab, namespace=namespace, username=username),
        pod=lab_pod(
            context,
            namespace=namespace,
            image=request.image,
            name=user.name,
            groups=list(user.groups),
        ),
    )


def check_lab_config(config: ControllerConfig) -> None:
    """Raise the error ``build_lab`` would raise for every user because of the configuration.

    Checks namespace annotation templates and configured file keys; call it at startup so a
    bad configuration fails there rather than at the first spawn.
    """
    lab = config.lab
    check_namespace_annotations(lab)
    lab_files(lab, reserved_names=CONTROLLER_VOLUME_NAMES | lab.volume_names)
