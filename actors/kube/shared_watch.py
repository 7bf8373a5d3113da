"""The actor behind every shared watch (informers, the relay of pod Events).

A shared watch serves many actors, so it must outlive anything a watch can meet. Transient
failures are the watch's own business (``actors.kube.watch`` resumes, relists, backs off); a
*refusal* (403, 404: retrying at once would not help) is reported, counted, shown in the
actor tree as the phase ``refused``, and tried again every :data:`REFUSED_RETRY_INTERVAL`
seconds, for ever. The actor never crashes on it: crashing would only restart it into the
same refusal, and its supervisor would give up on a watch that many actors depend on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import structlog
import trio

from actors.runtime import Actor, describe_error

from .errors import KubernetesError

__all__ = ["REFUSED_RETRY_INTERVAL", "SharedWatchActor"]

log = structlog.get_logger(__name__)

REFUSED_RETRY_INTERVAL = 5.0
"""Seconds before a refused watch (403, 404) is tried again."""


class SharedWatchActor(Actor, ABC):
    """Runs :meth:`watch` for the whole incarnation, retrying it after refusals."""

    def __init__(self) -> None:
        self.refusals = 0
        self.refused: str | None = None
        """Why the watch is refused right now (``None`` once it lists again)."""

    async def on_start(self) -> None:
        self.context.start_soon(self._watch_forever)

    @abstractmethod
    async def watch(self) -> None:
        """Run the watch until it fails; subclasses say what to do with what it sees."""

    def on_refused(self, error: KubernetesError) -> None:
        """Tell whoever depends on the watch that it is refused (default: nobody)."""

    def listed(self) -> None:
        """Call when the watch has listed: it is no longer refused."""
        if self.refused is not None:
            self.refused = None
            self.context.changed()

    def inspect(self) -> dict[str, Any]:
        return {"refusals": self.refusals, "refused": self.refused}

    async def _watch_forever(self) -> None:
        while True:
            try:
                await self.watch()
            except KubernetesError as error:
                self.refusals += 1
                self.refused = describe_error(error)
                log.warning(
                    "Watch refused; retrying later", actor=self.context.name, error=self.refused
                )
                self.on_refused(error)
                self.context.changed()
                await trio.sleep(REFUSED_RETRY_INTERVAL)
