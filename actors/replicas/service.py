"""Leadership for the controller: the elector, the term keeper, and the hand-off.

``ReplicaService`` is what ``open_controller`` builds around the services. It owns:

* the :class:`~actors.runtime.terms.Terms` given to the actor system (leader-only nodes run
  in them) and to the services (their readiness is per term);
* the :class:`LeaderView` the web layer routes requests by;
* the ``elector`` actor (when leader election is on) and the ``term-keeper`` actor, which
  marks each term ready once the services have rebuilt their state in it;
* :meth:`hand_off`, the leader's last act on SIGTERM.

With leader election off there is one endless term, no elector, and the view always says
"serve here": the lone-replica controller of before.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import structlog
import trio

from actors.config.leader_election import LeaderElectionConfig
from actors.kube import KubeClient
from actors.runtime import Actor, ActorRef, RestartPolicy
from actors.runtime.terms import Terms

from .elector import RELEASE_TIMEOUT, Elector, Release
from .view import LeaderView

__all__ = ["ReplicaService", "replica_identity"]

HANDOFF_LINGER = 3.0
"""Seconds a leader that handed off keeps accepting requests (and passing them on) before
its server stops accepting, so that every follower has switched to the new leader, even on
a loaded machine where their watch of the lease runs behind. It lengthens the shutdown,
not the hand-off."""

log = structlog.get_logger(__name__)


def replica_identity(environ: dict[str, str] | os._Environ[str]) -> str:
    """This process's name among the replicas: the pod's name (``POD_NAME``, from the
    downward API), else the host name with a random suffix (unique per process)."""
    name = environ.get("POD_NAME", "").strip()
    if name:
        return name
    return f"{socket.gethostname()}-{secrets.token_hex(3)}"


class TermKeeper(Actor):
    """Marks each term ready once the services have rebuilt their state in it."""

    kind = "term-keeper"

    def __init__(self, view: LeaderView, wait_ready: Callable[[], Awaitable[None]]) -> None:
        self.view = view
        self.wait_ready = wait_ready
        self.serving_term: int | None = None

    async def on_start(self) -> None:
        self.context.start_soon(self._keep)

    @property
    def phase(self) -> str:
        return "serving" if self.serving_term is not None else "waiting"

    def inspect(self) -> dict[str, Any]:
        return {"serving_term": self.serving_term}

    async def _keep(self) -> None:
        terms = self.view.terms
        term = None
        while True:
            term = await terms.next_term(after=term)
            with term.scope():
                await self.wait_ready()
                term.ready.set()
                self.serving_term = term.number
                self.context.changed()
                self.view.changed()
                if self.view.enabled:
                    log.info("Leader is serving", identity=self.view.identity, term=term.number)
                await term.ended.wait()
            self.serving_term = None
            self.context.changed()
            self.view.changed()


class ReplicaService:
    """This replica's part in leadership (see module docstring)."""

    def __init__(
        self,
        config: LeaderElectionConfig,
        kube: KubeClient,
        namespace: str,
        *,
        identity: str,
    ) -> None:
        self.config = config
        self.enabled = config.enabled
        self.terms = Terms(endless=not config.enabled)
        self.view = LeaderView(identity, config.advertise_url, self.terms, enabled=self.enabled)
        self.addressed = trio.Event()
        if config.advertise_url is not None:
            self.addressed.set()
        kube.transport.identify(identity)
        self.elector: ActorRef | None = None
        self.children: list[tuple[ActorRef, RestartPolicy]] = []
        if self.enabled:
            kube.transport.write_fence = lambda: self.terms.leading
            self.elector = ActorRef(
                "elector",
                lambda: Elector(config, kube, namespace, self.view, addressed=self.addressed),
            )
            self.children.append((self.elector, RestartPolicy.PERMANENT))

    def keep_terms(self, wait_ready: Callable[[], Awaitable[None]]) -> None:
        """Add the term keeper, which needs the services' readiness."""
        keeper = ActorRef("term-keeper", lambda: TermKeeper(self.view, wait_ready))
        self.children.append((keeper, RestartPolicy.PERMANENT))

    def set_address(self, bound_url: str, environ: Mapping[str, str]) -> None:
        """Where the other replicas reach this one, once the server knows its port: the
        pod's IP (``POD_IP``, from the downward API) on that port, else the bound address;
        ``advertiseUrl`` overrides both."""
        if self.view.url is None:
            pod_ip = environ.get("POD_IP", "").strip()
            if pod_ip:
                split = urlsplit(bound_url)
                host = f"[{pod_ip}]" if ":" in pod_ip else pod_ip
                bound_url = f"{split.scheme}://{host}:{split.port}"
            self.view.url = bound_url
        self.addressed.set()

    async def hand_off(self) -> bool:
        """Give leadership away before shutting down; whether this replica was leading.

        Stops serving new operations (they wait for the next leader and are forwarded to
        it), lets spawns finish creating their objects (at most ``handoffTimeout``), ends the
        term (cancelling the leader-only actors; the write fence closes at once), then
        releases the lease for a follower to take at once.
        """
        if self.elector is None:
            return False
        term = self.terms.current
        leading = term is not None and term.valid
        self.view.begin_handoff()
        if leading and term is not None:
            timeout = self.config.handoff_timeout.total_seconds()
            in_progress = term.in_critical
            finished = await term.quiesce(timeout)
            log.info(
                "Handing off leadership",
                identity=self.view.identity,
                term=term.number,
                writes_in_progress=in_progress,
                writes_finished=finished,
            )
        self.terms.end()
        self.view.changed()
        with trio.move_on_after(RELEASE_TIMEOUT + 1):
            await self.elector.ask(Release(), timeout=RELEASE_TIMEOUT + 1)
        if leading:
            # Followers learn of the new leader from their watch of the lease, a moment
            # after the release; a request one of them sends here meanwhile is passed on.
            # Only then may the server stop accepting: a connection closed under a request
            # in flight would fail it.
            await trio.sleep(HANDOFF_LINGER)
        return leading
