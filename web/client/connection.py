"""Where the client commands send their requests, with which token, and what failures mean.

``--url`` (or ``$NUBLADO_URL``) is the controller's API root, path prefix included
(``https://data.example.org/nublado``); the default is a local ``serve --simulate``.
``--token`` (or ``$NUBLADO_TOKEN``) is sent as a bearer token.

Without a token, and only for a loopback URL, the commands fall back to the simulated site's
public demo tokens (``admin-demo-token`` for admin commands, the user's own demo token for
``spawn``), saying so on stderr: those tokens are published, so trying them costs nothing,
and a newcomer's first ``nublado-trio labs`` against ``serve --simulate`` just works. Against
any other host a missing token is a usage error: guessing would send a request that can only
fail, to a server that is not the simulator.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

__all__ = [
    "DEFAULT_URL",
    "DEMO_TOKENS",
    "ClientError",
    "Connection",
    "UsageError",
    "resolve_connection",
]

DEFAULT_URL = "http://127.0.0.1:8080/nublado"
TOKEN_ENV = "NUBLADO_TOKEN"
URL_ENV = "NUBLADO_URL"

DEMO_TOKENS = {
    "alice": "alice-demo-token",
    "bob": "bob-demo-token",
    "hub": "hub-demo-token",
    "admin": "admin-demo-token",
}
"""The simulated site's public tokens (``web.simulate``), by who they belong to."""

TIMEOUT = httpx.Timeout(30.0)


class UsageError(Exception):
    """The command line cannot work as given (exit code 2)."""


class ClientError(Exception):
    """The controller refused or could not be reached (exit code 1)."""


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Connection:
    """The controller's API root and the token to send."""

    url: str
    token: str = field(repr=False)

    def client(self, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return httpx.Client(
            base_url=self.url, headers=headers, timeout=kwargs.pop("timeout", TIMEOUT), **kwargs
        )

    def get_json(self, path: str) -> Any:
        with self.client() as client:
            return checked(send(client, "GET", path)).json()


def resolve_connection(url: str | None, token: str | None, *, demo_identity: str) -> Connection:
    """The connection the options and environment describe (see the module docstring)."""
    url = (url or os.environ.get(URL_ENV) or DEFAULT_URL).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--url must be an http:// or https:// URL, not {url!r}")
    token = token or os.environ.get(TOKEN_ENV)
    if not token:
        demo = DEMO_TOKENS.get(demo_identity)
        if demo is None or not _is_loopback(url):
            raise UsageError(
                f"a token is needed for {url}: pass --token or set ${TOKEN_ENV}"
                + (f" (the token of {demo_identity})" if demo_identity not in ("admin",) else "")
            )
        print(
            f"nublado-trio: no token given; using the simulated site's public demo token "
            f"of {demo_identity} (loopback URL only)",
            file=sys.stderr,
        )
        token = demo
    return Connection(url, token)


def send(client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request; a transport failure becomes a ``ClientError`` naming the controller."""
    try:
        return client.request(method, path, **kwargs)
    except httpx.HTTPError as error:
        raise ClientError(f"cannot reach the controller at {client.base_url}: {error}") from None


def checked(response: httpx.Response) -> httpx.Response:
    """``response`` if it succeeded, else a ``ClientError`` with the controller's message."""
    if response.is_success:
        return response
    request = response.request
    raise ClientError(f"{request.method} {request.url.path}: {describe(response)}")


def describe(response: httpx.Response) -> str:
    """The status and the API's error message(s)."""
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    if isinstance(detail, list):
        text = "; ".join(str(item.get("msg")) for item in detail if isinstance(item, dict))
    elif isinstance(detail, str):
        text = detail
    else:
        text = response.reason_phrase
    return f"HTTP {response.status_code}: {text}"
