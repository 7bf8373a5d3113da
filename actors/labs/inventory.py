"""The Kubernetes objects of one user's lab, as the admin dashboard lists them.

Read on demand (one list per kind in the lab's namespace, concurrently, under one deadline):
the dashboard asks when an operator opens a lab, never on a timer, so the controller's
steady-state requests to the API server do not grow with the number of open dashboards.
Only names, phases and creation times are kept: secrets' contents never leave this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import trio

from actors.kube import KubeClient
from actors.kube.operations import NamespacedResource

__all__ = ["INVENTORY_TIMEOUT", "LabObject", "lab_objects"]

INVENTORY_TIMEOUT = 10.0
"""Deadline of all the reads for one lab."""


@dataclass(frozen=True)
class LabObject:
    """One object: its kind, name, phase (for kinds that have one) and creation time."""

    kind: str
    name: str
    phase: str | None
    created: str | None


def _describe(kind: str, obj: dict[str, Any]) -> LabObject:
    metadata = obj.get("metadata") or {}
    status = obj.get("status") or {}
    phase = status.get("phase") if isinstance(status, dict) else None
    if metadata.get("deletionTimestamp"):
        phase = "Terminating"
    return LabObject(
        kind=kind,
        name=str(metadata.get("name", "")),
        phase=str(phase) if phase else None,
        created=metadata.get("creationTimestamp"),
    )


async def lab_objects(kube: KubeClient, namespace: str) -> list[LabObject]:
    """The lab's namespace and what it contains, or ``[]`` when the namespace is gone."""
    kinds: list[tuple[str, NamespacedResource[Any]]] = [
        ("Pod", kube.pods),
        ("Service", kube.services),
        ("ConfigMap", kube.config_maps),
        ("Secret", kube.secrets),
        ("PersistentVolumeClaim", kube.persistent_volume_claims),
        ("ResourceQuota", kube.resource_quotas),
        ("NetworkPolicy", kube.network_policies),
    ]
    found: dict[str, list[LabObject]] = {}

    async def collect(kind: str, resource: NamespacedResource[Any]) -> None:
        items, _ = await resource.list_raw(namespace)
        found[kind] = sorted((_describe(kind, item) for item in items), key=lambda o: o.name)

    with trio.fail_after(INVENTORY_TIMEOUT):
        raw = await kube.namespaces.read_raw(None, namespace)
        if raw is None:
            return []
        async with trio.open_nursery() as nursery:
            for kind, resource in kinds:
                nursery.start_soon(collect, kind, resource)
    return [_describe("Namespace", raw)] + [obj for kind, _ in kinds for obj in found[kind]]
