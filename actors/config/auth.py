"""The ``auth`` section (a nublado-trio extension): who checks callers, and where Gafaelfawr is.

Two modes:

* ``ingress`` (default): the controller sits behind Gafaelfawr's authenticating ingress and
  does exactly what ``api.md`` §2.3 says — it trusts the ingress for hub and admin routes,
  reads ``X-Auth-Request-User`` and validates the delegated ``X-Auth-Request-Token``.
* ``direct``: the controller may be reached without that ingress, so it verifies
  ``Authorization: Bearer`` tokens itself against Gafaelfawr's token-info API and enforces
  the scope of each route group.

Upstream finds Gafaelfawr through service discovery (Repertoire); nublado-trio does not, so
the URL is explicit. Left out, it is the platform's ``baseUrl``: Gafaelfawr is normally routed
at ``{baseUrl}/auth`` on the platform's own host. Inside a cluster, point it at the service
(``http://gafaelfawr.gafaelfawr:8080``) to skip the external hop.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field

from .base import ConfigModel

__all__ = ["GAFAELFAWR_API_PATH", "AuthConfig", "AuthMode"]

GAFAELFAWR_API_PATH = "/auth/api/v1"
"""Where Gafaelfawr serves ``user-info`` and ``token-info`` below its base URL."""

MAX_CACHE_SECONDS = 600.0
"""Upper bound of ``cacheSeconds``: a revoked token stays accepted for at most this long."""


class AuthMode(StrEnum):
    """Who authenticates callers: the Gafaelfawr ingress, or the controller itself."""

    INGRESS = "ingress"
    DIRECT = "direct"


def _http_base_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")


class AuthConfig(ConfigModel):
    """How requests are authenticated and where Gafaelfawr answers."""

    mode: AuthMode = AuthMode.INGRESS

    gafaelfawr_url: Annotated[str, AfterValidator(_http_base_url)] | None = None
    """Base URL of Gafaelfawr (the API is below it, at ``/auth/api/v1``); ``None`` means
    the platform's ``baseUrl``. A trailing ``/`` is removed."""

    cache_seconds: float = Field(60.0, ge=0.0, le=MAX_CACHE_SECONDS)
    """How long a successful Gafaelfawr answer is reused for the same token; 0 disables the
    cache. Failures are never cached."""

    def gafaelfawr_base_url(self, base_url: str) -> str:
        """The Gafaelfawr base URL to use, given the platform's ``baseUrl``."""
        return self.gafaelfawr_url if self.gafaelfawr_url is not None else base_url
