"""Shared fixtures for kubesim tests (also used by the Kubernetes-client tests).

``kubesim``: a :class:`kubesim.site.Site` served in-process on 127.0.0.1 (port 0) for the
duration of one test; ``site.url`` is its base URL (``http://127.0.0.1:<port>``). It is the
bare API server (no kubelet, no controllers), so the objects only change when a test changes
them. ``kubesim_demo`` is the same with the demo controllers, nodes and fake services
installed (``kubesim.demo.install_all``). ``kube`` is an ``httpx.AsyncClient`` for
``kubesim``; ``kubectl`` runs a real kubectl against a demo site. Tests that need other
settings build their own with ``kubesim.site.run_site``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from kubesim.site import Site, SiteConfig, run_site
from kubesim.store import StoreConfig
from tests.kubesim.kubectl_helpers import Kubectl


def fast_config() -> SiteConfig:
    """Production defaults except the timings tests would otherwise wait for."""
    return SiteConfig(
        store=StoreConfig(namespace_delete_delay=0.05),
        bookmark_interval=0.2,
        seed=42,
    )


@pytest.fixture
async def kubesim() -> AsyncIterator[Site]:
    async with run_site(fast_config()) as site:
        yield site


@pytest.fixture
async def kubesim_demo() -> AsyncIterator[Site]:
    from kubesim.demo import install_all

    async with run_site(fast_config(), setup=install_all) as site:
        yield site


@pytest.fixture
async def kube(kubesim: Site) -> AsyncIterator[httpx.AsyncClient]:
    """A raw HTTP client for the ``kubesim`` site (no read timeout: watches stream)."""
    async with httpx.AsyncClient(
        base_url=kubesim.url or "", timeout=httpx.Timeout(10, read=None)
    ) as client:
        yield client


@pytest.fixture
async def kubectl(tmp_path: Path) -> AsyncIterator[Kubectl]:
    """A real kubectl against a demo site (fast kubelet: containers exit 0.2 s after a
    delete)."""
    config = fast_config()
    config.controllers = {"kubelet": {"termination_delay": 0.2}}
    from kubesim.demo import install_all

    async with run_site(config, setup=install_all) as site:
        yield Kubectl(site, tmp_path)
