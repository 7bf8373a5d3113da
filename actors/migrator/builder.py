"""A migration pod and its claims (``kubernetes-objects.md`` §6.1), and pair naming.

The pod is named ``migrator-<old>-to-<new>``; it mounts only the lab home volume (the
``lab.volumeMounts`` entries of ``lab.homeVolumeName``), read-write and without prefix, and
runs ``nublado migrator`` as privileged root with the four ``NUBLADO_*`` variables. Like
fsadmin (whose pieces it reuses) it builds new mount objects and never touches the
configured ones.
"""

from __future__ import annotations

import re

from kubernetes.client import V1EnvVar, V1Pod

from actors.common.labels import Category
from actors.common.naming import home_directory
from actors.common.storage import config_volume
from actors.config import ControllerConfig
from actors.fsadmin.builder import (
    PodObjects,
    claims,
    privileged_container,
    privileged_pod,
    read_write_mounts,
)
from actors.usernames import is_valid_username

__all__ = [
    "MAX_POD_NAME_LENGTH",
    "MIGRATOR_COMMAND",
    "NEW_USER_ENV",
    "OLD_USER_ENV",
    "build_migrator",
    "migration_key",
    "migrator_pod_name",
    "pair_of_key",
    "pair_of_pod",
    "validate_pair",
]

MIGRATOR_COMMAND = ["nublado", "migrator"]
OLD_USER_ENV = "NUBLADO_OLD_USER"
NEW_USER_ENV = "NUBLADO_NEW_USER"

_SEPARATOR = re.compile(r"(?=-to-)")
"""Every (overlapping) occurrence of the separator of ``<old>-to-<new>``."""

MAX_POD_NAME_LENGTH = 63
"""Kept to a DNS label (the pod's hostname) although pod names may be longer."""


def migrator_pod_name(old_user: str, new_user: str) -> str:
    """``migrator-<old>-to-<new>``."""
    return f"migrator-{old_user}-to-{new_user}"


def migration_key(old_user: str, new_user: str) -> str:
    """The actor key of a pair: ``<old>-to-<new>`` (actor ``migration/<old>-to-<new>``).

    ASCII instead of the design notes' arrow, so names stay plain in logs, URLs and shells.
    ``validate_pair`` admits only pairs whose key contains the separator exactly once, so the
    key (and the pod name) names one pair.
    """
    return f"{old_user}-to-{new_user}"


def validate_pair(old_user: str, new_user: str) -> list[tuple[str, str]]:
    """Problems with a pair as ``(field, message)``; empty when valid (``api.md`` §12.2).

    Usernames follow the platform rule of :mod:`actors.usernames`, like every other route's.
    """
    problems: list[tuple[str, str]] = []
    for field, value in (("old_user", old_user), ("new_user", new_user)):
        if not is_valid_username(value):
            problems.append((field, f"{value!r} is not a valid username"))
    if not problems and old_user == new_user:
        problems.append(("new_user", "must differ from old_user"))
    if not problems and len(_SEPARATOR.findall(migration_key(old_user, new_user))) != 1:
        # "a-to" + "b" and "a" + "to-b" would share a pod: refuse names that make it ambiguous.
        problems.append(("new_user", "the pair's name would be ambiguous (-to- in a username)"))
    if not problems and len(migrator_pod_name(old_user, new_user)) > MAX_POD_NAME_LENGTH:
        problems.append(("new_user", f"pod name would exceed {MAX_POD_NAME_LENGTH} characters"))
    return problems


def pair_of_key(key: str) -> tuple[str, str]:
    """(old, new) of a key made by ``migration_key`` for a validated pair."""
    old_user, new_user = key.split("-to-")
    return old_user, new_user


def pair_of_pod(pod: V1Pod) -> tuple[str, str] | None:
    """(old, new) from a migration pod's environment, which names them unambiguously."""
    if pod.spec is None:
        return None
    for container in pod.spec.containers:
        env = {var.name: var.value for var in container.env or [] if var.value is not None}
        if OLD_USER_ENV in env and NEW_USER_ENV in env:
            return env[OLD_USER_ENV], env[NEW_USER_ENV]
    return None


def build_migrator(
    config: ControllerConfig, namespace: str, old_user: str, new_user: str
) -> PodObjects:
    """The migration pod copying ``old_user``'s home into ``new_user``'s, and its claims."""
    name = migrator_pod_name(old_user, new_user)
    lab = config.lab
    home = lab.home_volume_name
    mounts = [mount for mount in lab.volume_mounts if mount.volume_name == home]
    volumes = [config_volume(volume, name) for volume in lab.volumes if volume.name == home]
    env = [
        V1EnvVar(name=OLD_USER_ENV, value=old_user),
        V1EnvVar(name=NEW_USER_ENV, value=new_user),
        V1EnvVar(name="NUBLADO_OLD_HOMEDIR", value=home_directory(config, old_user)),
        V1EnvVar(name="NUBLADO_NEW_HOMEDIR", value=home_directory(config, new_user)),
    ]
    container = privileged_container(
        config, name, MIGRATOR_COMMAND, read_write_mounts(mounts), env=env
    )
    pod = privileged_pod(
        config,
        name=name,
        namespace=namespace,
        category=Category.MIGRATOR,
        container=container,
        volumes=volumes,
    )
    pvcs = claims(lab.volumes, {home}, stem=name, namespace=namespace, category=Category.MIGRATOR)
    return PodObjects(namespace=namespace, pvcs=pvcs, pod=pod)
