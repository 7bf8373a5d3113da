"""Fixtures for end-to-end tests: see ``harness.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.harness import RunningController, running_controller


@pytest.fixture
async def nublado() -> AsyncIterator[RunningController]:
    """The controller serving on a fresh simulated site with instant pods."""
    async with running_controller() as running:
        yield running
