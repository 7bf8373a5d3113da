"""``migration-manager``: which pairs run, and the reverse-pair rule (``api.md`` §12.1).

A start is first *claimed* here: the claim is refused while the reverse pair runs, and
otherwise marks the pair running at once, so two opposite requests racing each other cannot
both pass (the manager handles one message at a time). Migration actors then report the
truth (``Report``) whenever their pair starts or stops running.

At startup the manager lists migration pods in the controller namespace and hands each to
its pair's actor, so a copy that outlived a controller restart is followed to its end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog
import trio
from kubernetes.client import V1Pod

from actors.common.labels import Category
from actors.kube import CATEGORY_LABEL, KubeClient
from actors.runtime import Actor, ActorRef, Request

from .builder import pair_of_pod
from .errors import MigrationConflictError

log = structlog.get_logger(__name__)

LIST_TIMEOUT = 30.0


@dataclass(frozen=True)
class Claim(Request[None]):
    """Reserve ``old → new`` for a start; ``MigrationConflictError`` if ``new → old`` runs."""

    old_user: str
    new_user: str


@dataclass(frozen=True)
class Report(Request[None]):
    old_user: str
    new_user: str
    running: bool


class MigrationManager(Actor):
    """The running pairs and startup adoption."""

    kind = "migration-manager"

    def __init__(
        self,
        kube: KubeClient,
        namespace: str,
        *,
        adopt: Callable[[str, str, V1Pod], ActorRef],
        ready: trio.Event,
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self._adopt = adopt
        self._ready = ready
        self.running: set[tuple[str, str]] = set()

    async def on_start(self) -> None:
        with trio.fail_after(LIST_TIMEOUT):
            pods = await self.kube.pods.list(
                self.namespace, label_selector={CATEGORY_LABEL: Category.MIGRATOR.value}
            )
        for pod in pods:
            pair = pair_of_pod(pod)
            if pair is not None:
                log.info("Following migration found at startup", old=pair[0], new=pair[1])
                self._adopt(pair[0], pair[1], pod)
        self._ready.set()

    async def handle(self, message: object) -> object:
        match message:
            case Claim(old_user, new_user):
                if (new_user, old_user) in self.running:
                    raise MigrationConflictError(
                        f"Migration for {new_user} -> {old_user} already in progress"
                    )
                self.running.add((old_user, new_user))
                return None
            case Report(old_user, new_user, running):
                if running:
                    self.running.add((old_user, new_user))
                else:
                    self.running.discard((old_user, new_user))
                return None
        return await super().handle(message)

    @property
    def phase(self) -> str:
        return "ready" if self._ready.is_set() else "starting"

    def inspect(self) -> dict[str, object]:
        return {"running": len(self.running)}
