"""Reading a lab's state back from its objects (§2.18), and the builder's purity."""

from __future__ import annotations

import json

import pytest
from kubernetes.client import V1ObjectMeta, V1PodStatus, V1ResourceQuota, V1ResourceQuotaSpec

from actors.common.models import LabResources, LabState, LabStatus, ResourceQuantity
from actors.config import LabSize
from actors.labs.builder import (
    IncompleteLabError,
    LabObjects,
    parse_lab_state,
    reconstruct_lab_state,
    size_resources,
)

from .examples import MEDIUM, build_example, dump, make_config, wombat, wombat_request

# The reconstructed state of §13, transcribed from the specification.
SPEC_STATE = {
    "user": {
        "username": "wombat",
        "name": "Wendy Ombat",
        "uid": 4242,
        "gid": 4242,
        "groups": [
            {"name": "wombat", "id": 4242},
            {"name": "g-astro", "id": 70001},
            {"name": "g-crew", "id": 70002},
        ],
    },
    "options": {
        "image": "lighthouse.ceres/library/sketchbook:w_2077_43@sha256:5678",
        "size": "medium",
        "enable_debug": False,
        "reset_user_env": False,
    },
    "status": "running",
    "internal_url": "http://lab.nublado-wombat:8888/nb/user/wombat/",
    "resources": {
        "limits": {"cpu": 2.0, "memory": 6442450944},
        "requests": {"cpu": 0.5, "memory": 1610612736},
    },
    "quota": {"cpu": 8.0, "memory": 25769803776},
}


def observe(objects: LabObjects, phase: str = "Running") -> LabState | None:
    """What reconciliation sees: the built objects as the API would return them."""
    pod = objects.pod.model_copy(deep=True)
    pod.status = V1PodStatus(phase=phase)
    return parse_lab_state(
        make_config(), "nublado-wombat", objects.env_config_map, pod, objects.quota
    )


def test_worked_example_state_is_recovered() -> None:
    state = observe(build_example())
    assert state is not None
    assert state.model_dump(mode="json") == SPEC_STATE


def test_flags_and_null_name_survive_the_round_trip() -> None:
    request = wombat_request(wombat(name=None, quota=False), enable_debug=True, reset_user_env=True)
    state = observe(build_example(request=request), phase="Pending")
    assert state is not None
    assert state.options.enable_debug is True
    assert state.options.reset_user_env is True
    assert state.user.name is None
    assert state.quota is None
    assert state.status is LabStatus.PENDING


def test_resources_matching_no_size_are_custom() -> None:
    odd = LabResources(
        limits=ResourceQuantity(cpu=3.0, memory=6 * 1024**3),
        requests=ResourceQuantity(cpu=0.5, memory=1536 * 1024**2),
    )
    state = observe(build_example(request=wombat_request(resources=odd)))
    assert state is not None
    assert state.options.size is LabSize.CUSTOM
    assert state.resources == odd


def test_size_resources_of_the_configured_size() -> None:
    size = make_config().lab.size(LabSize.MEDIUM)
    assert size is not None
    assert size_resources(size) == MEDIUM


@pytest.mark.parametrize(("phase", "status"), [("Succeeded", "terminated"), ("Unknown", "failed")])
def test_pod_phase_decides_the_status(phase: str, status: str) -> None:
    state = observe(build_example(), phase=phase)
    assert state is not None
    assert state.status == status


def test_quota_in_canonical_quantities_is_understood() -> None:
    objects = build_example()
    quota = V1ResourceQuota(
        metadata=V1ObjectMeta(name="wombat-nb"),
        spec=V1ResourceQuotaSpec(hard={"limits.cpu": "8", "limits.memory": "24Gi"}),
    )
    state = parse_lab_state(
        make_config(), "nublado-wombat", objects.env_config_map, objects.pod, quota
    )
    assert state is not None
    assert state.quota == ResourceQuantity(cpu=8.0, memory=24 * 1024**3)


def incomplete_reason(objects: LabObjects, namespace: str = "nublado-wombat") -> str:
    config = make_config()
    pod, env, quota = objects.pod, objects.env_config_map, objects.quota
    assert parse_lab_state(config, namespace, env, pod, quota) is None
    with pytest.raises(IncompleteLabError) as caught:
        reconstruct_lab_state(config, namespace, env, pod, quota)
    return caught.value.reason


def test_missing_objects_make_the_lab_incomplete() -> None:
    config, objects = make_config(), build_example()
    with pytest.raises(IncompleteLabError, match="wombat-nb-env missing"):
        reconstruct_lab_state(config, "nublado-wombat", None, objects.pod, None)
    with pytest.raises(IncompleteLabError, match="Pod wombat-nb missing"):
        reconstruct_lab_state(config, "nublado-wombat", objects.env_config_map, None, None)
    assert parse_lab_state(config, "nublado-wombat", None, None, None) is None


def test_namespace_outside_the_prefix_is_not_a_lab() -> None:
    assert "does not start with nublado-" in incomplete_reason(build_example(), "other-wombat")


def test_missing_service_prefix_is_incomplete() -> None:
    objects = build_example()
    assert objects.env_config_map.data is not None
    del objects.env_config_map.data["JUPYTERHUB_SERVICE_PREFIX"]
    assert "JUPYTERHUB_SERVICE_PREFIX" in incomplete_reason(objects)


def test_unparseable_resources_are_incomplete() -> None:
    objects = build_example()
    assert objects.env_config_map.data is not None
    objects.env_config_map.data["MEM_LIMIT"] = "6Gi"
    assert "MEM_LIMIT" in incomplete_reason(objects)


def test_pod_without_notebook_identity_is_incomplete() -> None:
    objects = build_example()
    assert objects.pod.spec is not None
    security = objects.pod.spec.containers[0].security_context
    assert security is not None
    security.run_as_group = None
    assert "runAsGroup" in incomplete_reason(objects)
    objects.pod.spec.containers[0].name = "lab"
    assert "no notebook container" in incomplete_reason(objects)


def test_malformed_groups_annotation_is_incomplete() -> None:
    objects = build_example()
    assert objects.pod.metadata is not None
    assert objects.pod.metadata.annotations is not None
    objects.pod.metadata.annotations["nublado.lsst.io/user-groups"] = '[{"name": "x"}]'
    assert "user-groups" in incomplete_reason(objects)


def test_missing_groups_annotation_means_no_groups() -> None:
    objects = build_example()
    assert objects.pod.metadata is not None
    assert objects.pod.metadata.annotations is not None
    del objects.pod.metadata.annotations["nublado.lsst.io/user-groups"]
    state = observe(objects)
    assert state is not None
    assert state.user.groups == []


def test_building_never_changes_its_inputs() -> None:
    config = make_config()
    request = wombat_request()
    before = json.dumps(config.model_dump(mode="json"), sort_keys=True)
    first = build_example(config=config, request=request)
    # Mutating one lab's objects must not leak into the configuration or the next lab.
    assert first.pod.spec is not None
    assert first.pod.spec.containers[0].volume_mounts is not None
    first.pod.spec.containers[0].volume_mounts[0].read_only = True
    assert first.env_config_map.data is not None
    first.env_config_map.data["API_ROUTE"] = "/changed"
    second = build_example(config=config, request=request)
    assert json.dumps(config.model_dump(mode="json"), sort_keys=True) == before
    assert config.lab.volume_mounts[0].read_only is False
    assert request.env == wombat_request().env
    assert dump(second.pod) == dump(build_example().pod)
    assert dump(second.env_config_map)["data"]["API_ROUTE"] == "/api"
