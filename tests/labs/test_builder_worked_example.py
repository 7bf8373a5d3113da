"""The worked example of ``kubernetes-objects.md`` §13, object by object.

Expected values are transcribed from the specification, not from the builder's output.
"""

from __future__ import annotations

import json
from typing import Any

from actors.labs.builder import internal_url

from .examples import (
    BUTLER_SECRET_B64,
    DISCOVERY,
    DOCKER_CONFIG_B64,
    HUB_TOKEN,
    IMAGE,
    build_example,
    dump,
    make_config,
)

STD_LABELS = {
    "argocd.argoproj.io/instance": "nublado-users",
    "nublado.lsst.io/category": "lab",
    "nublado.lsst.io/user": "wombat",
}
STD_ANNOTATIONS = {
    "argocd.argoproj.io/compare-options": "IgnoreExtraneous",
    "argocd.argoproj.io/sync-options": "Prune=false",
}
SELECTOR = {"nublado.lsst.io/category": "lab", "nublado.lsst.io/user": "wombat"}


def std(name: str, namespace: str | None = "nublado-wombat") -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": name,
        "labels": STD_LABELS,
        "annotations": STD_ANNOTATIONS,
    }
    if namespace is not None:
        metadata["namespace"] = namespace
    return metadata


def test_internal_url_of_the_example() -> None:
    url = internal_url(make_config(), "wombat", "/nb/user/wombat/")
    assert url == "http://lab.nublado-wombat:8888/nb/user/wombat/"


def test_namespace() -> None:
    assert dump(build_example().namespace) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": std("nublado-wombat", namespace=None),
    }


def test_pvc_for_the_mounted_scratch_volume_only() -> None:
    assert [dump(pvc) for pvc in build_example().pvcs] == [
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": std("wombat-nb-pvc-scratch"),
            "spec": {
                "storageClassName": "standard-rwx",
                "accessModes": ["ReadWriteMany"],
                "resources": {"requests": {"storage": "10Gi"}},
            },
        }
    ]


def test_env_config_map() -> None:
    assert dump(build_example().env_config_map) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": std("wombat-nb-env"),
        "immutable": True,
        "data": {
            "API_ROUTE": "/api",
            "CONTAINER_SIZE": "Medium (2.0 CPU, 6Gi RAM)",
            "CPU_GUARANTEE": "0.5",
            "CPU_LIMIT": "2.0",
            "EXTERNAL_INSTANCE_URL": "https://data.example.org",
            "HUB_ROUTE": "/nb/hub",
            "IMAGE_DESCRIPTION": "Weekly 2077_43",
            "IMAGE_DIGEST": "sha256:5678",
            "JUPYTERHUB_ACTIVITY_INTERVAL": "3600",
            "JUPYTERHUB_API_TOKEN": HUB_TOKEN,
            "JUPYTERHUB_SERVICE_PREFIX": "/nb/user/wombat/",
            "JUPYTERHUB_USER": "wombat",
            "JUPYTERLAB_CONFIG_DIR": "/opt/lsst/software/jupyterlab",
            "JUPYTERLAB_START_COMMAND": "/opt/lsst/software/jupyterlab/runlab.sh",
            "JUPYTER_IMAGE": IMAGE,
            "JUPYTER_IMAGE_SPEC": IMAGE,
            "MEM_GUARANTEE": "1610612736",
            "MEM_LIMIT": "6442450944",
            "NUBLADO_RUNTIME_MOUNTS_DIR": "/etc/nublado",
            "REPERTOIRE_BASE_URL": "https://data.example.org/repertoire",
        },
    }


def test_nss_config_map() -> None:
    assert dump(build_example().nss_config_map) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": std("wombat-nb-nss"),
        "immutable": True,
        "data": {
            "passwd": (
                "root:x:0:0:root:/root:/bin/bash\n"
                "wombat:x:4242:4242:Wendy Ombat:/home/wombat:/bin/bash\n"
            ),
            "group": ("root:x:0:\nwombat:x:4242:\ng-astro:x:70001:wombat\ng-crew:x:70002:wombat\n"),
        },
    }


def test_files_config_map() -> None:
    files = dump(build_example().files_config_map)
    assert files["metadata"] == std("wombat-nb-files")
    assert files["immutable"] is True
    assert set(files["data"]) == {"discovery-v1-json", "lsst-dask-yml"}
    assert files["data"]["lsst-dask-yml"] == "dask_worker.yml: |\n  enabled: false\n"
    assert json.loads(files["data"]["discovery-v1-json"]) == DISCOVERY


def test_user_secret() -> None:
    assert dump(build_example().secret) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": std("wombat-nb"),
        "type": "Opaque",
        "immutable": True,
        "data": {
            "butler-secret": BUTLER_SECRET_B64,
            # base64 of "gt-wombat-notebook-token"
            "token": "Z3Qtd29tYmF0LW5vdGVib29rLXRva2Vu",
        },
    }


def test_pull_secret() -> None:
    objects = build_example()
    assert objects.pull_secret is not None
    assert dump(objects.pull_secret) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": std("pull-secret"),
        "type": "kubernetes.io/dockerconfigjson",
        "immutable": True,
        "data": {".dockerconfigjson": DOCKER_CONFIG_B64},
    }


def test_resource_quota() -> None:
    objects = build_example()
    assert objects.quota is not None
    assert dump(objects.quota) == {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": std("wombat-nb"),
        "spec": {"hard": {"limits.cpu": "8.0", "limits.memory": "25769803776"}},
    }


def test_network_policy() -> None:
    assert dump(build_example().network_policy) == {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": std("wombat-nb"),
        "spec": {
            "policyTypes": ["Ingress"],
            "podSelector": {"matchLabels": SELECTOR},
            "ingress": [
                {
                    "from": [
                        {"namespaceSelector": {"matchLabels": SELECTOR}},
                        {
                            "namespaceSelector": {},
                            "podSelector": {"matchLabels": {"app": "jupyterhub"}},
                        },
                    ],
                    "ports": [{"port": 8888}],
                }
            ],
        },
    }


def test_service() -> None:
    assert dump(build_example().service) == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": std("lab"),
        "spec": {"ports": [{"port": 8888, "targetPort": 8888}], "selector": SELECTOR},
    }


RESOURCES = {
    "limits": {"cpu": "2.0", "memory": "6442450944"},
    "requests": {"cpu": "0.5", "memory": "1610612736"},
}
USER_CONTEXT = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["all"]},
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "runAsUser": 4242,
    "runAsGroup": 4242,
}
IDENTITY_ENV = [
    {"name": "NUBLADO_HOME", "value": "/home/wombat"},
    {"name": "NUBLADO_UID", "value": "4242"},
    {"name": "NUBLADO_GID", "value": "4242"},
]


def secret_ref(name: str, key: str) -> dict[str, Any]:
    return {
        "name": name,
        "valueFrom": {"secretKeyRef": {"name": "wombat-nb", "key": key, "optional": False}},
    }


TOKEN_ENV = [
    secret_ref("ACCESS_TOKEN", "token"),
    secret_ref("NUBLADO_TOKEN", "token"),
    secret_ref("BUTLER_SECRET", "butler-secret"),
]
ENV_FROM = [{"configMapRef": {"name": "wombat-nb-env"}}]


def mounts(*, startup_read_only: bool) -> list[dict[str, Any]]:
    return [
        {"name": "home", "mountPath": "/home", "readOnly": False},
        {"name": "scratch", "mountPath": "/scratch", "readOnly": False},
        {"name": "passwd", "mountPath": "/etc/passwd", "subPath": "passwd", "readOnly": True},
        {"name": "group", "mountPath": "/etc/group", "subPath": "group", "readOnly": True},
        {
            "name": "lsst-dask-yml",
            "mountPath": "/opt/lsst/software/jupyterlab/lsst_dask.yml",
            "subPath": "lsst_dask.yml",
            "readOnly": True,
        },
        {
            "name": "discovery-v1-json",
            "mountPath": "/etc/nublado/discovery/v1.json",
            "subPath": "v1.json",
            "readOnly": True,
        },
        {"name": "secrets", "mountPath": "/etc/nublado/secrets", "readOnly": True},
        {"name": "env", "mountPath": "/etc/nublado/environment", "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp", "readOnly": False},
        {"name": "runtime", "mountPath": "/etc/nublado/runtime", "readOnly": True},
        {
            "name": "lab-startup",
            "mountPath": "/etc/nublado/startup",
            "readOnly": startup_read_only,
        },
        {
            "name": "secrets",
            "mountPath": "/opt/lsst/software/jupyterlab/butler-secret",
            "subPath": "butler-secret",
            "readOnly": True,
        },
    ]


def runtime_item(path: str, resource: str) -> dict[str, Any]:
    return {"path": path, "resourceFieldRef": {"containerName": "notebook", "resource": resource}}


EXPECTED_POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "wombat-nb",
        "namespace": "nublado-wombat",
        "labels": STD_LABELS,
        "annotations": {
            **STD_ANNOTATIONS,
            "nublado.lsst.io/user-groups": (
                '[{"name": "wombat", "id": 4242}, {"name": "g-astro", "id": 70001},'
                ' {"name": "g-crew", "id": 70002}]'
            ),
            "nublado.lsst.io/user-name": "Wendy Ombat",
        },
    },
    "spec": {
        "automountServiceAccountToken": False,
        "restartPolicy": "OnFailure",
        "imagePullSecrets": [{"name": "pull-secret"}],
        "securityContext": {"supplementalGroups": [4242, 70001, 70002]},
        "tolerations": [
            {
                "key": "kubernetes.io/arch",
                "operator": "Equal",
                "value": "arm64",
                "effect": "NoSchedule",
            }
        ],
        "initContainers": [
            {
                "name": "nublado-std-inithome",
                "image": "ghcr.io/lsst-sqre/nublado:15.1.0",
                "imagePullPolicy": "IfNotPresent",
                "command": ["nublado", "inithome"],
                "env": IDENTITY_ENV,
                "envFrom": ENV_FROM,
                "resources": RESOURCES,
                "securityContext": {
                    "allowPrivilegeEscalation": True,
                    "privileged": True,
                    "readOnlyRootFilesystem": True,
                    "runAsNonRoot": False,
                    "runAsUser": 0,
                },
                "volumeMounts": [{"name": "home", "mountPath": "/home", "readOnly": False}],
            },
            {
                "name": "nublado-std-startup",
                "image": "ghcr.io/lsst-sqre/nublado:15.1.0",
                "imagePullPolicy": "IfNotPresent",
                "command": ["nublado", "startup"],
                "env": IDENTITY_ENV + TOKEN_ENV,
                "envFrom": ENV_FROM,
                "resources": RESOURCES,
                "securityContext": USER_CONTEXT,
                "volumeMounts": mounts(startup_read_only=False),
            },
        ],
        "containers": [
            {
                "name": "notebook",
                "image": IMAGE,
                "imagePullPolicy": "IfNotPresent",
                "args": ["/opt/lsst/software/jupyterlab/runlab.sh"],
                "env": [
                    *TOKEN_ENV,
                    {
                        "name": "KUBERNETES_NODE_NAME",
                        "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}},
                    },
                    {
                        "name": "K8S_NODE_NAME",
                        "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}},
                    },
                ],
                "envFrom": ENV_FROM,
                "ports": [{"containerPort": 8888, "name": "jupyterlab"}],
                "resources": RESOURCES,
                "securityContext": USER_CONTEXT,
                "workingDir": "/home/wombat",
                "volumeMounts": mounts(startup_read_only=True),
            }
        ],
        "volumes": [
            {
                "name": "home",
                "nfs": {"server": "10.0.0.5", "path": "/exports/home", "readOnly": False},
            },
            {
                "name": "scratch",
                "persistentVolumeClaim": {"claimName": "wombat-nb-pvc-scratch", "readOnly": False},
            },
            {
                "name": "passwd",
                "configMap": {
                    "name": "wombat-nb-nss",
                    "items": [{"key": "passwd", "path": "passwd", "mode": 420}],
                },
            },
            {
                "name": "group",
                "configMap": {
                    "name": "wombat-nb-nss",
                    "items": [{"key": "group", "path": "group", "mode": 420}],
                },
            },
            {
                "name": "lsst-dask-yml",
                "configMap": {
                    "name": "wombat-nb-files",
                    "items": [{"key": "lsst-dask-yml", "path": "lsst_dask.yml", "mode": 420}],
                },
            },
            {
                "name": "discovery-v1-json",
                "configMap": {
                    "name": "wombat-nb-files",
                    "items": [{"key": "discovery-v1-json", "path": "v1.json", "mode": 420}],
                },
            },
            {"name": "secrets", "secret": {"secretName": "wombat-nb"}},
            {"name": "env", "configMap": {"name": "wombat-nb-env"}},
            {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "1610612736"}},
            {
                "name": "runtime",
                "downwardAPI": {
                    "items": [
                        runtime_item("limits_cpu", "limits.cpu"),
                        runtime_item("requests_cpu", "requests.cpu"),
                        runtime_item("limits_memory", "limits.memory"),
                        runtime_item("requests_memory", "requests.memory"),
                    ]
                },
            },
            {"name": "lab-startup", "emptyDir": {"medium": "Memory", "sizeLimit": "655360"}},
        ],
    },
}


def test_pod_in_full() -> None:
    pod = dump(build_example().pod)
    # Compare piecewise first so a failure points at the part that differs.
    assert pod["metadata"] == EXPECTED_POD["metadata"]
    for key, value in EXPECTED_POD["spec"].items():
        assert pod["spec"][key] == value, key
    assert pod == EXPECTED_POD
