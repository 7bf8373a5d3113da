"""The ``LeaderRoute`` of a replica with leader election: its ``LeaderView``.

The elector keeps the view current from the Lease; the view already knows how to wait for a
route (``wait_route``: serve here, or the leader's URL). This only adds the wait's bound,
``leaderElection.forwardTimeout``.
"""

from __future__ import annotations

from actors.replicas.service import ReplicaService
from actors.replicas.view import LeaderView

__all__ = ["LeaderViewRoute"]


class LeaderViewRoute:
    """Routes requests by ``view``; a request waits up to ``wait`` seconds for a leader."""

    def __init__(self, view: LeaderView, wait: float) -> None:
        self._view = view
        self._wait = wait

    @classmethod
    def of(cls, replicas: ReplicaService) -> LeaderViewRoute:
        """The route of ``replicas``, waiting as long as its configuration says."""
        return cls(replicas.view, replicas.config.forward_timeout.total_seconds())

    @property
    def identity(self) -> str:
        return self._view.identity

    def serves_locally(self) -> bool:
        return self._view.serves_locally()

    def doubt(self) -> None:
        """The leader it named could not be reached: have the elector read the lease now
        rather than wait for its watch (which may run behind on a loaded machine)."""
        self._view.doubt()

    async def leader_url(self) -> str | None:
        # ``wait_route`` answers "" for "serve here", which is SERVE_HERE.
        return await self._view.wait_route(self._wait)
