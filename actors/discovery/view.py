"""The latest good discovery document, as a read-only mapping labs serialise at spawn time.

One writer (the ``discovery`` actor, through :meth:`DiscoveryView.publish`), many readers
(lab actors building their files ConfigMap). A publish replaces the whole document in one
assignment, and a published document is never changed afterwards, so a reader sees either
the old or the new document, never a mix. The view belongs to the service, not to an actor
incarnation: a crash of the actor does not lose the last good copy.

Before the first successful fetch there is no document. Reading the view then raises
:class:`DiscoveryUnavailableError`: a lab built now would keep an empty discovery file for
its whole life (the ConfigMap is immutable), with Butler and every data service silently
unreachable from it, so the spawn is refused with a message that says why instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from actors.errors import ControllerError

__all__ = ["DiscoveryUnavailableError", "DiscoveryView"]


class DiscoveryUnavailableError(ControllerError):
    """No discovery document has been fetched yet; labs cannot be given one."""

    error_type = "discovery_unavailable"
    status = 503


class DiscoveryView(Mapping[str, Any]):
    """Read-only, always the latest document the actor published (see module docstring)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._document: Mapping[str, Any] | None = None
        self.published_at: float | None = None
        """``trio.current_time()`` of the last publish (``None``: never)."""

    @property
    def available(self) -> bool:
        """Whether a document has ever been fetched."""
        return self._document is not None

    def publish(self, document: dict[str, Any], at: float) -> None:
        """Make ``document`` (owned by the view from now on) the current one."""
        self._document = MappingProxyType(document)
        self.published_at = at

    def _current(self) -> Mapping[str, Any]:
        document = self._document
        if document is None:
            raise DiscoveryUnavailableError(
                f"Service discovery (Repertoire at {self.url}) has not answered since the"
                " controller started, so the lab cannot be given its discovery file;"
                " try again shortly"
            )
        return document

    def __getitem__(self, key: str) -> Any:
        return self._current()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())
