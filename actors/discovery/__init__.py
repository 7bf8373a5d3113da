"""Service discovery for labs: Repertoire's document, fetched, refreshed and kept.

* ``document`` — the labs' reduced view of Repertoire's discovery document;
* ``view`` — the latest good copy, which lab actors read when they build a lab;
* ``service`` — the ``discovery`` singleton actor that fetches and refreshes it.
"""

from .document import DiscoveryDocumentError, nublado_view
from .service import DiscoveryActor, DiscoveryService, RefreshDiscovery
from .view import DiscoveryUnavailableError, DiscoveryView

__all__ = [
    "DiscoveryActor",
    "DiscoveryDocumentError",
    "DiscoveryService",
    "DiscoveryUnavailableError",
    "DiscoveryView",
    "RefreshDiscovery",
    "nublado_view",
]
