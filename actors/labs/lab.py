"""``lab/<user>``: one user's lab state machine, its pod watch and its event log.

The actor owns everything the controller knows about one user's lab (``api.md`` §6):

* ``state`` — the ``LabState`` answered to status reads (never from Kubernetes directly);
* ``operation`` — at most one spawn, delete or monitor at a time, run in the actor's nursery
  so that the actor keeps answering while it works;
* ``events`` — the progress events of the current (or last) operation, with replay. The
  stream belongs to the user, not to one incarnation (the service keeps it): it is tied to the
  running incarnation, so a crash ends an open operation with ``error`` + ``failed`` instead of
  leaving subscribers waiting forever, and the restarted actor carries on with the same stream;
* a watch of the lab pod that keeps ``state`` true when the pod exits, fails, is evicted or is
  deleted behind the controller's back.

A new incarnation (first start, restart after a crash, revival after being given up) rebuilds
its state from what Kubernetes shows and reports it to the directory, even when that is "no
lab": status reads never keep answering from a previous incarnation's memory.

Leftovers of a spawn nobody remembers (a namespace without a complete lab, found at startup)
are removed by a ``cleanup`` operation that is invisible in the API: status and delete answer
404 (there is no lab), and a create is accepted at once and takes the cleanup over as the
first step of its spawn, as it replaces a dead lab. So status, create and delete agree at every
moment, and JupyterHub's spawner never meets a 409 it cannot clear with a delete.

Invariants: only this actor changes its state, and background work changes it only in
synchronous sections (no ``await`` between reading and writing), so every change is atomic
with respect to message handling. ``changed_at`` records the latest change so that a
reconciliation pass that started earlier never overrides it.

Phases (``phase`` in inspection): ``empty`` (no lab), then the lab status, suffixed with the
running operation (``pending/spawn``, ``terminating/delete``).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
import trio
from kubernetes.client import V1Pod

from actors.alerts import Operation as Alerted
from actors.alerts import error_text, report_alert
from actors.common.models import LabState, LabStatus, LabUser, ResourceQuantity, lab_options
from actors.common.models import SpawnRequest as SpawnRequest
from actors.common.naming import env_config_map_name, lab_object_name
from actors.common.operation import Operation, OperationKind
from actors.config import ControllerConfig
from actors.errors import (
    DeleteFailedError,
    LabExistsError,
    LeaderChangedError,
    OperationConflictError,
    UnknownUserError,
    failure_text,
)
from actors.kube import PENDING_PHASES, KubeClient, KubernetesError
from actors.kube.event_relay import Following, PodEventRelay
from actors.kube.informer import InformerFeed, KeyView
from actors.labs.builder import (
    LabPodFacts,
    build_lab,
    env_facts,
    internal_url,
    lab_namespace,
    namespace_facts,
    pod_facts,
    quota_facts,
)
from actors.labs.cluster import (
    create_lab_objects,
    delete_lab_namespace,
    delete_lab_pod,
    read_source_secrets,
)
from actors.labs.events import LabEvent, next_pod_event_progress
from actors.labs.messages import (
    Create,
    Delete,
    GetState,
    Observation,
    Observe,
    ObservedKind,
    PodChanged,
    PodEventMessage,
    Subscribe,
)
from actors.labs.observer import NO_SPAWN_OBSERVER, SpawnObserver, SpawnResult
from actors.labs.reconcile import observe_lab
from actors.runtime import Actor, EventStream, describe_error
from actors.runtime.terms import CriticalSection, NotAccepting, Terms

log = structlog.get_logger(__name__)

KUBERNETES_PROBE_TIMEOUT = 30.0
"""Deadline of the pod read that a create makes for an already-known lab."""

MAX_HELD_POD_EVENTS = 50
"""Pod Event messages kept while a spawn finishes creating its objects (a handful come)."""


@dataclass(frozen=True)
class LabDependencies:
    """What every lab actor shares: configuration, cluster access and where to report.

    ``report`` tells the lab directory about every state change (``None``: no lab), so that
    listing running labs never has to ask each actor; ``event_stream`` is the user's progress
    stream, which outlives the actor's incarnations (and copies every event to the all-labs
    feed operators watch).
    """

    config: ControllerConfig
    kube: KubeClient
    controller_namespace: str
    report: Callable[[str, LabState | None], None]
    event_stream: Callable[[str], EventStream[LabEvent]]
    pods: InformerFeed[LabPodFacts]
    """Phases of every lab pod, from the one shared watch of lab pods."""
    pod_events: PodEventRelay
    """Messages of the Kubernetes Events about lab pods, from the one watch of pod Events."""
    discovery: Mapping[str, Any]
    environ: Mapping[str, str]
    spawns: SpawnObserver = NO_SPAWN_OBSERVER
    """Told when spawns start, pass milestones and end (metrics)."""
    terms: Terms = field(default_factory=Terms)
    """This replica's terms: a spawn's write phase is a critical section of its term, and
    an operation cut by the end of a term is carried on by the next leader."""


class LabActor(Actor):
    """The state machine of one user's lab."""

    __slots__ = (
        "_held_pod_events",
        "_initial",
        "_pod_event_progress",
        "_pod_events",
        "_pod_expected",
        "_pod_gone",
        "_pod_phase",
        "_pod_ready",
        "_pod_refusal_told",
        "_pod_seen",
        "_pod_uid",
        "_pod_view",
        "changed_at",
        "config",
        "deps",
        "events",
        "kube",
        "namespace",
        "operation",
        "pod_name",
        "state",
        "username",
    )
    # Slots: one lab actor per lab, thousands of them. (The runtime's ``_context`` still
    # lands in a one-entry instance dictionary, the base class having none.)

    kind = "lab"
    may_hibernate = True  # thousands of idle labs: no task each while nothing happens

    def __init__(
        self, username: str, deps: LabDependencies, *, initial: Observation | None = None
    ) -> None:
        self.username = username
        self.deps = deps
        self.config = deps.config
        self.kube = deps.kube
        # Interned: the informers' indexes key this lab's objects by the same strings.
        self.namespace = sys.intern(lab_namespace(deps.config, username))
        self.pod_name = sys.intern(lab_object_name(username))
        self.state: LabState | None = None
        self.operation: Operation | None = None
        self.events = deps.event_stream(username)
        self.changed_at = -math.inf
        self._initial = initial
        self._pod_view: KeyView[LabPodFacts] | None = None
        """This lab's view of its pod in the shared informer (``None``: not following it)."""
        self._pod_expected = False
        """A pod was just created: absence from the view means "not seen yet", not "gone"."""
        self._pod_uid: str | None = None
        """The ``uid`` of the pod this actor's spawn created (``None``: an adopted lab, whose
        pod is whatever the view shows)."""
        self._pod_ready: trio.Event | None = None
        self._pod_refusal_told = False
        self._pod_events: Following | None = None
        """Following the pod's Kubernetes Events (while a spawn or monitor runs)."""
        self._held_pod_events: list[str] | None = None
        """Messages that arrived before the spawn said it created the objects (kept to keep
        the progress in order); ``None`` once they go out as they come."""
        self._pod_event_progress: int | None = None
        self._pod_phase: str | None = None
        """Phase of the lab pod as last seen (``None``: not seen yet, or gone). Only the phase is
        kept: a whole pod object costs tens of kilobytes per lab."""
        self._pod_gone = False
        """Whether the watch has seen the pod disappear (rather than not appear yet)."""
        self._pod_seen: trio.Event | None = None
        """Set when the pod view changes, for a wait on the pod's phase (made when one waits)."""

    # -- life cycle ------------------------------------------------------------------------

    async def on_start(self) -> None:
        """Rebuild from what reconciliation saw, or (after a crash) from Kubernetes.

        The event stream is tied to this incarnation before anything can fail, so that a
        crash from here on ends an open operation for its subscribers. Whatever was rebuilt,
        "no lab" included, is reported: the directory may still hold what the previous
        incarnation said.
        """
        self.context.own_events(self.events, self._last_words)
        self.context.on_exit(lambda _error: self._stop_pod_watch())
        self.context.on_exit(lambda _error: self._unfollow_pod_events())
        observation = self._initial
        self._initial = None
        if observation is None:
            observation = await self._observe_from_cluster()
        await self._apply(observation, adopting=True)
        self.deps.report(self.username, self.state)

    async def _observe_from_cluster(self) -> Observation:
        now = trio.current_time()
        with trio.fail_after(KUBERNETES_PROBE_TIMEOUT):
            namespace = await self.kube.namespaces.read_raw(None, self.namespace)
            if namespace is None:
                return Observation(ObservedKind.ABSENT, now)
            env = await self.kube.config_maps.read_raw(
                self.namespace, env_config_map_name(self.username)
            )
            pod = await self.kube.pods.read_raw(self.namespace, self.pod_name)
            quota = await self.kube.resource_quotas.read_raw(self.namespace, self.pod_name)
        # An answer that is no Kubernetes object raises here (a crash, never "incomplete").
        facts = namespace_facts(namespace)
        env_read = None if env is None else env_facts(env)
        pod_read = None if pod is None else pod_facts(pod)
        quota_read = None if quota is None else quota_facts(quota)
        try:
            observed = observe_lab(
                self.config,
                now,
                namespace=self.namespace,
                facts=facts,
                env=env_read,
                pod=pod_read,
                quota=quota_read,
            )
        except Exception:
            # Objects whose values cannot be read back: as reconciliation would, count them
            # as leftovers, but only in a namespace that says it is a lab's (quirk Q8).
            observed = observe_lab(
                self.config,
                now,
                namespace=self.namespace,
                facts=facts,
                env=None,
                pod=None,
                quota=None,
            )
        return observed or Observation(ObservedKind.ABSENT, now)

    def _last_words(self, error: BaseException | None) -> list[LabEvent]:
        """How an operation this incarnation leaves unfinished ends for its subscribers.

        Nothing when the term ended under it: the next leader carries the operation on from
        Kubernetes, and the streams follow it there (``web.handoff``).
        """
        if error is None and not self.deps.terms.leading:
            return []
        if error is None:
            return [LabEvent.failed("Operation cancelled")]
        deleting = self.operation is not None and self.operation.kind is OperationKind.DELETE
        return [
            LabEvent.error(f"Lab controller error: {describe_error(error)}"),
            LabEvent.failed("Lab delete failed" if deleting else "Lab spawn failed"),
        ]

    # -- messages --------------------------------------------------------------------------

    async def handle(self, message: object) -> object:
        match message:
            case GetState():
                return self.state
            case Subscribe():
                return self.events.subscribe()
            case Create(spawn):
                await self._create(spawn)
                return None
            case Delete():
                return self._delete()
            case Observe(observation):
                await self._apply(observation, adopting=False)
                return None
            case PodChanged():
                self._read_pod_view()
                return None
            case PodEventMessage(text):
                self._relay_pod_event(text)
                return None
        return await super().handle(message)

    @property
    def phase(self) -> str:
        if self.state is None:
            return "empty"
        if self.operation is not None and self.operation.running:
            return f"{self.state.status.value}/{self.operation.kind.value}"
        return self.state.status.value

    def inspect(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "events": len(self.events.events),
            "subscribers": self.events.subscriber_count,
            "pod_watch": self._pod_view is not None,
        }

    # -- state changes ---------------------------------------------------------------------

    def _set_state(self, state: LabState | None) -> None:
        self.state = state
        self.changed_at = trio.current_time()
        self.deps.report(self.username, state)
        self.context.changed()

    def _set_status(self, status: LabStatus, *, clear_url: bool = False) -> None:
        if self.state is None:
            return
        update: dict[str, Any] = {"status": status}
        if clear_url:
            update["internal_url"] = None
        self._set_state(self.state.model_copy(update=update))

    def _publish(self, event: LabEvent) -> None:
        self.events.publish(event)

    @property
    def _busy(self) -> bool:
        return self.operation is not None and self.operation.running

    def _running(self, kind: OperationKind) -> Operation | None:
        """The running operation if it is of this kind."""
        operation = self.operation
        if operation is not None and operation.running and operation.kind is kind:
            return operation
        return None

    def _start(
        self, kind: OperationKind, work: Callable[[Operation], Awaitable[None]]
    ) -> Operation:
        operation = Operation(kind)
        self.operation = operation

        async def run() -> None:
            try:
                with operation.cancel_scope:
                    await work(operation)
            except BaseException:
                # The incarnation died under the operation (a crash, or a stop): whoever
                # waits for a deletion must not hear that it succeeded. If the term ended
                # under it, the next leader finishes the deletion: the request goes there.
                if kind is OperationKind.DELETE and operation.error is None:
                    operation.error = (
                        DeleteFailedError() if self.deps.terms.leading else LeaderChangedError()
                    )
                raise
            finally:
                operation.finish(operation.error)
                self.context.changed()

        self.context.start_soon(run)
        return operation

    # -- create ----------------------------------------------------------------------------

    async def _create(self, spawn: SpawnRequest) -> None:
        if self.state is not None and not self._busy:
            await self._probe()
        cleanup = self._running(OperationKind.CLEANUP)
        if self._busy and cleanup is None:
            raise OperationConflictError(
                f"Conflicting operation for {self.username} already in progress"
            )
        if self.state is not None and not self.state.status.is_dead:
            raise LabExistsError(f"Lab already exists for {self.username}")
        section = self._begin_write_phase()
        # Leftovers being removed are no lab (status and delete say 404): the spawn takes
        # their removal over, as it replaces a dead lab, instead of refusing with a 409 that
        # no delete could clear.
        if cleanup is not None:
            cleanup.cancel()
        replace = self.state is not None or cleanup is not None
        user = spawn.user
        quota = user.notebook_quota
        self.events.begin()
        self._set_state(
            LabState(
                user=LabUser(
                    username=user.username,
                    name=user.name,
                    uid=user.uid or 0,
                    gid=user.gid or 0,
                    groups=list(user.groups),
                ),
                options=lab_options(
                    spawn.image.reference,
                    spawn.size,
                    enable_debug=spawn.enable_debug,
                    reset_user_env=spawn.reset_user_env,
                ),
                status=LabStatus.PENDING,
                internal_url=None,
                resources=spawn.resources,
                quota=(
                    ResourceQuantity(cpu=quota.cpu, memory=quota.memory_bytes)
                    if quota is not None
                    else None
                ),
            )
        )
        self._publish(LabEvent.info(f"Starting lab creation for {self.username}", 1))
        self._start(OperationKind.SPAWN, lambda op: self._spawn(op, spawn, replace, section))

    async def _probe(self) -> None:
        """Re-read the pod of a known lab before deciding whether it may be replaced."""
        assert self.state is not None
        try:
            with trio.fail_after(KUBERNETES_PROBE_TIMEOUT):
                pod = await self.kube.pods.read(self.namespace, self.pod_name)
        except (KubernetesError, trio.TooSlowError) as error:
            log.warning("Probe of lab pod failed", user=self.username, error=str(error))
            return
        if pod is None:
            self._set_status(LabStatus.FAILED)
        elif self.state.status is LabStatus.RUNNING:
            self._set_status(LabStatus.from_pod_phase(_phase(pod)))

    def _begin_write_phase(self) -> CriticalSection:
        """Mark a spawn's writes as a critical section of the term (a hand-off lets them
        finish); refused once the term is being handed off."""
        term = self.deps.terms.current
        try:
            if term is None:
                raise NotAccepting("no term")
            return term.begin_critical()
        except NotAccepting:
            raise LeaderChangedError() from None

    async def _spawn(
        self, operation: Operation, spawn: SpawnRequest, replace: bool, section: CriticalSection
    ) -> None:
        timeout = self.config.lab.spawn_timeout.total_seconds()
        started = trio.current_time()
        self.deps.spawns.spawn_started(self.namespace)
        self._pod_uid = None
        try:
            with trio.fail_after(timeout):
                if replace:
                    self._publish(
                        LabEvent.info(f"Deleting existing failed lab for {self.username}", 2)
                    )
                    await self._delete_objects(pod_progress=5, namespace_progress=12)
                    self._publish(LabEvent.info(f"Lab for {self.username} deleted", 20))
                # Follow the pod's Events before it exists, so that none is missed; those
                # that come before the objects are all created wait for that message.
                self._follow_pod_events(hold=True)
                _, pod_phase, self._pod_uid = await self._create_objects(spawn)
                self.deps.spawns.spawn_milestone(self.namespace, "objects_created")
                self._pod_phase = pod_phase
                self._pod_gone = False
                self._watch_pod(expecting=True)
                self._set_url(spawn.service_prefix)
                self._publish(LabEvent.info("Created Kubernetes objects for user lab", 30))
                section.end()  # from here on, Kubernetes holds all the next leader needs
                self._release_pod_events()
                phase = await self._wait_for_pod_start()
        except trio.TooSlowError:
            elapsed = trio.current_time() - started
            self._fail_spawn(f"Lab spawn timed out after {elapsed:.3f}", reason="timeout")
            report_alert(Alerted.SPAWN, f"timed out after {elapsed:.0f} s", user=self.username)
            return
        except trio.Cancelled:
            raise
        except Exception as error:
            if not self.deps.terms.leading:
                # The term ended under the spawn: the next leader carries it on (or cleans
                # up what it left); its subscribers follow the lab there.
                log.info("Spawn left to the next leader", user=self.username)
                return
            log.exception("Lab spawn failed", user=self.username)
            self._fail_spawn(failure_text(error))
            report_alert(Alerted.SPAWN, error_text(error), user=self.username)
            return
        finally:
            section.end()
            self._unfollow_pod_events()
            if operation.cancel_scope.cancel_called:
                self.deps.spawns.spawn_finished(self.namespace, SpawnResult.CANCELLED, "cancelled")
                self._publish(LabEvent.failed("Operation cancelled"))
        self._finish_start(phase, "Lab spawn failed")

    async def _create_objects(self, spawn: SpawnRequest) -> tuple[str | None, str, str | None]:
        """Build and create every object of the lab; returns the namespace's resourceVersion
        and the pod's phase.

        A function of its own so that the built objects (tens of kilobytes of models per
        lab) are garbage as soon as they exist in Kubernetes, not kept until the pod runs:
        during a burst of spawns that is the difference between a few and a thousand sets.
        """
        secrets, pull_secret = await read_source_secrets(
            self.kube, self.config, self.deps.controller_namespace
        )
        objects = build_lab(
            self.config,
            spawn,
            source_secrets=secrets,
            pull_secret=pull_secret,
            discovery=self.deps.discovery,
            environ=self.deps.environ,
        )
        return await create_lab_objects(self.kube, objects)

    def _fail_spawn(self, message: str, *, reason: str = "error") -> None:
        self.deps.spawns.spawn_finished(self.namespace, SpawnResult.FAILURE, reason)
        self._publish(LabEvent.error(message))
        self._publish(LabEvent.failed("Lab spawn failed"))
        self._set_status(LabStatus.FAILED)
        self.events.end()

    def _finish_start(self, phase: str | None, failure: str) -> None:
        """Map the phase the pod reached (quirk Q5: only ``Running`` counts as started)."""
        if phase == "Running":
            self.deps.spawns.spawn_finished(self.namespace, SpawnResult.SUCCESS, "complete")
            self._set_status(LabStatus.RUNNING)
            self._publish(LabEvent.complete(f"Lab Kubernetes pod started for {self.username}"))
        else:
            status = LabStatus.from_pod_phase(phase) if phase is not None else LabStatus.FAILED
            reached = f"phase {phase}" if phase is not None else "deletion"
            self.deps.spawns.spawn_finished(
                self.namespace, SpawnResult.FAILURE, _FAILED_PHASE_REASONS.get(phase, "pod_other")
            )
            self._publish(LabEvent.error(f"Lab pod {self.pod_name} went to {reached}"))
            self._publish(LabEvent.failed(failure))
            self._set_status(status)
        self.events.end()

    def _set_url(self, service_prefix: str) -> None:
        if self.state is not None:
            url = internal_url(self.config, self.username, service_prefix)
            self._set_state(self.state.model_copy(update={"internal_url": url}))

    async def _wait_for_pod_start(self) -> str | None:
        """Wait until the pod leaves Pending/Unknown (its Events are relayed meanwhile)."""
        while True:
            phase = self._pod_phase
            if phase is None and self._pod_gone:
                return None
            if phase is not None and phase not in PENDING_PHASES:
                return phase
            self._pod_seen = seen = trio.Event()
            await seen.wait()

    # -- the pod's Kubernetes Events -------------------------------------------------------

    def _follow_pod_events(self, *, hold: bool) -> None:
        """Relay the pod's Events as progress (``hold``: keep them until released)."""
        ref = self.context.ref
        self._unfollow_pod_events()
        self._pod_events = self.deps.pod_events.follow(
            (self.namespace, self.pod_name), lambda text: ref.tell(PodEventMessage(text))
        )
        self._held_pod_events = [] if hold else None
        self._pod_event_progress = None

    def _release_pod_events(self) -> None:
        held, self._held_pod_events = self._held_pod_events, None
        for text in held or ():
            self._relay_pod_event(text)

    def _unfollow_pod_events(self) -> None:
        if self._pod_events is not None:
            self.deps.pod_events.unfollow(self._pod_events)
            self._pod_events = None
        self._held_pod_events = None

    def _relay_pod_event(self, text: str) -> None:
        """Publish one of the pod's Event messages as progress (best effort, in order)."""
        if self._pod_events is None or not self._busy:
            return  # the operation that followed them is over
        if self._held_pod_events is not None:
            if len(self._held_pod_events) < MAX_HELD_POD_EVENTS:
                self._held_pod_events.append(text)
            return
        self._pod_event_progress = next_pod_event_progress(self._pod_event_progress)
        self._publish(LabEvent.info(text, self._pod_event_progress))

    # -- the pod watch ---------------------------------------------------------------------

    def _watch_pod(self, ready: trio.Event | None = None, *, expecting: bool = False) -> None:
        """Follow the lab pod through the shared informer, unless already following it.

        ``ready`` is set once the pod's state is known (the informer has listed lab pods).
        ``expecting``: a pod was just created, so until the informer has seen it, its absence
        from the view is no news (the old per-lab watch replayed from before the creation).
        """
        if self._pod_view is not None:
            if ready is not None:
                ready.set()
            return
        if not expecting:
            self._pod_phase = None
            self._pod_gone = False
        self._pod_expected = expecting
        self._pod_ready = ready
        ref = self.context.ref
        self._pod_view = self.deps.pods.watch(
            (self.namespace, self.pod_name), lambda: ref.tell(PodChanged())
        )
        self._read_pod_view()

    def _stop_pod_watch(self) -> None:
        if self._pod_view is not None:
            self.deps.pods.unwatch(self._pod_view)
            self._pod_view = None
            self._pod_ready = None

    def _read_pod_view(self) -> None:
        """Take the pod's latest state from the view (the informer told us it changed).

        While the shared watch is refused the view keeps the last state it knew: the lab keeps
        its status and an operation waiting for the pod keeps waiting (bounded by its own
        deadline) until the informer can list again, instead of failing every lab at once.
        """
        view = self._pod_view
        if view is None:
            return
        facts = view.read()
        if facts is not None and self._pod_uid is not None and facts.object_uid != self._pod_uid:
            if self._pod_expected:
                return  # the previous pod of that name, still in an informer running behind
            facts = None  # the pod this spawn made is gone; another took its name
        phase = None if facts is None else facts.phase
        if view.error is not None:
            if self._busy and not self._pod_refusal_told:
                # Subscribers hear why nothing moves; the wait itself has a deadline.
                self._pod_refusal_told = True
                self._publish(
                    LabEvent.info(
                        f"Cannot follow the lab pod ({view.error.status} {view.error.reason});"
                        " waiting for Kubernetes"
                    )
                )
            return
        self._pod_refusal_told = False
        if not view.known:
            return
        if phase is None and self._pod_expected:
            return
        if phase is not None:
            self._pod_expected = False
        self._on_pod(phase)
        if self._pod_ready is not None:
            self._pod_ready.set()
            self._pod_ready = None

    def _on_pod(self, phase: str | None) -> None:
        """Follow the pod's phase (``None``: no pod): operations wait on it; otherwise it
        decides the lab status."""
        self._pod_phase = phase
        self._pod_gone = phase is None
        if self._pod_seen is not None:
            self._pod_seen.set()
        if self.state is None or self._busy:
            return
        if self.state.status in (LabStatus.TERMINATING, LabStatus.FAILED):
            return
        status = LabStatus.from_pod_phase(phase) if phase is not None else LabStatus.FAILED
        if status is not self.state.status:
            log.info(
                "Lab pod changed behind our back",
                user=self.username,
                old=self.state.status.value,
                new=status.value,
            )
            self._set_status(status)

    # -- delete ----------------------------------------------------------------------------

    def _delete(self) -> Operation:
        if self.state is None:
            raise UnknownUserError(f"Unknown user {self.username}", loc=["path", "username"])
        current = self.operation
        if current is not None and current.running:
            if current.kind is OperationKind.DELETE:
                return current
            current.cancel()
        self._set_status(LabStatus.TERMINATING, clear_url=True)
        return self._start(OperationKind.DELETE, lambda op: self._run_delete(op, current))

    async def _run_delete(self, operation: Operation, previous: Operation | None) -> None:
        if previous is not None:
            await previous.done.wait()
        self.events.begin()
        self._stop_pod_watch()
        self._set_status(LabStatus.TERMINATING, clear_url=True)
        try:
            with trio.fail_after(self.config.lab.delete_timeout.total_seconds()):
                await self._delete_objects(pod_progress=25, namespace_progress=62)
        except trio.TooSlowError:
            self._fail_delete(operation, "Lab deletion timed out")
            report_alert(Alerted.DELETE, "Lab deletion timed out", user=self.username)
            return
        except Exception as error:
            if not self.deps.terms.leading:
                # The term ended under the deletion (the write fence refused its next call
                # before the cancellation arrived): the next leader finishes it.
                operation.error = LeaderChangedError()
                return
            log.exception("Lab deletion failed", user=self.username)
            self._fail_delete(operation, failure_text(error))
            report_alert(Alerted.DELETE, error_text(error), user=self.username)
            return
        self._publish(LabEvent.info(f"Lab for {self.username} deleted", 100))
        self._pod_uid = None
        self._set_state(None)
        self.events.end()

    def _fail_delete(self, operation: Operation, message: str) -> None:
        self._publish(LabEvent.error(message))
        self._publish(LabEvent.failed("Lab delete failed"))
        self._set_status(LabStatus.FAILED)
        self.events.end()
        operation.error = DeleteFailedError()

    async def _delete_objects(self, *, pod_progress: int, namespace_progress: int) -> None:
        self._stop_pod_watch()
        self._publish(LabEvent.info("Shutting down Kubernetes pod", pod_progress))
        await delete_lab_pod(self.kube, self.namespace, self.pod_name)
        self._publish(LabEvent.info("Deleting user namespace", namespace_progress))
        await delete_lab_namespace(self.kube, self.namespace)

    # -- reconciliation --------------------------------------------------------------------

    async def _apply(self, observation: Observation, *, adopting: bool) -> None:
        """Bring the state in line with what Kubernetes showed (``kubernetes-objects`` §2.18)."""
        if self._busy or observation.pass_started < self.changed_at:
            return
        match observation.kind:
            case ObservedKind.INCOMPLETE:
                if self.state is None:
                    # Debris of a half-done spawn nobody remembers: remove it quietly (a
                    # create takes the removal over; see the module docstring).
                    self._start(OperationKind.CLEANUP, self._cleanup_incomplete)
                    return
                if self.state.status is not LabStatus.FAILED:
                    self._set_status(LabStatus.FAILED)
            case ObservedKind.ABSENT:
                if self.state is not None and self.state.status is not LabStatus.FAILED:
                    self._set_status(LabStatus.FAILED)
            case ObservedKind.COMPLETE:
                observed = observation.state
                assert observed is not None
                if self.state is None or adopting:
                    self._set_state(observed)
                elif (
                    self.state.status is not LabStatus.FAILED
                    and observed.status is not self.state.status
                ):
                    self._set_status(observed.status)
                if self.state is not None and self.state.status is LabStatus.TERMINATING:
                    # Its namespace is already going (a delete that an earlier controller or
                    # incarnation started): finish it as a delete that requests can join.
                    self._delete()
                    return
                if self.state is not None and self.state.status is LabStatus.PENDING:
                    self._start(OperationKind.MONITOR, self._monitor)
                    return
                if self.state is not None and not self.state.status.is_dead:
                    self._watch_pod()
        if self.state is not None and self.state.status.is_dead:
            # Dead labs are removed automatically (``api.md`` §6.4).
            self._delete()

    async def _cleanup_incomplete(self, operation: Operation) -> None:
        try:
            with trio.fail_after(self.config.lab.delete_timeout.total_seconds()):
                # The pod first, with the lab's short grace: left to the namespace's cascade
                # it would get its own (30 s by default) and hold the namespace that long.
                await delete_lab_pod(self.kube, self.namespace, self.pod_name)
                await delete_lab_namespace(self.kube, self.namespace)
        except (trio.TooSlowError, KubernetesError) as error:
            log.warning("Could not delete incomplete lab", user=self.username, error=str(error))
            return
        log.info("Deleted incomplete lab namespace", user=self.username)

    async def _monitor(self, operation: Operation) -> None:
        """Follow a spawn that was in progress when the controller (or this actor) started."""
        self.events.begin()
        self._publish(LabEvent.info(f"Monitoring in-progress lab creation for {self.username}", 1))
        timeout = self.config.lab.spawn_timeout.total_seconds()
        started = trio.current_time()
        try:
            with trio.fail_after(timeout):
                self._follow_pod_events(hold=False)
                ready = trio.Event()
                self._watch_pod(ready)
                await ready.wait()
                phase = await self._wait_for_pod_start()
        except trio.TooSlowError:
            elapsed = trio.current_time() - started
            self._fail_spawn(
                f"In-progress lab spawn timed out after {elapsed:.3f}", reason="timeout"
            )
            return
        finally:
            self._unfollow_pod_events()
            if operation.cancel_scope.cancel_called:
                self._publish(LabEvent.failed("Operation cancelled"))
        self._finish_start(phase, "Lab spawn failed")


_FAILED_PHASE_REASONS = {
    None: "pod_deleted",
    "Failed": "pod_failed",
    "Succeeded": "pod_succeeded",
    "Unknown": "pod_unknown",
}
"""The ``reason`` a spawn fails with, by the phase its pod reached (``None``: deleted)."""


def _phase(pod: V1Pod) -> str:
    """The pod's phase; a pod without one yet is ``Pending``, as the API server defaults it."""
    return (pod.status.phase if pod.status is not None else None) or "Pending"
