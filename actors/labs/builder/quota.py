"""The ``<user>-nb`` ResourceQuota: the user's notebook quota over the whole namespace (§2.9).

It caps the lab and any worker pods the user starts in the lab namespace together. Only
limits are constrained, in the same number formats as the lab environment.
"""

from __future__ import annotations

from kubernetes.client import V1ResourceQuota, V1ResourceQuotaSpec

from actors.common.labels import Category, standard_metadata
from actors.common.models import NotebookQuota
from actors.common.naming import lab_object_name
from actors.common.resources import format_cpu, format_memory
from actors.config import LabConfig

__all__ = ["QUOTA_CPU_KEY", "QUOTA_MEMORY_KEY", "lab_quota"]

QUOTA_CPU_KEY = "limits.cpu"
QUOTA_MEMORY_KEY = "limits.memory"


def lab_quota(
    lab: LabConfig, *, namespace: str, username: str, quota: NotebookQuota | None
) -> V1ResourceQuota | None:
    """The quota object, or ``None`` when the user has no notebook quota."""
    if quota is None:
        return None
    metadata = standard_metadata(
        lab_object_name(username),
        namespace=namespace,
        category=Category.LAB,
        username=username,
        application=lab.application,
    )
    hard = {
        QUOTA_CPU_KEY: format_cpu(quota.cpu),
        QUOTA_MEMORY_KEY: format_memory(quota.memory_bytes),
    }
    return V1ResourceQuota(
        api_version="v1",
        kind="ResourceQuota",
        metadata=metadata,
        spec=V1ResourceQuotaSpec(hard=hard),
    )
