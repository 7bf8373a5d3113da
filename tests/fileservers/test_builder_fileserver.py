"""The file server of ``kubernetes-objects.md`` §13.1, object by object."""

from __future__ import annotations

from typing import Any

import pytest

from actors.common.models import UserInfo
from actors.fileservers.builder import FileserverIdentityError, build_fileserver
from tests.labs.examples import dump, make_config, wombat, worked_example_data

STD_LABELS = {
    "argocd.argoproj.io/instance": "nublado-fileservers",
    "nublado.lsst.io/category": "fileserver",
    "nublado.lsst.io/user": "wombat",
}
ARGOCD = {
    "argocd.argoproj.io/compare-options": "IgnoreExtraneous",
    "argocd.argoproj.io/sync-options": "Prune=false",
}
SELECTOR = {"nublado.lsst.io/category": "fileserver", "nublado.lsst.io/user": "wombat"}


def fileserver_data(**extra: Any) -> dict[str, Any]:
    data = worked_example_data()
    data["fileserver"] = {
        "enabled": True,
        "namespace": "fileservers",
        "application": "nublado-fileservers",
        "pathPrefix": "/files",
        "idleTimeout": "1h",
        "volumeMounts": [{"containerPath": "/home", "volumeName": "home"}],
        **extra,
    }
    return data


def test_gafaelfawr_ingress_admits_only_the_user_with_basic_auth() -> None:
    objects = build_fileserver(make_config(fileserver_data()), wombat())
    assert objects.gafaelfawr_ingress == {
        "apiVersion": "gafaelfawr.lsst.io/v1alpha1",
        "kind": "GafaelfawrIngress",
        "metadata": {
            "name": "wombat-fs",
            "namespace": "fileservers",
            "labels": STD_LABELS,
            "annotations": ARGOCD,
        },
        "config": {
            "allowOptions": True,
            "authType": "basic",
            "baseUrl": "https://data.example.org",
            "scopes": {"all": ["write:files"]},
            "service": "nublado-files",
            "username": "wombat",
        },
        "template": {
            "metadata": {"name": "wombat-fs", "labels": SELECTOR},
            "spec": {
                "rules": [
                    {
                        "host": "data.example.org",
                        "http": {
                            "paths": [
                                {
                                    "path": "/files/wombat",
                                    "pathType": "Prefix",
                                    "backend": {
                                        "service": {"name": "wombat-fs", "port": {"number": 8000}}
                                    },
                                }
                            ]
                        },
                    }
                ]
            },
        },
    }


def test_service_exposes_port_8000_of_the_users_pod() -> None:
    service = dump(build_fileserver(make_config(fileserver_data()), wombat()).service)
    assert service == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "wombat-fs",
            "namespace": "fileservers",
            "labels": STD_LABELS,
            "annotations": ARGOCD,
        },
        "spec": {"ports": [{"port": 8000, "targetPort": 8000}], "selector": SELECTOR},
    }


def test_job_runs_worblehat_as_the_user_over_the_configured_mounts() -> None:
    job = dump(build_fileserver(make_config(fileserver_data()), wombat()).job)
    assert job == {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "wombat-fs",
            "namespace": "fileservers",
            "labels": STD_LABELS,
            "annotations": ARGOCD,
        },
        "spec": {
            "template": {
                "metadata": {"name": "wombat-fs", "labels": SELECTOR, "annotations": {}},
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": {
                        "runAsUser": 4242,
                        "runAsGroup": 4242,
                        "runAsNonRoot": True,
                        "supplementalGroups": [4242, 70001, 70002],
                    },
                    "tolerations": [],
                    "containers": [
                        {
                            "name": "fileserver",
                            "image": "ghcr.io/lsst-sqre/nublado:15.1.0",
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["/usr/local/bin/worblehat"],
                            "env": [
                                {"name": "WORBLEHAT_BASE_HREF", "value": "/files/wombat"},
                                {"name": "WORBLEHAT_TIMEOUT", "value": "3600"},
                                {"name": "WORBLEHAT_DIR", "value": "/mnt"},
                            ],
                            "ports": [{"containerPort": 8000, "name": "http"}],
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["all"]},
                                "readOnlyRootFilesystem": True,
                            },
                            "volumeMounts": [
                                {"name": "home", "mountPath": "/mnt/home", "readOnly": False}
                            ],
                        }
                    ],
                    "volumes": [
                        {
                            "name": "home",
                            "nfs": {
                                "server": "10.0.0.5",
                                "path": "/exports/home",
                                "readOnly": False,
                            },
                        }
                    ],
                },
            }
        },
    }
    assert build_fileserver(make_config(fileserver_data()), wombat()).pvcs == []


def test_pvc_volumes_get_a_per_user_claim_and_extra_annotations_reach_job_and_pod() -> None:
    data = fileserver_data(
        volumeMounts=[{"containerPath": "/scratch", "volumeName": "scratch", "readOnly": True}],
        extraAnnotations={"example.org/team": "sqre"},
        resources={
            "limits": {"cpu": 1, "memory": "1Gi"},
            "requests": {"cpu": 0.1, "memory": "128Mi"},
        },
    )
    objects = build_fileserver(make_config(data), wombat())
    assert [dump(pvc) for pvc in objects.pvcs] == [
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {
                "name": "wombat-fs-pvc-scratch",
                "namespace": "fileservers",
                "labels": STD_LABELS,
                "annotations": ARGOCD,
            },
            "spec": {
                "storageClassName": "standard-rwx",
                "accessModes": ["ReadWriteMany"],
                "resources": {"requests": {"storage": "10Gi"}},
            },
        }
    ]
    job = dump(objects.job)
    assert job["metadata"]["annotations"] == {**ARGOCD, "example.org/team": "sqre"}
    pod = job["spec"]["template"]
    assert pod["metadata"]["annotations"] == {"example.org/team": "sqre"}
    container = pod["spec"]["containers"][0]
    assert container["volumeMounts"] == [
        {"name": "scratch", "mountPath": "/mnt/scratch", "readOnly": True}
    ]
    assert container["resources"] == {
        "limits": {"cpu": "1.0", "memory": str(1024**3)},
        "requests": {"cpu": "0.1", "memory": str(128 * 1024**2)},
    }
    assert pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == (
        "wombat-fs-pvc-scratch"
    )


def test_a_user_without_uid_or_gid_gets_no_file_server() -> None:
    config = make_config(fileserver_data())
    with pytest.raises(FileserverIdentityError):
        build_fileserver(config, UserInfo(username="carol", gid=10))
    with pytest.raises(FileserverIdentityError):
        build_fileserver(config, UserInfo(username="carol", uid=10))


def test_each_build_makes_new_objects() -> None:
    config = make_config(fileserver_data())
    first = build_fileserver(config, wombat())
    first.job.spec.template.spec.containers[0].volume_mounts[0].read_only = True  # type: ignore[union-attr]
    first.gafaelfawr_ingress["config"]["scopes"]["all"].append("exec:admin")
    second = build_fileserver(config, wombat())
    assert second.job.spec.template.spec.containers[0].volume_mounts[0].read_only is False  # type: ignore[union-attr]
    assert second.gafaelfawr_ingress["config"]["scopes"] == {"all": ["write:files"]}


def test_the_file_server_runs_fileserver_image_when_set_and_the_helper_image_otherwise() -> None:
    data = fileserver_data()
    default = build_fileserver(make_config(data), wombat()).job.spec.template.spec.containers[0]
    assert default.image == "ghcr.io/lsst-sqre/nublado:15.1.0"
    data["fileserverImage"] = {
        "repository": "ghcr.io/lsst-sqre/worblehat",
        "tag": "0.3.0",
        "pullPolicy": "Always",
    }
    own = build_fileserver(make_config(data), wombat()).job.spec.template.spec.containers[0]
    assert own.image == "ghcr.io/lsst-sqre/worblehat:0.3.0"
    assert own.image_pull_policy == "Always"
    assert own.command == ["/usr/local/bin/worblehat"]
