"""An optional HTTPS listener for the fake registry, with a throwaway certificate authority.

Real registries, and the registry clients of other controllers, speak HTTPS only. This
listener serves the fake registry's routes (``/v2/...`` and its token endpoint) over TLS with
a certificate for ``127.0.0.1``, ``::1`` and ``localhost`` issued by a CA made up at start
(``trustme``). The CA certificate is written to a file whose path is announced, so that any
client can be told to trust it (``curl --cacert``, ``SSL_CERT_FILE``, the controller's
``images.source.caBundlePath``). The CA's key never leaves memory.

``trustme`` (and the ``cryptography`` package it needs) is an optional dependency: install
``nublado-trio[simulate-tls]``; without it only this listener is unavailable, with a message
saying so.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from kubesim.http import Request, Response, serve_http
from kubesim.registry import TOKEN_PATH, V2_PREFIX, FakeRegistry

__all__ = ["RegistryTLS", "TLSUnavailable", "make_certificates", "serve_registry_tls"]

CA_FILE = "kubesim-ca.pem"
HOSTNAMES = ("127.0.0.1", "::1", "localhost")


class TLSUnavailable(Exception):
    """The TLS listener cannot be made (``trustme`` is not installed)."""


@dataclass(frozen=True)
class RegistryTLS:
    """Where the HTTPS registry listens and the CA file that signs its certificate."""

    url: str
    host: str
    port: int
    ca_path: Path

    @property
    def address(self) -> str:
        """``host:port``, the start of image references for this registry."""
        return self.url.removeprefix("https://")


def make_certificates(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a fresh certificate, and the CA file clients should trust.

    Blocking (key generation and a file write): call it from a thread or before serving.
    """
    try:
        import trustme  # an optional dependency, needed by this listener only
    except ImportError:
        raise TLSUnavailable(
            "the TLS registry needs the trustme package: pip install 'nublado-trio[simulate-tls]'"
        ) from None
    ca = trustme.CA(organization_name="kubesim throwaway CA")
    certificate = ca.issue_cert(*HOSTNAMES)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    ca_path = directory / CA_FILE
    ca.cert_pem.write_to_path(str(ca_path))
    return context, ca_path


def _registry_only(registry: FakeRegistry) -> Any:
    async def handle(request: Request) -> Response:
        path = request.path
        if path in (TOKEN_PATH, V2_PREFIX) or path.startswith(V2_PREFIX + "/"):
            return await registry(request)
        return Response.json(
            404, {"errors": [{"code": "NOT_FOUND", "message": "only the registry is served here"}]}
        )

    return handle


async def serve_registry_tls(
    registry: FakeRegistry,
    directory: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    task_status: trio.TaskStatus[RegistryTLS] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``registry`` over HTTPS until cancelled; reports a :class:`RegistryTLS`.

    Raises :class:`TLSUnavailable` before listening when ``trustme`` is missing.
    """
    context, ca_path = await trio.to_thread.run_sync(make_certificates, directory)
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(
            lambda task_status: serve_http(
                _registry_only(registry), host, port, ssl_context=context, task_status=task_status
            )
        )
        display = f"[{host}]" if ":" in host else host
        task_status.started(RegistryTLS(f"https://{display}:{bound}", host, bound, ca_path))
