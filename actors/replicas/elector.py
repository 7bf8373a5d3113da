"""The elector: the actor that takes, keeps and gives away the lease.

Every replica runs one. It tries to acquire the lease every ``retryPeriod`` (at once when its
watch of the lease shows it released), and the holder renews it as often. Each success
starts or extends this process's term (``actors.runtime.terms``) with the fence
``sent + renewDeadline``, where ``sent`` is when the successful request *left*: the API
server stored the renewal after that, so every other replica saw the lease change after
that too, and none may take it before ``leaseDuration`` more has passed on its own clock.
The fence therefore falls ``leaseDuration - renewDeadline`` before any successor can
start. Between, a timer of the elector's has cancelled the leader-only actors, and the
Kubernetes client refuses writes (its write fence asks the same term).

The elector is not leader-only and survives its own restarts without a gap: a restarted
elector finds itself the holder and extends the same term.

Hand-off (:class:`Release`): the controller ends the term first, then asks the elector to
release. The release writes an empty holder with a one-second lease, which the followers'
watches see at once; the first to write wins and starts serving.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from typing import Any

import structlog
import trio

from actors.config.leader_election import LeaderElectionConfig
from actors.kube import KubeClient, KubernetesError
from actors.kube.errors import ObjectRef
from actors.kube.resources import LEASES
from actors.kube.watch import ObjectWatch
from actors.runtime import Actor, Request, describe_error
from actors.runtime.terms import Term

from .lease import LeaseRecord, lease_body, micro_time
from .view import Leader, LeaderView

__all__ = ["Elector", "Release"]

log = structlog.get_logger(__name__)

RELEASE_TIMEOUT = 2.0
"""Seconds the release of the lease may take; past that the successor waits out the lease."""

ACQUIRE_JITTER = 1.2
"""A follower's wait between attempts is ``retryPeriod`` times up to this (client-go's
jitter), so that followers do not all write at the same instant."""


EXPIRY_MARGIN = 0.01
"""Seconds after a lease's expiry at which a follower tries for it (its clock has moved
past the expiry by then, however it rounds)."""


class Release(Request[bool]):
    """Give the lease away (the term must already have ended); answers whether the release
    was written."""


class Elector(Actor):
    """Acquires and renews the lease; runs this replica's terms (see module docstring)."""

    kind = "elector"

    def __init__(
        self,
        config: LeaderElectionConfig,
        kube: KubeClient,
        namespace: str,
        view: LeaderView,
        *,
        addressed: trio.Event,
    ) -> None:
        self.lease_name = config.lease_name
        self.namespace = namespace
        self.duration = config.lease_duration.total_seconds()
        self.renew_deadline = config.renew_deadline.total_seconds()
        self.retry_period = config.retry_period.total_seconds()
        self.kube = kube
        self.view = view
        self.terms = view.terms
        self._addressed = addressed
        self._poke = trio.Event()
        self._mine: dict[str, Any] | None = None
        """The lease as this replica last wrote it (its resourceVersion makes the next renewal
        conditional without reading first)."""
        self._observed: LeaseRecord | None = None
        self._observed_at = 0.0
        self._retired = False
        self.attempts = 0
        self.failures = 0
        self.last_error: str | None = None
        self.last_renewal: float | None = None

    async def on_start(self) -> None:
        self.view.on_doubt = self._doubt
        self.context.start_soon(self._watch_lease)
        self.context.start_soon(self._elect_forever)
        term = self._leading_term()
        if term is not None:
            # A restarted elector: the term goes on, and so must its fence.
            self.context.start_soon(self._fence, term)

    async def handle(self, message: object) -> object:
        if isinstance(message, Release):
            return await self._release()
        return await super().handle(message)

    # -- inspecting ------------------------------------------------------------------------

    @property
    def phase(self) -> str:
        if self._retired:
            return "released"
        return "leading" if self.terms.leading else "following"

    def inspect(self) -> dict[str, Any]:
        term = self.terms.current
        leader = self.view.leader
        return {
            "identity": self.view.identity,
            "url": self.view.url,
            "lease": f"{self.namespace}/{self.lease_name}",
            "leader": leader.identity if leader is not None else None,
            "leader_since": leader.since if leader is not None else None,
            "term": term.number if term is not None and term.valid else None,
            "fence_in_seconds": (
                round(term.deadline - trio.current_time(), 2)
                if term is not None and term.valid
                else None
            ),
            "attempts": self.attempts,
            "failures": self.failures,
            "last_error": self.last_error,
        }

    # -- electing --------------------------------------------------------------------------

    async def _elect_forever(self) -> None:
        # The holder's address goes into the lease: no point leading before it is known.
        await self._addressed.wait()
        while not self._retired:
            await self._attempt()
            self._check_fence()
            if self.terms.leading:
                wait = self.retry_period
            else:
                wait = self.retry_period * random.uniform(1.0, ACQUIRE_JITTER)
                observed = self._observed
                if observed is not None and observed.holder:
                    # Try again the moment the holder's lease runs out, not up to a retry
                    # period later: that moment is the failover time after a crash.
                    expires_in = self._observed_at + observed.duration - trio.current_time()
                    if 0 <= expires_in < wait:
                        wait = expires_in + EXPIRY_MARGIN
            with trio.move_on_after(wait):
                await self._poke.wait()
            self._poke = trio.Event()

    def _doubt(self) -> None:
        """A request could not reach the leader the view names: attempt (which reads the
        lease, as a follower) now rather than at the next retry."""
        if not self.terms.leading:
            self._mine = None
            self._poke.set()

    def _check_fence(self) -> None:
        """End a term whose fence has passed (Trio already cancelled its work)."""
        term = self.terms.current
        if term is not None and not term.ended.is_set() and not term.valid:
            log.warning(
                "Lost leadership: the lease was not renewed within the renew deadline",
                identity=self.view.identity,
                term=term.number,
                last_error=self.last_error,
            )
            self.terms.end()
            self.view.changed()

    def _leading_term(self) -> Term | None:
        term = self.terms.current
        return term if term is not None and term.valid else None

    async def _attempt(self) -> None:
        """One try to acquire or renew, bounded so that it cannot outlive the fence."""
        self.attempts += 1
        sent = trio.current_time()
        term = self._leading_term()
        bound = self.renew_deadline if term is None else max(0.0, term.deadline - sent)
        written: dict[str, Any] | None = None
        with trio.move_on_after(bound):
            try:
                written = await self._write_next(sent, renewing=term is not None)
            except KubernetesError as error:
                self.failures += 1
                self.last_error = describe_error(error)
                if error.conflict:
                    self._mine = None  # someone else wrote: read before the next try
                if term is not None or not error.conflict:
                    log.warning(
                        "Lease attempt failed", identity=self.view.identity, error=str(error)
                    )
        if written is None:
            return
        self._mine = written
        self.last_error = None
        self.last_renewal = time.time()
        self._saw(LeaseRecord.from_object(written))
        deadline = sent + self.renew_deadline
        term = self._leading_term()
        if term is not None:
            term.extend(deadline)
            return
        term = self.terms.begin(deadline, holder=self.view.identity)
        log.info("Became leader", identity=self.view.identity, term=term.number)
        self.context.start_soon(self._fence, term)
        self.view.changed()

    async def _fence(self, term: Term) -> None:
        """End ``term`` when its fence passes (unless a renewal moved it first)."""
        await term.expire()
        if self.terms.current is term and trio.current_time() >= term.deadline:
            log.warning(
                "Lost leadership: the lease was not renewed within the renew deadline",
                identity=self.view.identity,
                term=term.number,
                last_error=self.last_error,
            )
            self.terms.end()
            self.view.changed()

    async def _write_next(self, sent: float, *, renewing: bool) -> dict[str, Any] | None:
        """Write the next version of the lease if this replica may; the written object."""
        now = micro_time(datetime.now(UTC))
        leases = self.kube.leases
        mine = self._mine if renewing else None
        if mine is None:
            current = await leases.read_raw(self.namespace, self.lease_name)
            if current is None:
                body = self._body(now, now, 0, None)
                return await self._send("POST", body, create=True)
            record = LeaseRecord.from_object(current)
            self._saw(record)
            me = self.view.identity
            if record.holder != me and not record.expired(self._observed_at, sent):
                return None
            if record.holder == me:
                acquired, transitions = record.acquire_time or now, record.transitions
            else:
                acquired, transitions = now, record.transitions + 1
            body = self._body(acquired, now, transitions, record.resource_version)
        else:
            record = LeaseRecord.from_object(mine)
            body = self._body(
                record.acquire_time or now, now, record.transitions, record.resource_version
            )
        return await self._send("PUT", body, create=False)

    def _body(
        self, acquired: str, renewed: str, transitions: int, version: str | None
    ) -> dict[str, Any]:
        return lease_body(
            name=self.lease_name,
            namespace=self.namespace,
            holder=self.view.identity,
            duration=self.duration,
            acquire_time=acquired,
            renew_time=renewed,
            transitions=transitions,
            leader_url=self.view.url,
            resource_version=version,
        )

    async def _send(self, method: str, body: dict[str, Any], *, create: bool) -> dict[str, Any]:
        """Write the lease. Never fenced: these writes are what keeps the fence."""
        path = LEASES.path(self.namespace, None if create else self.lease_name)
        ref = ObjectRef(LEASES.kind, self.namespace, self.lease_name)
        return await self.kube.transport.request(method, path, ref, body=body, fenced=False)

    # -- watching --------------------------------------------------------------------------

    def _saw(self, record: LeaseRecord | None) -> None:
        """Note a version of the lease: its holder for the view, when it last changed."""
        if record is None:
            self._observed = None
            self.view.observe(None)
            return
        if self._observed is None or record.change_key != self._observed.change_key:
            self._observed_at = trio.current_time()
        self._observed = record
        me = self.view.identity
        if record.holder and record.holder != me:
            term = self._leading_term()
            if term is not None:
                # Someone else holds it while we think we lead: only a misconfiguration or
                # a clock gone wild does that. Stop acting at once.
                log.error(
                    "Another replica holds the lease during this replica's term",
                    identity=me,
                    holder=record.holder,
                    term=term.number,
                )
                self.terms.end()
                self.view.changed()
        self.view.observe(
            Leader(record.holder, record.leader_url, record.acquire_time, record.transitions)
            if record.holder
            else None
        )

    async def _watch_lease(self) -> None:
        """Follow the lease, so that a release is acted on at once and followers know where
        the leader is between their own attempts."""
        leases = self.kube.leases
        while True:
            try:
                watch = leases.watch_raw(
                    self.namespace,
                    field_selector={"metadata.name": self.lease_name},
                    reconnect_timeout=max(self.duration, 30.0),
                )
                async with ObjectWatch(watch) as states:
                    async for state in states:
                        record = None if state is None else LeaseRecord.from_object(state)
                        self._saw(record)
                        if record is None or not record.holder:
                            self._poke.set()
            except KubernetesError as error:
                log.info("Lease watch interrupted", error=str(error))
            await trio.sleep(self.retry_period)

    # -- giving away -----------------------------------------------------------------------

    async def _release(self) -> bool:
        """Write an empty holder (see module docstring); stop trying to lead."""
        self._retired = True
        self.terms.end()
        self.view.changed()
        mine = self._mine
        if mine is None:
            return False
        record = LeaseRecord.from_object(mine)
        now = micro_time(datetime.now(UTC))
        body = lease_body(
            name=self.lease_name,
            namespace=self.namespace,
            holder="",
            duration=1,
            acquire_time=now,
            renew_time=now,
            transitions=record.transitions,
            leader_url=None,
            resource_version=record.resource_version,
        )
        with trio.move_on_after(RELEASE_TIMEOUT):
            try:
                await self._send("PUT", body, create=False)
            except KubernetesError as error:
                log.warning("Could not release the lease", error=str(error))
                return False
            log.info("Released the lease", identity=self.view.identity)
            return True
        log.warning("Could not release the lease in time", timeout=RELEASE_TIMEOUT)
        return False
