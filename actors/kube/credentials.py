"""Cluster credentials: kubeconfig or in-cluster service account, via the official package.

The official loaders fill a ``kubernetes.client.Configuration``; this module turns that into
what the transport needs: the base URL, an ``ssl.SSLContext`` and an :class:`Authorizer`
that gives the ``Authorization`` header value for each request.

In-cluster tokens are rotated by the kubelet, so :class:`BearerTokenAuth` re-reads the token
through the configuration's refresh hook at most every ``refresh_interval`` seconds, in a
worker thread because it reads files (and exec plugins run subprocesses). The token is held
only inside the auth object and never logged.
"""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import trio
from kubernetes import config as kube_config
from kubernetes.client import Configuration
from kubernetes.config.incluster_config import (
    SERVICE_CERT_FILENAME,
    SERVICE_TOKEN_FILENAME,
    InClusterConfigLoader,
)

__all__ = [
    "Authorizer",
    "BearerTokenAuth",
    "ClusterCredentials",
    "load_from_environment",
    "load_incluster",
    "load_kubeconfig",
]

TOKEN_REFRESH_INTERVAL = 60.0

# The official loaders are untyped; these aliases give mypy --strict a typed call site.
_load_kube_config: Callable[..., None] = kube_config.load_kube_config
_InClusterLoader: Callable[..., Any] = InClusterConfigLoader


class Authorizer(Protocol):
    """Gives the ``Authorization`` header value to send now (``None``: send none)."""

    async def authorization(self) -> str | None: ...


@dataclass(frozen=True)
class ClusterCredentials:
    """Everything needed to reach an API server."""

    base_url: str
    verify: ssl.SSLContext | bool
    auth: Authorizer | None


class BearerTokenAuth:
    """Send ``Authorization: Bearer ...``, re-reading the token every ``refresh_interval``.

    ``read_token`` is blocking (it may read files or run an exec plugin) and is always called
    in a worker thread. It returns the full header value (``"Bearer <token>"``) or ``None``.
    """

    def __init__(
        self,
        read_token: Callable[[], str | None],
        *,
        refresh_interval: float = TOKEN_REFRESH_INTERVAL,
        initial: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read_token = read_token
        self._refresh_interval = refresh_interval
        self._clock = clock
        self._header = initial
        self._read_at: float | None = None if initial is None else clock()
        # Created lazily: the object may be built in a worker thread, outside Trio.
        self._lock: trio.Lock | None = None

    def __repr__(self) -> str:
        return "BearerTokenAuth(<redacted>)"

    async def current_header(self) -> str | None:
        """The header value to send now, refreshing it first if it is stale."""
        if self._is_fresh():
            return self._header
        if self._lock is None:
            self._lock = trio.Lock()
        async with self._lock:
            if not self._is_fresh():
                self._header = await trio.to_thread.run_sync(self._read_token)
                self._read_at = self._clock()
        return self._header

    def _is_fresh(self) -> bool:
        read_at = self._read_at
        return read_at is not None and self._clock() - read_at < self._refresh_interval

    async def authorization(self) -> str | None:
        """The ``Authorization`` header value, with the canonical ``Bearer`` prefix."""
        header = await self.current_header()
        return _normalise_bearer(header) if header else None


def _normalise_bearer(value: str) -> str:
    """The in-cluster loader spells the prefix ``bearer``; send the canonical ``Bearer``."""
    scheme, _, token = value.partition(" ")
    if token and scheme.lower() == "bearer":
        return f"Bearer {token}"
    return value


def _token_reader(cfg: Configuration) -> Callable[[], str | None]:
    def read() -> str | None:
        # Runs the refresh hook (token file re-read, exec plugin) before reading the key.
        value = cfg.get_api_key_with_prefix("BearerToken", alias="authorization")
        return str(value) if value else None

    return read


def _ssl_context(cfg: Configuration) -> ssl.SSLContext | bool:
    if cfg.host.startswith("http://"):
        return True
    context = ssl.create_default_context(cafile=cfg.ssl_ca_cert or None)
    if cfg.cert_file:
        context.load_cert_chain(cfg.cert_file, cfg.key_file or None)
    if not cfg.verify_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _credentials(cfg: Configuration) -> ClusterCredentials:
    reader = _token_reader(cfg)
    initial = reader()
    auth = BearerTokenAuth(reader, initial=initial) if initial else None
    return ClusterCredentials(cfg.host, _ssl_context(cfg), auth)


async def load_kubeconfig(
    path: str | None = None, context: str | None = None
) -> ClusterCredentials:
    """Load credentials from a kubeconfig file (``$KUBECONFIG`` / ``~/.kube/config``)."""

    def load() -> ClusterCredentials:
        cfg = Configuration()
        _load_kube_config(
            config_file=path, context=context, client_configuration=cfg, persist_config=False
        )
        return _credentials(cfg)

    return await trio.to_thread.run_sync(load)


async def load_incluster(
    *,
    token_path: str = SERVICE_TOKEN_FILENAME,
    ca_path: str = SERVICE_CERT_FILENAME,
    environ: Mapping[str, str] | None = None,
) -> ClusterCredentials:
    """Load the pod's service-account credentials (paths overridable for tests)."""

    def load() -> ClusterCredentials:
        cfg = Configuration()
        loader = _InClusterLoader(
            token_filename=token_path,
            cert_filename=ca_path,
            try_refresh_token=True,
            environ=os.environ if environ is None else environ,
        )
        loader.load_and_set(client_configuration=cfg)
        return _credentials(cfg)

    return await trio.to_thread.run_sync(load)


async def load_from_environment() -> ClusterCredentials:
    """In-cluster credentials when running in a pod, else the kubeconfig."""
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return await load_incluster()
    return await load_kubeconfig()
