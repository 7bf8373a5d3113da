"""Minimal valid objects of every kind, for the end-to-end tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubernetes.client import (
    CoreV1Event,
    V1ConfigMap,
    V1Container,
    V1Ingress,
    V1IngressSpec,
    V1Job,
    V1JobSpec,
    V1LabelSelector,
    V1Namespace,
    V1NetworkPolicy,
    V1NetworkPolicySpec,
    V1Node,
    V1ObjectMeta,
    V1ObjectReference,
    V1PersistentVolumeClaim,
    V1PersistentVolumeClaimSpec,
    V1Pod,
    V1PodSpec,
    V1PodTemplateSpec,
    V1ResourceQuota,
    V1ResourceQuotaSpec,
    V1Secret,
    V1Service,
    V1ServiceAccount,
    V1ServicePort,
    V1ServiceSpec,
    V1VolumeResourceRequirements,
)

LABELS = {"nublado.lsst.io/category": "lab", "nublado.lsst.io/user": "wombat"}


def meta(name: str, labels: dict[str, str] | None = None) -> V1ObjectMeta:
    return V1ObjectMeta(name=name, labels=dict(LABELS if labels is None else labels))


def pod_spec() -> V1PodSpec:
    return V1PodSpec(containers=[V1Container(name="main", image="example/lab:1")])


def namespace(name: str, labels: dict[str, str] | None = None) -> V1Namespace:
    return V1Namespace(metadata=meta(name, labels))


def pod(name: str, labels: dict[str, str] | None = None) -> V1Pod:
    return V1Pod(metadata=meta(name, labels), spec=pod_spec())


def gafaelfawr_ingress(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": dict(LABELS if labels is None else labels)},
        "config": {"baseUrl": "https://example.org", "scopes": {"all": ["exec:notebook"]}},
        "template": {"metadata": {"name": name}, "spec": {"rules": []}},
    }


NAMESPACED: dict[str, Callable[[str], Any]] = {
    "pods": pod,
    "services": lambda n: V1Service(
        metadata=meta(n), spec=V1ServiceSpec(ports=[V1ServicePort(port=8888)])
    ),
    "config_maps": lambda n: V1ConfigMap(metadata=meta(n), data={"k": "v"}),
    "secrets": lambda n: V1Secret(metadata=meta(n), data={"token": "c2VjcmV0"}),
    "persistent_volume_claims": lambda n: V1PersistentVolumeClaim(
        metadata=meta(n),
        spec=V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"],
            resources=V1VolumeResourceRequirements(requests={"storage": "1Gi"}),
        ),
    ),
    "resource_quotas": lambda n: V1ResourceQuota(
        metadata=meta(n), spec=V1ResourceQuotaSpec(hard={"limits.cpu": "4"})
    ),
    "network_policies": lambda n: V1NetworkPolicy(
        metadata=meta(n), spec=V1NetworkPolicySpec(pod_selector=V1LabelSelector())
    ),
    "ingresses": lambda n: V1Ingress(metadata=meta(n), spec=V1IngressSpec()),
    "jobs": lambda n: V1Job(
        metadata=meta(n),
        spec=V1JobSpec(template=V1PodTemplateSpec(spec=pod_spec())),
    ),
    "events": lambda n: CoreV1Event(
        metadata=meta(n),
        involved_object=V1ObjectReference(kind="Pod", name="somepod"),
        message="hello",
        reason="Test",
    ),
    "service_accounts": lambda n: V1ServiceAccount(metadata=meta(n)),
    "gafaelfawr_ingresses": gafaelfawr_ingress,
}

CLUSTER: dict[str, Callable[[str], Any]] = {
    "namespaces": namespace,
    "nodes": lambda n: V1Node(metadata=meta(n)),
}


def name_of(obj: Any) -> str:
    if isinstance(obj, dict):
        return str(obj["metadata"]["name"])
    return str(obj.metadata.name)


def labels_of(obj: Any) -> dict[str, str]:
    if isinstance(obj, dict):
        return dict(obj["metadata"].get("labels") or {})
    return dict(obj.metadata.labels or {})
