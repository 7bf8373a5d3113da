"""``X-Forwarded-Proto`` and ``X-Forwarded-Host``, believed only from trusted proxies.

Behind an ingress the controller sees the ingress's connection, not the client's: the scheme
and host the client used arrive in forwarded headers, and the ``Location`` of a new lab must
use them. Anyone can send those headers, though; believed from anyone, they would let a
client make the controller hand out links to a host of the client's choosing. So:

* from a peer inside ``server.trustedProxies``, a well-formed ``X-Forwarded-Proto`` becomes
  the request's scheme and a well-formed ``X-Forwarded-Host`` its ``Host`` (the first value
  of a comma-separated list: the one the outermost proxy saw);
* from anyone else, both headers are removed before the app sees the request, so no code
  below can read them by mistake.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from actors.config.server import IPNetwork
from web.asgi import ASGIApp, Receive, Scope, Send

__all__ = ["ProxyHeaders"]

_PROTO = b"x-forwarded-proto"
_HOST = b"x-forwarded-host"
_SCHEMES = {"http": ("http", "ws"), "https": ("https", "wss")}
"""Forwarded scheme → (scheme of an HTTP request, scheme of a WebSocket)."""

_HOST_VALUE = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")
"""A DNS name or IP literal with an optional port; nothing else may become the Host."""


def _first(value: bytes) -> str:
    return value.decode("latin-1").split(",")[0].strip()


class ProxyHeaders:
    """ASGI middleware applying forwarded headers from ``trusted`` peers only."""

    def __init__(self, app: ASGIApp, trusted: Sequence[IPNetwork]) -> None:
        self._app = app
        self._trusted = tuple(trusted)

    def _is_trusted(self, scope: Scope) -> bool:
        client = scope.get("client")
        if not client:
            return False
        try:
            address = ipaddress.ip_address(client[0])
        except ValueError:
            return False
        return any(address in network for network in self._trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self._app(scope, receive, send)
            return
        headers = list(scope.get("headers", ()))
        forwarded = {
            name.lower(): value for name, value in headers if name.lower() in (_PROTO, _HOST)
        }
        if not forwarded:
            await self._app(scope, receive, send)
            return
        kept = [(name, value) for name, value in headers if name.lower() not in (_PROTO, _HOST)]
        scope = dict(scope)
        if self._is_trusted(scope):
            proto = _first(forwarded.get(_PROTO, b"")).lower()
            if proto in _SCHEMES:
                http_scheme, ws_scheme = _SCHEMES[proto]
                scope["scheme"] = http_scheme if scope["type"] == "http" else ws_scheme
            host = _first(forwarded.get(_HOST, b""))
            if host and _HOST_VALUE.fullmatch(host):
                kept = [(name, value) for name, value in kept if name.lower() != b"host"]
                kept.append((b"host", host.encode("latin-1")))
        scope["headers"] = kept
        await self._app(scope, receive, send)
