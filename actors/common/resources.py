"""Lab resources: from a configured size, and their renderings in objects and env.

Number formatting is part of the contract with the lab image and with reconciliation, which
parses these strings back: CPU is a Python float (``1.0``, ``0.25``) and memory a whole number
of bytes (``3221225472``), never Kubernetes suffixes.
"""

from __future__ import annotations

import functools

from kubernetes.client import V1ResourceRequirements

from actors.config import LabSize, Resources, SizeConfig

from .models import LabResources, ResourceQuantity

__all__ = [
    "MEMORY_TO_TMP_SIZE_RATIO",
    "configured_resources",
    "container_resources",
    "container_size_label",
    "format_cpu",
    "format_memory",
    "format_memory_compact",
    "size_resources",
    "tmp_size_limit",
]

MEMORY_TO_TMP_SIZE_RATIO = 4.0
"""``/tmp`` may hold at most a quarter of the lab's memory limit."""


def format_cpu(cores: float) -> str:
    """Cores as a Python float string: ``2`` → ``"2.0"``, ``0.25`` → ``"0.25"``."""
    return repr(float(cores))


def format_memory(amount: int) -> str:
    """Bytes as a plain decimal integer string."""
    return str(int(amount))


_BINARY_UNITS = (("Ti", 1024**4), ("Gi", 1024**3), ("Mi", 1024**2), ("Ki", 1024))


def format_memory_compact(amount: int) -> str:
    """Bytes for people: the largest binary unit giving at least 1 (``3Gi``, ``1.5Gi``).

    Up to two decimals, trailing zeros dropped; below 1 KiB, plain bytes.
    """
    for suffix, factor in _BINARY_UNITS:
        if amount >= factor:
            number = f"{amount / factor:.2f}".rstrip("0").rstrip(".")
            return f"{number}{suffix}"
    return str(amount)


def size_resources(size_config: SizeConfig) -> LabResources:
    """The lab resources of a configured size.

    One frozen instance per set of amounts, shared by every lab of that size: a lab state
    holds thousands of copies of the same three models otherwise.
    """
    resources = size_config.resources
    return lab_resources(
        resources.limits.cpu,
        resources.limits.memory,
        resources.requests.cpu,
        resources.requests.memory,
    )


@functools.lru_cache(maxsize=64)
def lab_resources(
    limit_cpu: float, limit_memory: int, request_cpu: float, request_memory: int
) -> LabResources:
    """The (shared, frozen) lab resources with these amounts."""
    return LabResources(
        limits=ResourceQuantity(cpu=limit_cpu, memory=limit_memory),
        requests=ResourceQuantity(cpu=request_cpu, memory=request_memory),
    )


def container_resources(resources: LabResources) -> V1ResourceRequirements:
    """Container ``resources`` block; the lab and every init container get the same."""
    return V1ResourceRequirements(
        limits=_quantities(resources.limits), requests=_quantities(resources.requests)
    )


def _quantities(amounts: ResourceQuantity) -> dict[str, str]:
    return {"cpu": format_cpu(amounts.cpu), "memory": format_memory(amounts.memory)}


def container_size_label(size: LabSize, resources: LabResources) -> str:
    """``CONTAINER_SIZE``: ``"Medium (2.0 CPU, 6Gi RAM)"`` from the size and its limits."""
    cpu = format_cpu(resources.limits.cpu)
    memory = format_memory_compact(resources.limits.memory)
    return f"{size.value.title()} ({cpu} CPU, {memory} RAM)"


def tmp_size_limit(resources: LabResources) -> str:
    """``sizeLimit`` of the ``/tmp`` emptyDir: the memory limit divided by four, in bytes."""
    return str(int(resources.limits.memory / MEMORY_TO_TMP_SIZE_RATIO))


def configured_resources(resources: Resources | None) -> V1ResourceRequirements | None:
    """The container ``resources`` of a controller pod from a configured ``Resources`` block
    (file servers, fsadmin, migrator), rendered as lab resources are so that all controller
    pods read alike; ``None`` (omitted) when nothing is configured."""
    if resources is None:
        return None
    return container_resources(
        LabResources(
            limits=ResourceQuantity(cpu=resources.limits.cpu, memory=resources.limits.memory),
            requests=ResourceQuantity(cpu=resources.requests.cpu, memory=resources.requests.memory),
        )
    )
