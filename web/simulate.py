"""``nublado-trio serve --simulate``: the controller on an in-process simulated site.

Everything a newcomer needs runs in one process: kubesim (Kubernetes API, kubelet, nodes,
fake Gafaelfawr, fake Docker registry, fake Repertoire) and the real controller, configured
for that site in direct authentication mode. The demo identities are fixed so that docs and
scripts can rely on them:

==================  ==============================  =====================================
token               who                             may
==================  ==============================  =====================================
alice-demo-token    alice (uid 1001, 4 CPU/16 GiB)  spawn and use her own lab
bob-demo-token      bob (uid 1002, 1 CPU/2 GiB)     spawn the small size only
hub-demo-token      JupyterHub                      hub routes (``admin:jupyterlab``)
admin-demo-token    an administrator                admin routes (``exec:admin``)
==================  ==============================  =====================================

Because these tokens are public, the simulated controller listens on loopback unless the
operator passes ``--host`` explicitly.
"""

from __future__ import annotations

import base64
import json
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from actors.config import ControllerConfig
from actors.controller import Controller, open_controller
from actors.images.source import SourceEndpoints
from actors.kube import KubeClient
from kubesim.demo import install_all
from kubesim.site import Site, SiteConfig
from web.client.connection import DEMO_TOKENS

__all__ = [
    "CONTROLLER_NAMESPACE",
    "DEMO_TOKENS",
    "FILESERVER_NAMESPACE",
    "SimulatedSite",
    "demo_config_data",
    "simulated_cluster",
    "simulated_controller",
    "simulated_site",
]

CONTROLLER_NAMESPACE = "nublado"
"""Namespace the simulated controller "runs" in (source of copied secrets)."""

FILESERVER_NAMESPACE = "fileservers"
"""Namespace of the demo's file servers (it must exist before the controller uses it)."""


DEMO_REGISTRY_USER = "demo"
DEMO_REGISTRY_PASSWORD = "demo-password"
DEMO_REPOSITORY = "lsstsqre/sciplat-lab"

DEMO_WEBHOOK_PATH = "/slack/services/simulated/alerts"
"""Where ``serve --simulate`` posts its alerts (kubesim's fake Slack webhook)."""

DEMO_KUBELET = {
    "schedule_delay": 0.2,
    "pull_delay": 3.0,
    "create_delay": 0.3,
    "init_duration": 0.5,
    "ready_delay": 0.5,
}
"""Delays that make spawn progress visible in the demo; tests use zero delays instead."""


def _size(name: str, cpu: float, memory: str, request_cpu: float, request_memory: str) -> Any:
    return {
        "size": name,
        "resources": {
            "limits": {"cpu": cpu, "memory": memory},
            "requests": {"cpu": request_cpu, "memory": request_memory},
        },
    }


def demo_config_data(site_url: str, credentials_path: Path) -> dict[str, Any]:
    """The controller configuration of the simulated site (as YAML would give it)."""
    registry = site_url.removeprefix("http://")
    return {
        "name": "Nublado (simulated)",
        "logProfile": "development",
        "auth": {"mode": "direct", "gafaelfawrUrl": site_url},
        # kubesim's fake Repertoire: every lab gets its discovery document.
        "repertoireBaseUrl": f"{site_url}/repertoire",
        "metrics": {"enabled": False, "application": "nublado"},
        "fsadmin": {},
        "fileserver": {
            "enabled": True,
            "namespace": FILESERVER_NAMESPACE,
            "volumeMounts": [{"containerPath": "/home", "volumeName": "home"}],
        },
        "images": {
            "source": {"type": "docker", "registry": registry, "repository": DEMO_REPOSITORY},
            "dockerCredentialsPath": str(credentials_path),
            "recommendedTag": "recommended",
            "numReleases": 1,
            "numWeeklies": 2,
            "numDailies": 1,
            # Demo: the latest_* tags display as aliases; new registry tags and prepulls show
            # within a minute; the dropdown keeps the menu readable.
            "aliasTags": ["latest_weekly", "latest_daily", "latest_release"],
            "refreshInterval": "1m",
        },
        "dropdownMenu": {"weekly": {"number": 6}, "experimental": {"number": 2}},
        "lab": {
            "namespacePrefix": "nublado",
            "sizes": [
                _size("small", 1.0, "2Gi", 0.25, "512Mi"),
                _size("medium", 2.0, "4Gi", 0.5, "1Gi"),
                _size("large", 4.0, "8Gi", 1.0, "2Gi"),
            ],
            "defaultSize": "medium",
            "volumes": [{"name": "home", "source": {"type": "hostPath", "path": "/home"}}],
            "volumeMounts": [{"containerPath": "/home", "volumeName": "home"}],
            "reconcileInterval": "1m",
        },
    }


def _write_credentials(directory: Path, registry: str) -> Path:
    path = directory / "dockerconfig.json"
    login = base64.b64encode(f"{DEMO_REGISTRY_USER}:{DEMO_REGISTRY_PASSWORD}".encode()).decode()
    path.write_text(json.dumps({"auths": {registry: {"auth": login}}}))
    return path


@dataclass
class SimulatedSite:
    """A running simulated site with the controller configured for it."""

    site: Site
    config: ControllerConfig
    controller: Controller


@asynccontextmanager
async def simulated_cluster(site_config: SiteConfig | None = None) -> AsyncIterator[Site]:
    """Serve kubesim with its demo parts, plus the controller's namespace, for the block.

    ``site_config`` defaults to the demo timings (visible progress); tests pass zero delays.
    """
    if site_config is None:
        site_config = SiteConfig(controllers={"kubelet": DEMO_KUBELET})
    site = Site(site_config)
    async with trio.open_nursery() as nursery:
        install_all(site)
        await nursery.start(site.serve, "127.0.0.1", 0)
        for name in (CONTROLLER_NAMESPACE, FILESERVER_NAMESPACE):
            site.store.create(site.store.resource("namespaces"), None, {"metadata": {"name": name}})
        yield site
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def simulated_controller(
    site: Site | str,
    *,
    config_overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> AsyncIterator[tuple[ControllerConfig, Controller]]:
    """Open the controller on a running simulated site (not yet serving).

    ``config_overrides`` replaces top-level keys of the demo configuration (tests use it,
    for instance for ingress authentication). Opening it twice on one site is how tests
    restart the controller. ``site`` may also be the URL of a kubesim in another process.
    """
    site_url = site if isinstance(site, str) else site.url
    assert site_url is not None
    with tempfile.TemporaryDirectory(prefix="nublado-sim-") as scratch:
        credentials = await trio.to_thread.run_sync(
            _write_credentials, Path(scratch), site_url.removeprefix("http://")
        )
        data = demo_config_data(site_url, credentials)
        data.update(config_overrides or {})
        config = ControllerConfig.model_validate(data)
        async with open_controller(
            config,
            kube=KubeClient.for_url(site_url),
            image_endpoints=SourceEndpoints(docker_base_url=site_url),
            controller_namespace=CONTROLLER_NAMESPACE,
            environ=environ or {},
        ) as controller:
            yield config, controller


@asynccontextmanager
async def simulated_site(
    *,
    site_config: SiteConfig | None = None,
    config_overrides: dict[str, Any] | None = None,
) -> AsyncIterator[SimulatedSite]:
    """The simulated cluster and the controller opened on it."""
    async with simulated_cluster(site_config) as site:
        # Alerts go to kubesim's fake Slack webhook; read them at <site>/slack/posts.
        overrides = {"slackWebhook": f"{site.url}{DEMO_WEBHOOK_PATH}", **(config_overrides or {})}
        async with simulated_controller(site, config_overrides=overrides) as (config, controller):
            yield SimulatedSite(site=site, config=config, controller=controller)
