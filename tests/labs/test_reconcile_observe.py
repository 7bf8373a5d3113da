"""What one lab namespace means to reconciliation and to a restarted lab actor (pure).

The objects go through the informers' digests first (server JSON → facts), as they do in a
reconciliation pass: what the lab builder makes must be rebuilt from those few facts.
"""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client import V1PodStatus

from actors.common.labels import CATEGORY_LABEL, Category
from actors.common.models import LabStatus
from actors.kube.resources import CONFIG_MAPS, PODS, RESOURCE_QUOTAS
from actors.labs.builder import (
    LabObjects,
    UnreadableObjectError,
    env_facts,
    namespace_facts,
    pod_facts,
    quota_facts,
)
from actors.labs.messages import Observation, ObservedKind
from actors.labs.reconcile import observe_lab

from .examples import build_example, make_config

LAB_LABELS = {CATEGORY_LABEL: Category.LAB.value}


def _observe(
    objects: LabObjects, namespace: dict[str, Any], *, pod: bool = True
) -> Observation | None:
    running = objects.pod.model_copy(deep=True)
    running.status = V1PodStatus(phase="Running")
    env = env_facts(CONFIG_MAPS.encode(objects.env_config_map))
    assert env is not None
    assert objects.quota is not None
    return observe_lab(
        make_config(),
        12.5,
        namespace=namespace["name"],
        facts=namespace_facts({"metadata": namespace}),
        env=env,
        pod=pod_facts(PODS.encode(running)) if pod else None,
        quota=quota_facts(RESOURCE_QUOTAS.encode(objects.quota)),
    )


def test_a_complete_lab_reads_as_its_pod_says() -> None:
    observation = _observe(build_example(), {"name": "nublado-wombat", "labels": LAB_LABELS})
    assert observation is not None
    assert observation.kind is ObservedKind.COMPLETE
    assert observation.pass_started == 12.5
    assert observation.state is not None
    assert observation.state.status is LabStatus.RUNNING


def test_a_lab_in_a_terminating_namespace_reads_terminating_whatever_its_pod_says() -> None:
    namespace = {
        "name": "nublado-wombat",
        "labels": LAB_LABELS,
        "deletionTimestamp": "2031-02-14T09:12:44Z",
    }
    observation = _observe(build_example(), namespace)
    assert observation is not None
    assert observation.kind is ObservedKind.COMPLETE
    assert observation.state is not None
    assert observation.state.status is LabStatus.TERMINATING
    assert observation.state.internal_url is None


def test_leftovers_are_incomplete_only_in_a_namespace_labelled_as_a_labs() -> None:
    labelled = {"name": "nublado-wombat", "labels": LAB_LABELS}
    leftovers = _observe(build_example(), labelled, pod=False)
    assert leftovers is not None
    assert leftovers.kind is ObservedKind.INCOMPLETE
    assert _observe(build_example(), {"name": "nublado-wombat"}, pod=False) is None


def test_only_the_env_config_map_of_a_lab_has_env_facts() -> None:
    objects = build_example()
    others = [objects.nss_config_map, objects.files_config_map]
    assert all(env_facts(CONFIG_MAPS.encode(cm)) is None for cm in others)


def test_an_answer_that_is_no_kubernetes_object_is_never_read_as_an_incomplete_lab() -> None:
    garbage = {"metadata": "corrupted", "spec": "corrupted", "status": "corrupted"}
    for digest in (namespace_facts, env_facts, pod_facts, quota_facts):
        with pytest.raises(UnreadableObjectError):
            digest(garbage)
