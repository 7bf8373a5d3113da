"""The ``prepuller`` singleton actor: keeps the prepull set cached on every eligible node.

State machine (``phase``): ``idle`` ⇄ ``pulling``. A cycle starts when the ``images`` actor
reports a new catalog (``CatalogChanged``, after each successful refresh, so new images and
new nodes are picked up without a restart) and once at start. A cycle asks ``images`` for the
plan — for each *eligible* node (taints tolerated, images.md quirk I1 fixed) the prepull-set
images it lacks — and runs one worker per node, all nodes in parallel, each pulling its images
**one at a time** with a prepull pod under ``images.prepullTimeout``
(``kubernetes-objects.md`` §5). A catalog change during a cycle starts another cycle right
after this one ends; changes are never queued up beyond one.

Each successful pull is reported back to ``images`` (``RecordPulled``) so the menu offers the
image before the next refresh. Only successes are recorded (quirk I2: a failed pull is not
pretended to be present). Failures are logged and kept in ``inspect()``; they never stop the
other pulls, and the next cycle tries again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
import trio

from actors.alerts import Operation as Alerted
from actors.alerts import report_alert
from actors.config import ControllerConfig
from actors.kube import KubeClient, KubernetesError
from actors.kube.pods import PREPULL_PHASES
from actors.runtime import Actor, ActorRef, ActorStopped, AskTimeout, MailboxFull
from actors.runtime.snapshot import describe_error

from .catalog import PrepullTarget
from .messages import GetPrepullPlan, RecordPulled
from .prepull_pod import PodIdentity, prepull_pod, read_pod_identity

__all__ = ["CatalogChanged", "PrepullResult", "PrepullerActor"]

log = structlog.get_logger(__name__)

CALL_TIMEOUT = 30.0
"""Bound on creating (replacing a leftover included) and deleting one prepull pod."""


@dataclass(frozen=True)
class PrepullResult:
    """The outcome of one pull of ``tag`` onto ``node``."""

    node: str
    tag: str
    outcome: str
    """``succeeded``, ``failed (<phase>)``, ``vanished``, ``timed out`` or ``error: …``."""
    at: float

    @property
    def succeeded(self) -> bool:
        return self.outcome == "succeeded"


@dataclass(frozen=True)
class CatalogChanged:
    """Told to the prepuller after each successful refresh of the images actor."""


class PrepullerActor(Actor):
    """Runs prepull cycles in a child task (see module docstring)."""

    kind = "prepuller"

    def __init__(
        self,
        config: ControllerConfig,
        kube: KubeClient,
        images: ActorRef,
        *,
        controller_namespace: str,
        ask_timeout: float,
    ) -> None:
        self.config = config
        self.kube = kube
        self.images = images
        self.ask_timeout = ask_timeout
        self.namespace = controller_namespace
        self.owner: PodIdentity | None = None
        self._changed = trio.Event()
        self._changed.set()  # one cycle at start: the catalog may predate this incarnation
        self.current: dict[str, str] = {}
        self.results: dict[tuple[str, str], PrepullResult] = {}
        self.cycles = 0
        self.pulls = 0
        self.failed_pulls = 0
        self.last_error: str | None = None

    async def on_start(self) -> None:
        self.owner = await read_pod_identity(self.config.metadata_path)
        self.context.start_soon(self._run_forever)

    async def handle(self, message: object) -> object:
        if isinstance(message, CatalogChanged):
            self._changed.set()
            return None
        return await super().handle(message)

    @property
    def phase(self) -> str:
        return "pulling" if self.current else "idle"

    def inspect(self) -> dict[str, Any]:
        failures = [
            {"node": r.node, "tag": r.tag, "outcome": r.outcome}
            for r in self.results.values()
            if not r.succeeded
        ]
        return {
            "cycles": self.cycles,
            "pulls": self.pulls,
            "failed_pulls": self.failed_pulls,
            "pulling": dict(sorted(self.current.items())),
            "recent_failures": failures[-20:],
            "owner_reference": self.owner is not None,
            "last_error": self.last_error,
        }

    # -- cycles ----------------------------------------------------------------------------

    async def _run_forever(self) -> None:
        pause = self.config.images.refresh_interval.total_seconds()
        while True:
            await self._changed.wait()
            self._changed = trio.Event()
            try:
                plan = await self.images.ask(GetPrepullPlan(), timeout=self.ask_timeout)
            except (AskTimeout, MailboxFull, ActorStopped) as error:
                self.last_error = f"could not get the prepull plan: {error}"
                log.warning("Prepuller could not get its plan", error=describe_error(error))
                await trio.sleep(pause)
                self._changed.set()
                continue
            self.last_error = None
            await self._cycle(plan)

    async def _cycle(self, plan: dict[str, list[PrepullTarget]]) -> None:
        if not plan:
            return
        log.info("Prepulling", nodes=len(plan), pulls=sum(len(t) for t in plan.values()))
        async with trio.open_nursery() as nursery:
            for node, targets in plan.items():
                nursery.start_soon(self._pull_all, node, targets)
        self.cycles += 1
        self.context.changed()

    async def _pull_all(self, node: str, targets: Sequence[PrepullTarget]) -> None:
        for target in targets:
            self.current[node] = target.tag
            self.context.changed()
            try:
                result = await self._pull(node, target)
            finally:
                self.current.pop(node, None)
            self._record(result, target)

    def _record(self, result: PrepullResult, target: PrepullTarget) -> None:
        self.pulls += 1
        self.results[(result.node, result.tag)] = result
        self.context.changed()
        if not result.succeeded:
            self.failed_pulls += 1
            log.warning("Prepull failed", node=result.node, tag=result.tag, outcome=result.outcome)
            report_alert(
                Alerted.PREPULL, f"prepull of {result.tag} on {result.node}: {result.outcome}"
            )
            return
        log.info("Prepulled image", node=result.node, tag=result.tag)
        try:
            self.images.tell(RecordPulled(target.digest, result.node))
        except (MailboxFull, ActorStopped) as error:
            # The next refresh reads the node status and sees the image anyway.
            log.info("Could not record a prepull", error=describe_error(error))

    async def _pull(self, node: str, target: PrepullTarget) -> PrepullResult:
        """Create the pod, wait for it to end (within the deadline), delete it."""
        timeout = self.config.images.prepull_timeout.total_seconds()
        pod = prepull_pod(
            target, node, namespace=self.namespace, lab=self.config.lab, owner=self.owner
        )
        assert pod.metadata is not None
        assert pod.metadata.name is not None
        name = pod.metadata.name
        outcome = "timed out"
        try:
            with trio.move_on_after(timeout):
                # Not shielded: a shutdown must not wait for a leftover pod's deletion; the
                # next controller's create-or-replace removes whatever is left.
                with trio.fail_after(CALL_TIMEOUT):
                    await self.kube.pods.create_or_replace(self.namespace, pod)
                phase = await self.kube.wait_for_pod_phase(
                    self.namespace, name, wait_through=PREPULL_PHASES
                )
                if phase is None:
                    outcome = "vanished"
                elif phase == "Succeeded":
                    outcome = "succeeded"
                else:
                    outcome = f"failed ({phase})"
        except (KubernetesError, trio.TooSlowError) as error:
            outcome = f"error: {error or 'pod creation took too long'}"
        try:
            with trio.fail_after(CALL_TIMEOUT):
                await self.kube.pods.delete(self.namespace, name)
        except (KubernetesError, trio.TooSlowError) as error:
            log.warning("Could not delete prepull pod", pod=name, error=describe_error(error))
        return PrepullResult(node=node, tag=target.tag, outcome=outcome, at=time.time())
