"""The ``server`` section (a nublado-trio extension): the HTTP server's timeouts and proxies.

Every value has a default that suits the usual deployment (JupyterHub and an ingress in
front), so the section is normally left out. The reasons behind the defaults:

* ``keepAliveTimeout`` is longer than the idle timeout of the clients that call the
  controller (JupyterHub's httpx client drops idle connections after 5 s, proxies and browsers
  after 60 s or less). The side that closes an idle connection must be the client: a request
  sent just as the server closes the connection is lost with "server disconnected".
* ``writeTimeout`` bounds one write to a client; a client that reads nothing for that long is
  disconnected, so no client can hold a task, a stream or the shutdown.
* ``trustedProxies`` are the peers whose ``X-Forwarded-Proto`` / ``X-Forwarded-Host`` headers
  are believed (they decide the ``Location`` of a new lab). From anyone else those headers
  are ignored: a client could otherwise make the controller hand out links to its own host.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, Field

from .base import ConfigModel
from .units import PositiveDuration

__all__ = ["ServerConfig"]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _network(value: str) -> str:
    """Accept an address or a CIDR block; reject anything else with the reason."""
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError as error:
        raise ValueError(f"not an IP address or CIDR block: {error}") from None
    return value


class ServerConfig(ConfigModel):
    """Timeouts of the HTTP server and the proxies it trusts."""

    keep_alive_timeout: PositiveDuration = timedelta(seconds=75)
    graceful_timeout: PositiveDuration = timedelta(seconds=10)
    write_timeout: PositiveDuration = timedelta(seconds=10)
    trusted_proxies: list[Annotated[str, AfterValidator(_network)]] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"]
    )

    def trusted_networks(self) -> list[IPNetwork]:
        """``trustedProxies`` as networks (a bare address is a one-address network)."""
        return [ipaddress.ip_network(entry, strict=False) for entry in self.trusted_proxies]
