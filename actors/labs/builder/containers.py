"""The lab pod's containers: init containers in order, then ``notebook`` (§2.12.3-4).

Order of init containers: ``nublado-std-inithome`` (if ``lab.standardInithome``, as root,
seeing only the home volume), the configured ones (each with only its own mounts), then
``nublado-std-landingpage`` (science sites only) and always ``nublado-std-startup``. Every
container gets the env ConfigMap through ``envFrom`` and the lab's resources, so an init
container can never be the reason a lab does not fit on a node.

Tokens never appear in a container spec: they are ``secretKeyRef``s into the user Secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubernetes.client import (
    V1Capabilities,
    V1ConfigMapEnvSource,
    V1Container,
    V1ContainerPort,
    V1EnvFromSource,
    V1EnvVar,
    V1EnvVarSource,
    V1ObjectFieldSelector,
    V1ResourceRequirements,
    V1SecretKeySelector,
    V1SecurityContext,
    V1VolumeMount,
)

from actors.common.models import LabResources
from actors.common.naming import LAB_PORT, NOTEBOOK_CONTAINER, env_config_map_name, lab_object_name
from actors.common.resources import container_resources
from actors.common.storage import config_volume_mount
from actors.config import ContainerImage, InitContainer, LabConfig

from .files import LabFile
from .secrets import TOKEN_KEY
from .volumes import full_mount_list

__all__ = [
    "INITHOME_CONTAINER",
    "LANDINGPAGE_CONTAINER",
    "STARTUP_CONTAINER",
    "ContainerContext",
    "init_containers",
    "notebook_container",
    "root_security_context",
    "user_security_context",
]

INITHOME_CONTAINER = "nublado-std-inithome"
LANDINGPAGE_CONTAINER = "nublado-std-landingpage"
STARTUP_CONTAINER = "nublado-std-startup"


@dataclass(frozen=True)
class ContainerContext:
    """What every lab container of one user shares.

    Objects are built afresh for each container (``resources()``, ``init_mounts()``), so no
    two containers share a mutable Kubernetes model instance.
    """

    lab: LabConfig
    username: str
    uid: int
    gid: int
    home: str
    helper_image: ContainerImage
    lab_resources: LabResources
    files: list[LabFile]

    def resources(self) -> V1ResourceRequirements:
        return container_resources(self.lab_resources)

    def init_mounts(self) -> list[V1VolumeMount]:
        """Full mount list with a writable hand-off area."""
        return full_mount_list(self.lab, files=self.files, startup_read_only=False)

    def lab_mounts(self) -> list[V1VolumeMount]:
        """Full mount list with a read-only hand-off area."""
        return full_mount_list(self.lab, files=self.files, startup_read_only=True)


def root_security_context() -> V1SecurityContext:
    """For containers that must act as root (home creation, privileged init containers)."""
    return V1SecurityContext(
        allow_privilege_escalation=True,
        privileged=True,
        read_only_root_filesystem=True,
        run_as_non_root=False,
        run_as_user=0,
    )


def user_security_context(uid: int, gid: int) -> V1SecurityContext:
    """As the user, every capability dropped, no escalation, read-only root filesystem."""
    return V1SecurityContext(
        allow_privilege_escalation=False,
        capabilities=V1Capabilities(drop=["all"]),
        read_only_root_filesystem=True,
        run_as_non_root=True,
        run_as_user=uid,
        run_as_group=gid,
    )


def _secret_env(name: str, secret: str, key: str) -> V1EnvVar:
    return V1EnvVar(
        name=name,
        value_from=V1EnvVarSource(
            secret_key_ref=V1SecretKeySelector(name=secret, key=key, optional=False)
        ),
    )


def _node_name_env(name: str) -> V1EnvVar:
    return V1EnvVar(
        name=name,
        value_from=V1EnvVarSource(field_ref=V1ObjectFieldSelector(field_path="spec.nodeName")),
    )


def _token_and_secret_env(context: ContainerContext) -> list[V1EnvVar]:
    secret = lab_object_name(context.username)
    env = [
        _secret_env("ACCESS_TOKEN", secret, TOKEN_KEY),
        _secret_env("NUBLADO_TOKEN", secret, TOKEN_KEY),
    ]
    env.extend(
        _secret_env(entry.env, secret, entry.secret_key)
        for entry in context.lab.secrets
        if entry.env is not None
    )
    return env


def _identity_env(context: ContainerContext) -> list[V1EnvVar]:
    return [
        V1EnvVar(name="NUBLADO_HOME", value=context.home),
        V1EnvVar(name="NUBLADO_UID", value=str(context.uid)),
        V1EnvVar(name="NUBLADO_GID", value=str(context.gid)),
    ]


def _env_from(context: ContainerContext) -> list[V1EnvFromSource]:
    name = env_config_map_name(context.username)
    return [V1EnvFromSource(config_map_ref=V1ConfigMapEnvSource(name=name))]


def _standard_init(
    context: ContainerContext,
    name: str,
    subcommand: str,
    *,
    security: V1SecurityContext,
    mounts: list[V1VolumeMount],
    with_secrets: bool = False,
) -> V1Container:
    env = _identity_env(context)
    if with_secrets:
        env.extend(_token_and_secret_env(context))
    return V1Container(
        name=name,
        image=context.helper_image.reference,
        image_pull_policy=context.helper_image.pull_policy.value,
        command=["nublado", subcommand],
        env=env,
        env_from=_env_from(context),
        resources=context.resources(),
        security_context=security,
        volume_mounts=mounts,
    )


def _configured_init(context: ContainerContext, container: InitContainer) -> V1Container:
    volumes = {volume.name: volume for volume in context.lab.volumes}
    security = (
        root_security_context()
        if container.privileged
        else user_security_context(context.uid, context.gid)
    )
    return V1Container(
        name=container.name,
        image=container.image.reference,
        image_pull_policy=container.image.pull_policy.value,
        command=list(container.command) if container.command is not None else None,
        env=_identity_env(context),
        env_from=_env_from(context),
        resources=context.resources(),
        security_context=security,
        volume_mounts=[config_volume_mount(mount, volumes) for mount in container.volume_mounts],
    )


def init_containers(context: ContainerContext) -> list[V1Container]:
    """All init containers in the order the kubelet must run them."""
    lab = context.lab
    containers: list[V1Container] = []
    if lab.standard_inithome:
        home_mounts = [
            mount for mount in context.init_mounts() if mount.name == lab.home_volume_name
        ]
        containers.append(
            _standard_init(
                context,
                INITHOME_CONTAINER,
                "inithome",
                security=root_security_context(),
                mounts=home_mounts,
            )
        )
    containers.extend(_configured_init(context, container) for container in lab.init_containers)
    if lab.env.get("RSP_SITE_TYPE") == "science":
        containers.append(
            _standard_init(
                context,
                LANDINGPAGE_CONTAINER,
                "landingpage",
                security=user_security_context(context.uid, context.gid),
                mounts=context.init_mounts(),
            )
        )
    containers.append(
        _standard_init(
            context,
            STARTUP_CONTAINER,
            "startup",
            security=user_security_context(context.uid, context.gid),
            mounts=context.init_mounts(),
            with_secrets=True,
        )
    )
    return containers


def notebook_container(context: ContainerContext, image: str) -> V1Container:
    """The JupyterLab container; ``lab.labStartCommand`` is its ``args`` (not ``command``)."""
    env = _token_and_secret_env(context)
    env.append(_node_name_env("KUBERNETES_NODE_NAME"))
    env.append(_node_name_env("K8S_NODE_NAME"))
    return V1Container(
        name=NOTEBOOK_CONTAINER,
        image=image,
        image_pull_policy="IfNotPresent",
        args=list(context.lab.lab_start_command),
        env=env,
        env_from=_env_from(context),
        ports=[V1ContainerPort(container_port=LAB_PORT, name="jupyterlab")],
        resources=context.resources(),
        security_context=user_security_context(context.uid, context.gid),
        volume_mounts=context.lab_mounts(),
        working_dir=context.home,
    )
