"""What one lab namespace means to reconciliation and to a restarted lab actor (pure)."""

from __future__ import annotations

from typing import Any

from kubernetes.client import V1PodStatus

from actors.common.labels import CATEGORY_LABEL, Category
from actors.common.models import LabStatus
from actors.labs.builder import LabObjects
from actors.labs.messages import Observation, ObservedKind
from actors.labs.reconcile import observe_lab

from .examples import build_example, make_config

LAB_LABELS = {CATEGORY_LABEL: Category.LAB.value}


def _observe(
    objects: LabObjects, namespace: dict[str, Any], *, pod: bool = True
) -> Observation | None:
    running = objects.pod.model_copy(deep=True)
    running.status = V1PodStatus(phase="Running")
    return observe_lab(
        make_config(),
        12.5,
        namespace=namespace,
        env=objects.env_config_map,
        pod=running if pod else None,
        quota=objects.quota,
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
