"""Fixtures: an in-process kubesim site served over real HTTP, and a client for it.

The site is declared here with kubesim's public ``run_site`` API (rather than importing the
kubesim test fixture) so these tests control the settings they depend on: short bookmark and
namespace-deletion intervals, and the demo controllers (kubelet, nodes, jobs) installed.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest
import trio

from actors.kube import KubeClient
from kubesim import demo
from kubesim.site import Site, SiteConfig, run_site
from kubesim.store import StoreConfig

from .objects import namespace

_names = itertools.count()


def site_config() -> SiteConfig:
    return SiteConfig(store=StoreConfig(namespace_delete_delay=0.05), bookmark_interval=0.2, seed=1)


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    async with run_site(site_config(), setup=demo.install_all) as running:
        yield running


@pytest.fixture
async def kube(site: Site) -> AsyncIterator[KubeClient]:
    assert site.url is not None
    async with KubeClient.for_url(site.url) as client:
        yield client


@pytest.fixture
async def ns(kube: KubeClient) -> str:
    name = f"test-{next(_names)}"
    with trio.fail_after(5):
        await kube.namespaces.create(namespace(name))
    return name
