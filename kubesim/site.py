"""Assembly of a simulated site: store + faults + REST API + controllers + mounted fakes.

Usage in tests (the ``kubesim`` fixture in tests/kubesim/conftest.py does exactly this)::

    async with run_site(SiteConfig(), seed=1) as site:
        httpx.get(f"{site.url}/api/v1/namespaces")

Extension points for the simulated controllers and fakes:

* ``site.add_controller(run, name=...)``: ``run`` is an async callable taking no arguments
  (typically a bound ``async def run(self) -> None`` of a controller object); it is
  started in the site's nursery when :meth:`Site.serve` starts and cancelled when the site
  stops. A controller that raises takes the whole site down (structured concurrency:
  a broken simulator must fail the test loudly). Add controllers before serving.
* ``site.mount(prefix, handler)``: requests whose path starts with ``prefix`` (longest
  prefix wins) go to ``handler(request)`` with the full, unmodified path.
* ``site.config.controllers``: a free-form mapping (from the config file's ``controllers``
  section) that each controller reads its own settings from.
* ``site.stats``: request counters, open watches and CPU (:mod:`kubesim.stats`), and
  ``site.stats.log``, each request with its time and client (:mod:`kubesim.requestlog`).

Routing order: the admin API under ``/_kubesim`` (``faults``, ``stats``, ``requests``),
mounts, then the Kubernetes API. Only the last is counted in ``site.stats``: the admin API
and the mounted fakes are not load on an API server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import trio
import yaml

from kubesim.api import KubeApi
from kubesim.faults import ADMIN_PREFIX, Faults, admin_handler
from kubesim.http import Handler, Request, Response, StreamingResponse, serve_http
from kubesim.requestlog import REQUESTS_PREFIX, requests_handler
from kubesim.stats import STATS_PREFIX, ApiStats, stats_handler
from kubesim.store import Store, StoreConfig

Controller = Callable[[], Awaitable[None]]

#: The namespaces every cluster starts with (a real API server creates them at start-up).
SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")


@dataclass
class SiteConfig:
    store: StoreConfig = field(default_factory=StoreConfig)
    #: Seconds between BOOKMARK events on watches that asked for them.
    bookmark_interval: float = 10.0
    #: Lifetime of a watch request without ``timeoutSeconds`` (a real server: 30-60 min).
    watch_default_timeout: float = 1800.0
    #: Seed for everything random in the site (uids, generated names, faults).
    seed: int = 0
    #: Per-controller settings, e.g. ``{"kubelet": {"start_delay": 0.5}}``.
    controllers: dict[str, Any] = field(default_factory=dict)
    #: Bearer token -> user name, only to name clients in the request statistics (kubesim
    #: authenticates nobody; an unknown token is reported by a fingerprint).
    tokens: dict[str, str] = field(default_factory=dict)
    #: Kubernetes API requests kept in the request log (``/_kubesim/requests``); 0: none.
    request_log_size: int = 100_000

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> SiteConfig:
        """Build from a parsed YAML/JSON mapping; unknown keys are an error."""
        data = dict(data or {})
        store_keys = {f.name for f in fields(StoreConfig)}
        store_data = data.pop("store", {}) or {}
        unknown = set(store_data) - store_keys
        site_keys = {f.name for f in fields(cls)} - {"store"}
        unknown |= set(data) - site_keys
        if unknown:
            raise ValueError(f"unknown kubesim config keys: {sorted(unknown)}")
        tokens = data.get("tokens") or {}
        if not isinstance(tokens, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in tokens.items()
        ):
            raise ValueError("kubesim config key tokens must map token strings to user names")
        log_size = data.get("request_log_size", 0)
        if isinstance(log_size, bool) or not isinstance(log_size, int) or log_size < 0:
            raise ValueError("kubesim config key request_log_size must be an integer >= 0")
        return cls(store=StoreConfig(**store_data), **data)

    @classmethod
    def from_file(cls, path: str | Path) -> SiteConfig:
        """Read a YAML file (blocking; call before starting Trio or in a thread)."""
        with Path(path).open() as handle:
            return cls.from_mapping(yaml.safe_load(handle) or {})


class Site:
    """One simulated Kubernetes site. ``url`` is set once :meth:`serve` has bound its port."""

    def __init__(self, config: SiteConfig | None = None, *, seed: int | None = None) -> None:
        self.config = config or SiteConfig()
        if seed is not None:
            self.config.seed = seed
        self.store = Store(self.config.store, seed=self.config.seed)
        self.faults = Faults(self.store, seed=self.config.seed)
        self.stats = ApiStats(self.config.tokens, log_size=self.config.request_log_size)
        self.api = KubeApi(self)
        self.url: str | None = None
        self.host = "127.0.0.1"
        self.port: int | None = None
        self._controllers: list[tuple[str, Controller]] = []
        self._mounts: list[tuple[str, Handler]] = []

    @property
    def server_address(self) -> str:
        return f"{self.host}:{self.port}"

    def add_controller(self, run: Controller, name: str | None = None) -> None:
        label = name or str(getattr(run, "__name__", "controller"))
        self._controllers.append((label, run))

    def mount(self, prefix: str, handler: Handler) -> None:
        self._mounts.append((prefix.rstrip("/"), handler))
        self._mounts.sort(key=lambda item: len(item[0]), reverse=True)

    def mounted(self, prefix: str) -> Handler | None:
        """The handler mounted at exactly ``prefix``, if any.

        This is how tests reach a mounted fake (for instance the fake Gafaelfawr at
        ``/auth/api/v1``) to add users or tokens while the site serves.
        """
        wanted = prefix.rstrip("/")
        return next((handler for mounted, handler in self._mounts if mounted == wanted), None)

    async def handle(self, request: Request) -> Response | StreamingResponse:
        path = request.path
        if path.startswith("/_kubesim"):
            if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
                return await admin_handler(self.faults, request)
            if path == STATS_PREFIX or path.startswith(STATS_PREFIX + "/"):
                return await stats_handler(self.stats, request)
            if path == REQUESTS_PREFIX or path.startswith(REQUESTS_PREFIX + "/"):
                return await requests_handler(self.stats.log, request)
        for prefix, handler in self._mounts:
            if path == prefix or path.startswith(prefix + "/"):
                return await handler(request)
        return await self.api.handle(request)

    def _create_system_namespaces(self) -> None:
        namespaces = self.store.resource("namespaces")
        for name in SYSTEM_NAMESPACES:
            if self.store.find(namespaces, None, name) is None:
                self.store.create(namespaces, None, {"metadata": {"name": name}}, copy_=False)

    async def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run timers, controllers and the HTTP server until cancelled."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.store.run_timers)
            self._create_system_namespaces()
            bound = await nursery.start(serve_http, self.handle, host, port)
            self.host, self.port = host, bound
            display_host = f"[{host}]" if ":" in host else host
            self.url = f"http://{display_host}:{bound}"
            for name, run in self._controllers:
                nursery.start_soon(run, name=f"kubesim controller {name}")
            task_status.started(bound)


@asynccontextmanager
async def run_site(
    config: SiteConfig | None = None,
    *,
    seed: int | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    setup: Callable[[Site], object] | None = None,
) -> AsyncIterator[Site]:
    """Serve a :class:`Site` for the duration of the block; ``setup`` runs before serving
    (install controllers, mount fakes, load objects)."""
    site = Site(config, seed=seed)
    if setup is not None:
        setup(site)
    async with trio.open_nursery() as nursery:
        await nursery.start(site.serve, host, port)
        try:
            yield site
        finally:
            nursery.cancel_scope.cancel()
