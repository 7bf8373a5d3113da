"""The lab pod and the objects around it: PVC rules, init containers, volumes, scheduling."""

from __future__ import annotations

from typing import Any

from actors.labs.builder import LabObjects

from .examples import build_example, dump, make_config, wombat, wombat_request, worked_example_data

PVC_SOURCE = {
    "type": "persistentVolumeClaim",
    "storageClassName": "fast",
    "accessModes": ["ReadWriteMany"],
    "resources": {"requests": {"storage": "1Gi"}},
}


def build(lab_changes: dict[str, Any], **request_options: Any) -> LabObjects:
    data = worked_example_data()
    data["lab"].update(lab_changes)
    return build_example(config=make_config(data), request=wombat_request(**request_options))


def spec(objects: LabObjects) -> dict[str, Any]:
    result: dict[str, Any] = dump(objects.pod)["spec"]
    return result


def init_names(objects: LabObjects) -> list[str]:
    return [container["name"] for container in spec(objects).get("initContainers", [])]


def init_container(objects: LabObjects, name: str) -> dict[str, Any]:
    return next(c for c in spec(objects)["initContainers"] if c["name"] == name)


def names(objects: list[Any]) -> list[str]:
    return [dump(obj)["metadata"]["name"] for obj in objects]


def test_pvcs_for_volumes_mounted_by_the_lab_or_an_init_container_only() -> None:
    objects = build(
        {
            "volumes": [
                {"name": "home", "source": {"type": "nfs", "server": "s", "serverPath": "/h"}},
                {"name": "unused", "source": PVC_SOURCE},
                {"name": "init-only", "source": PVC_SOURCE},
                {"name": "lab-pvc", "source": PVC_SOURCE},
            ],
            "volumeMounts": [
                {"containerPath": "/home", "volumeName": "home"},
                {"containerPath": "/data", "volumeName": "lab-pvc"},
            ],
            "initContainers": [
                {
                    "name": "setup",
                    "image": {"repository": "example/setup", "tag": "1"},
                    "volumeMounts": [{"containerPath": "/seed", "volumeName": "init-only"}],
                }
            ],
        }
    )
    # Configuration order, not mount order; NFS volumes need no claim.
    assert names(objects.pvcs) == ["wombat-nb-pvc-init-only", "wombat-nb-pvc-lab-pvc"]
    # The pod still lists every configured volume, the unmounted one included.
    volume_names = [volume["name"] for volume in spec(objects)["volumes"]]
    assert volume_names[:4] == ["home", "unused", "init-only", "lab-pvc"]


def test_pod_volumes_in_specification_order() -> None:
    assert [volume["name"] for volume in spec(build_example())["volumes"]] == [
        "home",
        "scratch",
        "passwd",
        "group",
        "lsst-dask-yml",
        "discovery-v1-json",
        "secrets",
        "env",
        "tmp",
        "runtime",
        "lab-startup",
    ]


def test_tmp_is_memory_backed_with_a_quarter_of_the_memory_limit() -> None:
    volumes = {volume["name"]: volume for volume in spec(build_example())["volumes"]}
    assert volumes["tmp"]["emptyDir"] == {"medium": "Memory", "sizeLimit": str(6 * 1024**3 // 4)}


def test_tmp_on_disk_when_configured_but_startup_area_stays_in_memory() -> None:
    objects = build({"emptyDirSource": "disk"})
    volumes = {volume["name"]: volume for volume in spec(objects)["volumes"]}
    assert volumes["tmp"]["emptyDir"] == {"sizeLimit": "1610612736"}
    assert volumes["lab-startup"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "655360"}


def test_source_read_only_forces_read_only_mounts() -> None:
    objects = build(
        {
            "volumes": [
                {
                    "name": "home",
                    "source": {"type": "nfs", "server": "s", "serverPath": "/h", "readOnly": True},
                },
                {"name": "project", "source": {"type": "hostPath", "path": "/project"}},
            ],
            "volumeMounts": [
                {"containerPath": "/home", "volumeName": "home", "readOnly": False},
                {
                    "containerPath": "/project",
                    "volumeName": "project",
                    "subPath": "shared",
                    "readOnly": True,
                },
            ],
        }
    )
    mounts = spec(objects)["containers"][0]["volumeMounts"][:2]
    assert mounts == [
        {"name": "home", "mountPath": "/home", "readOnly": True},
        {"name": "project", "mountPath": "/project", "subPath": "shared", "readOnly": True},
    ]
    volumes = spec(objects)["volumes"][:2]
    assert volumes == [
        {"name": "home", "nfs": {"server": "s", "path": "/h", "readOnly": True}},
        {"name": "project", "hostPath": {"path": "/project"}},
    ]


def test_init_containers_in_order() -> None:
    objects = build(
        {
            "env": {"RSP_SITE_TYPE": "science"},
            "initContainers": [
                {"name": "first", "image": {"repository": "example/a", "tag": "1"}},
                {"name": "second", "image": {"repository": "example/b", "tag": "2"}},
            ],
        }
    )
    assert init_names(objects) == [
        "nublado-std-inithome",
        "first",
        "second",
        "nublado-std-landingpage",
        "nublado-std-startup",
    ]


def test_without_standard_inithome_or_science_site_only_startup_runs() -> None:
    objects = build({"standardInithome": False, "env": {"RSP_SITE_TYPE": "staff"}})
    assert init_names(objects) == ["nublado-std-startup"]


def test_landing_page_sees_the_full_init_mount_list_as_the_user() -> None:
    objects = build({"env": {"RSP_SITE_TYPE": "science"}})
    landing = init_container(objects, "nublado-std-landingpage")
    startup = init_container(objects, "nublado-std-startup")
    assert landing["command"] == ["nublado", "landingpage"]
    assert landing["image"] == "ghcr.io/lsst-sqre/nublado:15.1.0"
    assert landing["volumeMounts"] == startup["volumeMounts"]
    assert landing["securityContext"] == startup["securityContext"]
    assert landing["securityContext"]["runAsUser"] == 4242
    # No tokens for the landing page: only the startup container gets them.
    assert [variable["name"] for variable in landing["env"]] == [
        "NUBLADO_HOME",
        "NUBLADO_UID",
        "NUBLADO_GID",
    ]


def test_inithome_mounts_only_the_home_volume() -> None:
    objects = build(
        {
            "homeVolumeName": "homes",
            "volumes": [
                {"name": "homes", "source": {"type": "nfs", "server": "s", "serverPath": "/h"}},
                {"name": "data", "source": {"type": "hostPath", "path": "/data"}},
            ],
            "volumeMounts": [
                {"containerPath": "/data", "volumeName": "data"},
                {"containerPath": "/home", "volumeName": "homes"},
                {"containerPath": "/u/home", "volumeName": "homes", "subPath": "u"},
            ],
        }
    )
    assert init_container(objects, "nublado-std-inithome")["volumeMounts"] == [
        {"name": "homes", "mountPath": "/home", "readOnly": False},
        {"name": "homes", "mountPath": "/u/home", "subPath": "u", "readOnly": False},
    ]


def test_configured_init_containers_security_and_own_mounts() -> None:
    objects = build(
        {
            "initContainers": [
                {
                    "name": "as-root",
                    "image": {"repository": "example/root", "tag": "1.4", "pullPolicy": "Always"},
                    "command": ["/bin/fix-perms", "--all"],
                    "privileged": True,
                    "volumeMounts": [{"containerPath": "/scratch", "volumeName": "scratch"}],
                },
                {"name": "as-user", "image": {"repository": "example/user", "tag": "2"}},
            ]
        }
    )
    as_root = init_container(objects, "as-root")
    assert as_root["image"] == "example/root:1.4"
    assert as_root["imagePullPolicy"] == "Always"
    assert as_root["command"] == ["/bin/fix-perms", "--all"]
    assert as_root["securityContext"] == {
        "allowPrivilegeEscalation": True,
        "privileged": True,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": False,
        "runAsUser": 0,
    }
    assert as_root["volumeMounts"] == [
        {"name": "scratch", "mountPath": "/scratch", "readOnly": False}
    ]
    assert as_root["envFrom"] == [{"configMapRef": {"name": "wombat-nb-env"}}]
    assert as_root["resources"] == spec(objects)["containers"][0]["resources"]
    as_user = init_container(objects, "as-user")
    assert "command" not in as_user
    assert as_user["volumeMounts"] == []
    assert as_user["securityContext"]["runAsNonRoot"] is True
    assert as_user["securityContext"]["capabilities"] == {"drop": ["all"]}
    assert (as_user["securityContext"]["runAsUser"], as_user["securityContext"]["runAsGroup"]) == (
        4242,
        4242,
    )


DEDICATED = {"key": "gpu", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 60}
ZONE_A = {"key": "zone", "operator": "In", "values": ["a"]}


def test_scheduling_settings_are_copied() -> None:
    objects = build(
        {
            "nodeSelector": {"disktype": "ssd"},
            "tolerations": [
                DEDICATED,
                {"operator": "Exists"},
            ],
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [{"matchExpressions": [ZONE_A]}]
                    }
                }
            },
        }
    )
    pod_spec = spec(objects)
    assert pod_spec["nodeSelector"] == {"disktype": "ssd"}
    assert pod_spec["tolerations"] == [DEDICATED, {"operator": "Exists"}]
    node_affinity = pod_spec["affinity"]["nodeAffinity"]
    required = node_affinity["requiredDuringSchedulingIgnoredDuringExecution"]
    assert required["nodeSelectorTerms"][0]["matchExpressions"] == [ZONE_A]


def test_no_scheduling_settings_means_no_fields_but_a_toleration_list() -> None:
    pod_spec = spec(build({"tolerations": []}))
    assert "affinity" not in pod_spec
    assert "nodeSelector" not in pod_spec
    assert pod_spec["tolerations"] == []


def test_pod_annotations_null_name_and_extra_annotations() -> None:
    objects = build(
        {"extraAnnotations": {"example.org/team": "astro", "nublado.lsst.io/user-groups": "[]"}},
        user=wombat(name=None),
    )
    annotations = dump(objects.pod)["metadata"]["annotations"]
    assert "nublado.lsst.io/user-name" not in annotations
    assert annotations["example.org/team"] == "astro"
    assert annotations["nublado.lsst.io/user-groups"] == "[]"


def test_quota_only_when_the_user_has_a_notebook_quota() -> None:
    objects = build({}, user=wombat(quota=False))
    assert objects.quota is None
    assert "ResourceQuota" not in [dump(obj)["kind"] for obj in objects.namespaced_objects()]


def test_namespaced_objects_in_creation_order() -> None:
    objects = build_example()
    kinds_and_names = [
        (dump(obj)["kind"], dump(obj)["metadata"]["name"]) for obj in objects.namespaced_objects()
    ]
    assert kinds_and_names == [
        ("PersistentVolumeClaim", "wombat-nb-pvc-scratch"),
        ("ConfigMap", "wombat-nb-env"),
        ("ConfigMap", "wombat-nb-nss"),
        ("ConfigMap", "wombat-nb-files"),
        ("Secret", "wombat-nb"),
        ("Secret", "pull-secret"),
        ("ResourceQuota", "wombat-nb"),
        ("NetworkPolicy", "wombat-nb"),
        ("Service", "lab"),
    ]
    namespaces = {dump(obj)["metadata"]["namespace"] for obj in objects.namespaced_objects()}
    assert namespaces == {"nublado-wombat"}


def test_no_application_means_no_argocd_instance_label() -> None:
    data = worked_example_data()
    del data["lab"]["application"]
    objects = build_example(config=make_config(data))
    for obj in [objects.namespace, objects.pod, *objects.namespaced_objects()]:
        assert dump(obj)["metadata"]["labels"] == {
            "nublado.lsst.io/category": "lab",
            "nublado.lsst.io/user": "wombat",
        }
