"""Scheduling settings from the configuration as Kubernetes models (any pod family).

The configuration models use Kubernetes' own key spelling, so converting is a dump by alias
followed by validation into the Kubernetes model; this keeps the configuration the single
source of truth for what is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable

from kubernetes.client import V1Affinity, V1Toleration

from actors.config import Affinity, Toleration

__all__ = ["kubernetes_affinity", "kubernetes_tolerations"]


def kubernetes_affinity(affinity: Affinity | None) -> V1Affinity | None:
    """The configured affinity as a ``V1Affinity`` (``None`` stays ``None``)."""
    if affinity is None:
        return None
    data = affinity.model_dump(mode="json", by_alias=True, exclude_none=True)
    return V1Affinity.model_validate(data)


def kubernetes_tolerations(tolerations: Iterable[Toleration]) -> list[V1Toleration]:
    """The configured tolerations, in order; unset fields are left out."""
    return [
        V1Toleration(
            effect=toleration.effect.value if toleration.effect is not None else None,
            key=toleration.key,
            operator=toleration.operator.value,
            value=toleration.value,
            toleration_seconds=toleration.toleration_seconds,
        )
        for toleration in tolerations
    ]
