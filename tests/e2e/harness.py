"""The whole system under test: kubesim, the real controller, the real HTTP server.

Tests talk to the controller only over HTTP, as JupyterHub and users do, and look at the
cluster only through kubesim's store (what a ``kubectl get`` would show).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
import trio

from actors.config import ControllerConfig
from actors.controller import Controller
from kubesim.registry import AuthConfig, FakeRegistry
from kubesim.site import Site, SiteConfig
from kubesim.store import StoreConfig
from web.app import controller_app
from web.server import RunningServer, ServerTuning, serve
from web.simulate import DEMO_TOKENS, simulated_cluster, simulated_controller

SHUTDOWN_DEADLINE = 15.0


def fast_site_config(**kubelet: Any) -> SiteConfig:
    """A site where pods start at once (zero kubelet delays) unless told otherwise."""
    return SiteConfig(
        store=StoreConfig(namespace_delete_delay=0.05),
        bookmark_interval=1.0,
        seed=7,
        controllers={"kubelet": kubelet},
    )


@dataclass
class RunningController:
    """One controller serving HTTP on top of a simulated site."""

    site: Site
    config: ControllerConfig
    controller: Controller
    server: RunningServer

    @property
    def url(self) -> str:
        return self.server.base_url

    @property
    def prefix(self) -> str:
        return self.config.path_prefix

    def client(self, who: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        """An HTTP client for the controller, with the demo token of ``who`` if given."""
        headers = dict(kwargs.pop("headers", {}))
        if who is not None:
            headers["Authorization"] = f"Bearer {DEMO_TOKENS.get(who, who)}"
        return httpx.AsyncClient(
            base_url=self.url, headers=headers, timeout=httpx.Timeout(30.0), **kwargs
        )

    @property
    def registry(self) -> str:
        """``host:port`` of the simulated registry, the start of every image reference."""
        assert self.site.url is not None
        return self.site.url.removeprefix("http://")

    def image(self, tag: str = "w_2026_46") -> str:
        return f"{self.registry}/lsstsqre/sciplat-lab:{tag}"


def anonymous_registry_images(
    site: Site, repository: str, *, refresh_interval: float | str
) -> dict[str, Any]:
    """An ``images`` config section for ``site``'s registry, opened to anonymous pulls (so
    the controller needs no credentials file), refreshing every ``refresh_interval``."""
    registry = site.mounted("/v2")
    assert isinstance(registry, FakeRegistry)
    registry.data.auth = AuthConfig(mode="anonymous")
    assert site.url is not None
    return {
        "source": {
            "type": "docker",
            "registry": site.url.removeprefix("http://"),
            "repository": repository,
        },
        "dockerCredentialsPath": None,
        "refreshInterval": refresh_interval,
        "numReleases": 1,
        "numWeeklies": 2,
        "numDailies": 1,
    }


@asynccontextmanager
async def serving_controller(
    site: Site, *, config_overrides: dict[str, Any] | None = None
) -> AsyncIterator[RunningController]:
    """Open and serve a controller on ``site`` for the block; then shut it down gracefully."""
    async with simulated_controller(site, config_overrides=config_overrides) as (config, ctl):
        app = controller_app(config, ctl)
        with trio.fail_after(float("inf")) as shutdown_deadline:
            async with trio.open_nursery() as nursery:
                server: RunningServer = await nursery.start(
                    partial(
                        serve,
                        config,
                        host="127.0.0.1",
                        port=0,
                        system=ctl.system,
                        app=app,
                        tuning=ServerTuning(graceful_timeout=5, actor_stop_timeout=5),
                        shutdown_signals=(),
                        ready=ctl.wait_ready,
                        replicas=ctl.replicas,
                    )
                )
                yield RunningController(site, config, ctl, server)
                server.request_shutdown()
                shutdown_deadline.deadline = trio.current_time() + SHUTDOWN_DEADLINE


@asynccontextmanager
async def running_controller(
    *, site_config: SiteConfig | None = None, config_overrides: dict[str, Any] | None = None
) -> AsyncIterator[RunningController]:
    """A fresh simulated site with one controller serving on it."""
    async with (
        simulated_cluster(site_config or fast_site_config()) as site,
        serving_controller(site, config_overrides=config_overrides) as running,
    ):
        yield running
