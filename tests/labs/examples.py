"""The composed example of ``kubernetes-objects.md`` §13, as test inputs.

``worked_example_data()`` is the configuration fragment of the spec (plus the sections every
configuration needs); ``wombat_request()`` is the spawn described there. Tests change copies.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

from kubernetes.client import V1ObjectMeta, V1Secret

from actors.common.models import (
    LabResources,
    NotebookQuota,
    ResolvedImage,
    ResourceQuantity,
    SpawnRequest,
    UserGroup,
    UserInfo,
    UserQuota,
)
from actors.config import ControllerConfig, LabSize, build_config
from actors.labs.builder import LabObjects, build_lab

ENVIRON = {
    "EXTERNAL_INSTANCE_URL": "https://data.example.org",
    "REPERTOIRE_BASE_URL": "https://data.example.org/repertoire",
    "NUBLADO_CONTROLLER_REPOSITORY": "ghcr.io/lsst-sqre/nublado",
    "NUBLADO_CONTROLLER_TAG": "15.1.0",
}

IMAGE = "lighthouse.ceres/library/sketchbook:w_2077_43@sha256:5678"
HUB_TOKEN = "hub-token-for-tests"
USER_TOKEN = "gt-wombat-notebook-token"
BUTLER_SECRET_B64 = base64.b64encode(b"butler-password").decode()
DOCKER_CONFIG_B64 = base64.b64encode(b'{"auths": {}}').decode()

_LAB: dict[str, Any] = {
    "application": "nublado-users",
    "namespacePrefix": "nublado",
    "env": {"API_ROUTE": "/api", "HUB_ROUTE": "/nb/hub"},
    "files": {
        "/opt/lsst/software/jupyterlab/lsst_dask.yml": "dask_worker.yml: |\n  enabled: false\n"
    },
    "nss": {"basePasswd": "root:x:0:0:root:/root:/bin/bash\n", "baseGroup": "root:x:0:\n"},
    "pullSecret": "pull-secret",
    "secrets": [
        {
            "secretName": "nublado-lab-secret",
            "secretKey": "butler-secret",
            "env": "BUTLER_SECRET",
            "path": "/opt/lsst/software/jupyterlab/butler-secret",
        }
    ],
    "sizes": [
        {
            "size": "medium",
            "resources": {
                "limits": {"cpu": 2.0, "memory": "6Gi"},
                "requests": {"cpu": 0.5, "memory": "1.5Gi"},
            },
        }
    ],
    "standardInithome": True,
    "tolerations": [
        {"key": "kubernetes.io/arch", "operator": "Equal", "value": "arm64", "effect": "NoSchedule"}
    ],
    "volumes": [
        {
            "name": "home",
            "source": {"type": "nfs", "server": "10.0.0.5", "serverPath": "/exports/home"},
        },
        {
            "name": "scratch",
            "source": {
                "type": "persistentVolumeClaim",
                "storageClassName": "standard-rwx",
                "accessModes": ["ReadWriteMany"],
                "resources": {"requests": {"storage": "10Gi"}},
            },
        },
    ],
    "volumeMounts": [
        {"containerPath": "/home", "volumeName": "home"},
        {"containerPath": "/scratch", "volumeName": "scratch"},
    ],
}

_CONFIG: dict[str, Any] = {
    "metrics": {"enabled": False, "application": "nublado"},
    "images": {"source": {"type": "docker", "repository": "library/sketchbook"}},
    "fsadmin": {},
    "lab": _LAB,
}


def worked_example_data() -> dict[str, Any]:
    """A fresh copy of the §13 configuration as a dict (camelCase keys)."""
    return copy.deepcopy(_CONFIG)


def make_config(data: dict[str, Any] | None = None) -> ControllerConfig:
    """Validate ``data`` (default: the §13 configuration) with the §13 environment."""
    return build_config(data if data is not None else worked_example_data(), ENVIRON)


def wombat(*, name: str | None = "Wendy Ombat", quota: bool = True) -> UserInfo:
    """The §13 user."""
    return UserInfo(
        username="wombat",
        name=name,
        uid=4242,
        gid=4242,
        groups=[
            UserGroup(name="wombat", id=4242),
            UserGroup(name="g-astro", id=70001),
            UserGroup(name="g-crew", id=70002),
        ],
        quota=UserQuota(notebook=NotebookQuota(cpu=8, memory=24)) if quota else None,
    )


MEDIUM = LabResources(
    limits=ResourceQuantity(cpu=2.0, memory=6 * 1024**3),
    requests=ResourceQuantity(cpu=0.5, memory=1536 * 1024**2),
)


def wombat_request(
    user: UserInfo | None = None,
    *,
    resources: LabResources = MEDIUM,
    size: LabSize = LabSize.MEDIUM,
    enable_debug: bool = False,
    reset_user_env: bool = False,
    env: dict[str, str] | None = None,
) -> SpawnRequest:
    """The §13 spawn request (size medium, the weekly image, the hub's environment)."""
    hub_env = {
        "JUPYTERHUB_SERVICE_PREFIX": "/nb/user/wombat/",
        "JUPYTERHUB_USER": "wombat",
        "JUPYTERHUB_API_TOKEN": HUB_TOKEN,
    }
    if env is not None:
        hub_env.update(env)
    return SpawnRequest(
        user=user if user is not None else wombat(),
        image=ResolvedImage(reference=IMAGE, digest="sha256:5678", description="Weekly 2077_43"),
        size=size,
        resources=resources,
        env=hub_env,
        token=USER_TOKEN,
        enable_debug=enable_debug,
        reset_user_env=reset_user_env,
    )


def source_secrets() -> dict[str, V1Secret]:
    """The controller-namespace secrets §13 copies from, by name."""
    return {
        "nublado-lab-secret": V1Secret(
            metadata=V1ObjectMeta(name="nublado-lab-secret", namespace="nublado"),
            type="Opaque",
            data={"butler-secret": BUTLER_SECRET_B64, "unrelated": "c2VjcmV0"},
        )
    }


def pull_secret() -> V1Secret:
    """The controller-namespace pull secret of §13."""
    return V1Secret(
        metadata=V1ObjectMeta(name="pull-secret", namespace="nublado"),
        type="kubernetes.io/dockerconfigjson",
        data={".dockerconfigjson": DOCKER_CONFIG_B64},
    )


DISCOVERY = {"services": {"ui": {"portal": "https://data.example.org/portal"}}}


def dump(obj: Any) -> dict[str, Any]:
    """An object as the API would receive it (camelCase JSON, unset fields left out)."""
    result: dict[str, Any] = obj.model_dump(mode="json", by_alias=True, exclude_none=True)
    return result


def build_example(
    config: ControllerConfig | None = None,
    request: SpawnRequest | None = None,
    *,
    secrets: dict[str, V1Secret] | None = None,
    pull: V1Secret | None = None,
) -> LabObjects:
    """``build_lab`` with the §13 inputs unless told otherwise."""
    return build_lab(
        config if config is not None else make_config(),
        request if request is not None else wombat_request(),
        source_secrets=secrets if secrets is not None else source_secrets(),
        pull_secret=pull if pull is not None else pull_secret(),
        discovery=DISCOVERY,
    )
