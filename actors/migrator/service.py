"""The migrator as the web layer sees it; owns the ``migrations`` subtree::

    migrations                          (supervisor; escalates)
    ├── informer/migration-pods         (the one watch of migration pods; a view per pair)
    ├── migration-manager               (running pairs, reverse-pair rule, startup adoption)
    └── migration-pairs                 (supervisor; gives up per child)
        └── migration/<old>-to-<new>    (one per pair asked about since the start)

Pair actors are not retired: each keeps its pair's final status (a few hundred bytes) for
as long as the controller runs, which is what lets ``GET`` report a finished copy after its
pod is gone. Pair actors follow their pods through the informer's feed, which outlives the
informer's incarnations (``.informer``).
"""

from __future__ import annotations

import structlog
import trio
from kubernetes.client import V1Pod

from actors.common.family import ActorFamily, tell_directory
from actors.common.tuning import DEFAULT_TUNING, Tuning
from actors.config import ControllerConfig
from actors.kube import KubeClient
from actors.runtime import (
    ActorRef,
    ActorStopped,
    MailboxFull,
)
from actors.runtime.terms import TermReady, Terms

from .builder import migration_key, pair_of_key
from .errors import MigrationFailedError, refusal_for_exit_code
from .informer import migration_pod_informer
from .manager import Claim, MigrationManager, Report
from .migration import (
    Cancel,
    GetStatus,
    MigrationActor,
    MigrationDependencies,
    MigrationStatus,
    Start,
)

__all__ = ["MigrationStatus", "MigratorService"]

log = structlog.get_logger(__name__)


class MigratorService:
    """Start, inspect and cancel home-directory migrations. Pairs must be validated first."""

    def __init__(
        self,
        config: ControllerConfig,
        kube: KubeClient,
        *,
        namespace: str,
        tuning: Tuning = DEFAULT_TUNING,
        terms: Terms | None = None,
    ) -> None:
        self.ask_timeout = tuning.ask_timeout
        self._ready = TermReady(terms)
        self.pods, self.pod_informer = migration_pod_informer(
            kube, namespace, reconnect_timeout=config.watch_reconnect_timeout.total_seconds()
        )
        self._deps = MigrationDependencies(
            config=config, kube=kube, namespace=namespace, report=self._report, pods=self.pods
        )
        self._op_timeout = config.fsadmin.timeout.total_seconds() * 2 + 5.0
        self.family: ActorFamily[V1Pod] = ActorFamily(
            members="migration-pairs",
            kind="migration",
            limits=tuning.per_user_limits,
            make_member=self._make_actor,
        )
        self.pairs = self.family.members
        self.registry = self.family.registry
        self.manager = ActorRef(
            "migration-manager",
            lambda: MigrationManager(
                kube, namespace, adopt=self._adopt, ready=self._ready.current()
            ),
            mailbox_size=10_000,
        )
        self.supervisor = self.family.assemble("migrations", self.manager, [self.pod_informer])

    @property
    def ready(self) -> trio.Event:
        """Set once the directory has rebuilt its state in the current term (the whole
        process life for a lone replica)."""
        return self._ready.current()

    def _make_actor(self, key: str, initial: V1Pod | None) -> MigrationActor:
        old_user, new_user = pair_of_key(key)
        return MigrationActor(old_user, new_user, self._deps, initial=initial)

    def _adopt(self, old_user: str, new_user: str, pod: V1Pod) -> ActorRef:
        return self.family.start_observed(migration_key(old_user, new_user), pod)

    def _report(self, old_user: str, new_user: str, running: bool) -> None:
        report = Report(old_user, new_user, running)
        tell_directory(self.manager, report, "Migration directory")

    async def start(self, old_user: str, new_user: str) -> MigrationStatus:
        """Start (or join) a copy; the status once its pod left Pending.

        A copy that already finished is judged by its exit code: 0 is the status, 4 to 7
        are the §12.3 refusals, anything else ``MigrationFailedError``. The reverse pair
        running is ``MigrationConflictError``.
        """
        await self.manager.ask(Claim(old_user, new_user), timeout=self.ask_timeout)
        actor = self.registry.get_or_start(migration_key(old_user, new_user))
        try:
            status = await actor.ask(Start(), timeout=self._op_timeout)
        except (MailboxFull, ActorStopped):
            # The start never reached the actor: release the claim it made.
            self._report(old_user, new_user, False)
            raise
        if status.running:
            return status
        if status.exit_code is None:
            raise MigrationFailedError(f"Migration {old_user} -> {new_user} ended without code")
        refusal = refusal_for_exit_code(old_user, new_user, status.exit_code)
        if refusal is not None:
            raise refusal
        return status

    async def status(self, old_user: str, new_user: str) -> MigrationStatus | None:
        """The pair's status (running or finished), ``None`` when none is known."""
        actor = self.registry.get(migration_key(old_user, new_user))
        if actor is None:
            return None
        return await actor.ask(GetStatus(), timeout=self._op_timeout)

    async def cancel(self, old_user: str, new_user: str) -> None:
        """Remove the pair's pod (idempotent); a recorded final status is kept."""
        actor = self.registry.get_or_start(migration_key(old_user, new_user))
        await actor.ask(Cancel(), timeout=self._op_timeout)
