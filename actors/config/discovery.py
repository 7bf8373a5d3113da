"""The ``discovery`` section (a nublado-trio extension): how often Repertoire is asked.

The Repertoire URL itself is the top-level ``repertoireBaseUrl`` (normally the
``REPERTOIRE_BASE_URL`` environment variable); without it there is no discovery service and
labs get an empty document. The section is normally left out.
"""

from __future__ import annotations

from datetime import timedelta

from .base import ConfigModel
from .units import PositiveDuration

__all__ = ["DiscoveryConfig"]


class DiscoveryConfig(ConfigModel):
    """Refresh cadence and request bound of the service-discovery document."""

    refresh_interval: PositiveDuration = timedelta(minutes=5)
    """How often the document is fetched again. A failed fetch is retried sooner (at most
    30 s later), keeping the last good copy meanwhile."""

    timeout: PositiveDuration = timedelta(seconds=20)
    """Bound on one fetch (connect, send, wait, read)."""
