"""fsadmin and migrator pods (``kubernetes-objects.md`` §4.2, §6.1), and quirk Q2.

Configuration: the §13 example with a read-only ``/data`` mount added to the lab, an extra
fsadmin volume (a PVC) and ``mountPrefix: /mnt``.
"""

from __future__ import annotations

from typing import Any

from actors.fsadmin.builder import build_fsadmin
from actors.migrator.builder import (
    build_migrator,
    migrator_pod_name,
    pair_of_pod,
    validate_pair,
)
from tests.labs.examples import build_example, dump, make_config, worked_example_data

ARGOCD = {
    "argocd.argoproj.io/compare-options": "IgnoreExtraneous",
    "argocd.argoproj.io/sync-options": "Prune=false",
}
PRIVILEGED = {
    "privileged": True,
    "runAsNonRoot": False,
    "runAsUser": 0,
    "runAsGroup": 0,
}


def admin_data() -> dict[str, Any]:
    data = worked_example_data()
    data["lab"]["volumes"].append(
        {"name": "data", "source": {"type": "hostPath", "path": "/datasets"}}
    )
    data["lab"]["volumeMounts"].append(
        {"containerPath": "/data", "volumeName": "data", "readOnly": True}
    )
    data["fsadmin"] = {
        "mountPrefix": "/mnt",
        "extraAnnotations": {"example.org/purpose": "admin"},
        "extraVolumes": [
            {
                "name": "archive",
                "source": {
                    "type": "persistentVolumeClaim",
                    "storageClassName": "cold",
                    "accessModes": ["ReadOnlyMany"],
                    "resources": {"requests": {"storage": "1Ti"}},
                },
            }
        ],
        "extraVolumeMounts": [{"containerPath": "/archive", "volumeName": "archive"}],
        "nodeSelector": {"disk": "fast"},
    }
    return data


def test_fsadmin_pod_mounts_everything_read_write_under_the_prefix() -> None:
    objects = build_fsadmin(make_config(admin_data()), "nublado")
    pod = dump(objects.pod)
    assert pod["metadata"] == {
        "name": "fsadmin",
        "namespace": "nublado",
        "labels": {"nublado.lsst.io/category": "fsadmin"},
        "annotations": {**ARGOCD, "example.org/purpose": "admin"},
    }
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Never"
    assert spec["securityContext"] == {"runAsNonRoot": False}
    assert spec["nodeSelector"] == {"disk": "fast"}
    assert spec["tolerations"] == []
    [container] = spec["containers"]
    assert container["name"] == "fsadmin"
    assert container["image"] == "ghcr.io/lsst-sqre/nublado:15.1.0"
    assert container["command"] == ["tail", "-f", "/dev/null"]
    assert container["securityContext"] == PRIVILEGED
    assert container["volumeMounts"] == [
        {"name": "home", "mountPath": "/mnt/home", "readOnly": False},
        {"name": "scratch", "mountPath": "/mnt/scratch", "readOnly": False},
        {"name": "data", "mountPath": "/mnt/data", "readOnly": False},
        {"name": "archive", "mountPath": "/mnt/archive", "readOnly": False},
    ]
    assert [v["name"] for v in spec["volumes"]] == ["home", "scratch", "data", "archive"]
    claims = {v["name"]: v.get("persistentVolumeClaim") for v in spec["volumes"]}
    assert claims["archive"] == {"claimName": "fsadmin-pvc-archive", "readOnly": False}
    # Quirk Q3 fixed: the extra volume's claim is created too.
    assert [dump(pvc)["metadata"]["name"] for pvc in objects.pvcs] == [
        "fsadmin-pvc-scratch",
        "fsadmin-pvc-archive",
    ]
    assert dump(objects.pvcs[0])["metadata"]["labels"] == {"nublado.lsst.io/category": "fsadmin"}


def _lab_mounts(config: Any) -> list[dict[str, Any]]:
    pod = dump(build_example(config).pod)
    return [m for m in pod["spec"]["containers"][0]["volumeMounts"] if m["name"] == "data"]


def test_building_fsadmin_or_a_migration_never_loosens_lab_mounts() -> None:
    """Quirk Q2: upstream made lab mounts writable after the first fsadmin build."""
    config = make_config(admin_data())
    before = dump(build_example(config).pod)
    assert _lab_mounts(config) == [{"name": "data", "mountPath": "/data", "readOnly": True}]
    fsadmin = build_fsadmin(config, "nublado")
    # Even editing what fsadmin built must not reach the configuration or later builds.
    for mount in fsadmin.pod.spec.containers[0].volume_mounts or []:  # type: ignore[union-attr]
        mount.read_only = False
        mount.mount_path = "/elsewhere"
    build_migrator(config, "nublado", "ada", "ada-quill")
    assert config.lab.volume_mounts[2].read_only is True
    assert _lab_mounts(config) == [{"name": "data", "mountPath": "/data", "readOnly": True}]
    assert dump(build_example(config).pod) == before
    again = dump(build_fsadmin(config, "nublado").pod)
    assert again["spec"]["containers"][0]["volumeMounts"][2]["mountPath"] == "/mnt/data"


def test_migration_pod_mounts_only_home_and_names_both_users() -> None:
    objects = build_migrator(make_config(admin_data()), "nublado", "ada", "ada-quill")
    pod = dump(objects.pod)
    assert pod["metadata"] == {
        "name": "migrator-ada-to-ada-quill",
        "namespace": "nublado",
        "labels": {"nublado.lsst.io/category": "migrator"},
        "annotations": {**ARGOCD, "example.org/purpose": "admin"},
    }
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Never"
    assert spec["volumes"] == [
        {"name": "home", "nfs": {"server": "10.0.0.5", "path": "/exports/home", "readOnly": False}}
    ]
    [container] = spec["containers"]
    assert container["name"] == "migrator-ada-to-ada-quill"
    assert container["command"] == ["nublado", "migrator"]
    assert container["securityContext"] == PRIVILEGED
    assert container["volumeMounts"] == [{"name": "home", "mountPath": "/home", "readOnly": False}]
    assert container["env"] == [
        {"name": "NUBLADO_OLD_USER", "value": "ada"},
        {"name": "NUBLADO_NEW_USER", "value": "ada-quill"},
        {"name": "NUBLADO_OLD_HOMEDIR", "value": "/home/ada"},
        {"name": "NUBLADO_NEW_HOMEDIR", "value": "/home/ada-quill"},
    ]
    assert objects.pvcs == []
    assert pair_of_pod(objects.pod) == ("ada", "ada-quill")


def test_migration_pairs_are_validated_as_the_spec_proposes() -> None:
    assert validate_pair("ada", "ada-quill") == []
    assert [f for f, _ in validate_pair("Ada", "bob")] == ["old_user"]
    assert [f for f, _ in validate_pair("ada", "ada--x")] == ["new_user"]
    assert [f for f, _ in validate_pair("1234", "bob")] == ["old_user"]
    assert [f for f, _ in validate_pair("ada", "ada")] == ["new_user"]
    long_name = "a" * 30
    assert len(migrator_pod_name(long_name, long_name + "b")) > 63
    assert [f for f, _ in validate_pair(long_name, long_name + "b")] == ["new_user"]


def test_pairs_whose_pod_name_would_be_ambiguous_are_refused() -> None:
    # Both would be called migrator-ab-to-to-cd.
    assert [f for f, _ in validate_pair("ab-to", "cd")] == ["new_user"]
    assert [f for f, _ in validate_pair("ab", "to-cd")] == ["new_user"]
    assert validate_pair("tom", "otto") == []
