"""Container resources from a configured ``Resources`` block (file servers, fsadmin, migrator).

Rendered exactly as lab resources are (CPU as a float string, memory in bytes), by going
through the lab builder's own formatting, so all controller pods read alike.
"""

from __future__ import annotations

from kubernetes.client import V1ResourceRequirements

from actors.config import Resources
from actors.labs.builder.resources import container_resources
from actors.labs.models import LabResources, ResourceQuantity

__all__ = ["configured_resources"]


def configured_resources(resources: Resources | None) -> V1ResourceRequirements | None:
    """The container ``resources`` block, or ``None`` (omitted) when nothing is configured."""
    if resources is None:
        return None
    return container_resources(
        LabResources(
            limits=ResourceQuantity(cpu=resources.limits.cpu, memory=resources.limits.memory),
            requests=ResourceQuantity(cpu=resources.requests.cpu, memory=resources.requests.memory),
        )
    )
