"""Human renderings of lab resources (size labels on the form and in ``CONTAINER_SIZE``)."""

from __future__ import annotations

import pytest

from actors.common.models import LabResources, ResourceQuantity
from actors.common.resources import container_size_label, format_memory_compact
from actors.config import LabSize

GIB = 1024**3


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (3 * GIB, "3Gi"),
        (768 * 1024**2, "768Mi"),
        (int(1.5 * GIB), "1.5Gi"),
        (int(0.75 * GIB), "768Mi"),
        (2 * 1024**4, "2Ti"),
        (1000, "1000"),
        (int(1.333 * GIB), "1.33Gi"),
    ],
)
def test_memory_uses_the_largest_unit_that_gives_at_least_one(amount: int, text: str) -> None:
    assert format_memory_compact(amount) == text


def test_size_label_names_size_cpu_and_memory_limits() -> None:
    resources = LabResources(
        limits=ResourceQuantity(cpu=2, memory=6 * GIB),
        requests=ResourceQuantity(cpu=0.5, memory=GIB),
    )
    assert container_size_label(LabSize.MEDIUM, resources) == "Medium (2.0 CPU, 6Gi RAM)"
