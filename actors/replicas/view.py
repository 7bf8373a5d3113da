"""What this replica knows of leadership: who leads, where to reach it, and since when.

The elector keeps it current from the lease; the web layer reads it to decide whether a
request is served here or forwarded, the admin views show it, the metrics count its
transitions. It is plain data and a change counter, shared by reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import trio

from actors.runtime.changes import ChangeCounter
from actors.runtime.terms import Terms

__all__ = ["Leader", "LeaderView"]

RECHECK_INTERVAL = 0.25
"""Seconds between re-checks of a waiting route when nothing reported a change."""


@dataclass(frozen=True, slots=True)
class Leader:
    """The holder of the lease as last seen."""

    identity: str
    url: str | None
    since: str | None
    """When it acquired the lease (its ``acquireTime``, as it wrote it)."""
    transitions: int


class LeaderView(ChangeCounter):
    """This replica's identity and address, and the leader it last saw."""

    def __init__(self, identity: str, url: str | None, terms: Terms, *, enabled: bool) -> None:
        super().__init__()
        self.identity = identity
        self.url = url
        self.terms = terms
        self.enabled = enabled
        """False: a lone replica, which always serves (no lease, no forwarding)."""
        self.leader: Leader | None = None
        self.leader_changes = 0
        """Times the observed holder changed identity (each acquisition, here or elsewhere)."""
        self.handing_off = False
        """Set once this replica started giving its leadership away (SIGTERM)."""
        self.on_doubt: Callable[[], None] | None = None
        """Set by the elector: read the lease now (:meth:`doubt`)."""

    def observe(self, leader: Leader | None) -> None:
        """Record the lease's holder (``None``: nobody holds it)."""
        before = self.leader.identity if self.leader is not None else None
        after = leader.identity if leader is not None else None
        if after is not None and after != before:
            self.leader_changes += 1
        if leader != self.leader:
            self.leader = leader
            self.changed()

    @property
    def leading(self) -> bool:
        """Whether this replica holds a valid term."""
        return self.terms.leading

    def serves_locally(self) -> bool:
        """Whether requests are answered here: a lone replica, or a leader whose services
        have rebuilt their state for the term and which is not handing off."""
        if not self.enabled:
            return True
        term = self.terms.current
        return (
            term is not None
            and term.valid
            and term.ready.is_set()
            and term.accepting
            and not self.handing_off
        )

    def remote_leader_url(self) -> str | None:
        """The address of another replica that leads, if one is known."""
        leader = self.leader
        if leader is None or leader.identity == self.identity or leader.url is None:
            return None
        if leader.url == self.url:
            return None
        return leader.url

    def doubt(self) -> None:
        """Someone could not reach the leader this view names: look at the lease again."""
        if self.on_doubt is not None:
            self.on_doubt()

    def begin_handoff(self) -> None:
        """From now on, requests are not served here (they wait for the next leader)."""
        self.handing_off = True
        self.changed()

    async def wait_route(self, timeout: float) -> str | None:  # noqa: ASYNC109 - a bound
        """Wait until requests can be served here (``""``) or forwarded (the leader's URL);
        ``None`` if neither happens within ``timeout``.

        Whoever changes what this depends on calls :meth:`changed` (the elector for terms
        and holders, the controller for a term's readiness); the short re-check covers a
        fence that expired between two of the elector's rounds.
        """
        with trio.move_on_after(timeout):
            while True:
                since = self.version
                if self.serves_locally():
                    return ""
                url = self.remote_leader_url()
                if url is not None:
                    return url
                with trio.move_on_after(RECHECK_INTERVAL):
                    await self.wait_changed(since)
        return None
