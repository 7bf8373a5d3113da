"""The labs capability as the web layer sees it: a few calls that only send messages.

``LabService`` owns the ``labs`` subtree of the actor system::

    labs                (supervisor; escalates)
    ├── informer/lab-pods  (the one watch of every lab pod; a view per lab)
    ├── relay/lab-pod-events  (the one watch of pod Events; spawns follow their pod's)
    ├── lab-manager     (directory of lab states, reconciliation, revival of given-up labs)
    └── lab-users       (supervisor; gives up on a lab actor that keeps crashing)
        └── lab/<user>  (one per registered user, started on demand)

Lab actors follow their pods through the informer's feed, not through watches of their own:
N labs are one watch connection, not N (see ``actors.kube.informer``). The feed, like the
progress streams, outlives the informer's incarnations.

Each user's progress stream lives here, not in an actor incarnation: a lab actor fills it and
the runtime ends its open operation when the incarnation dies, so a subscriber hears
``failed`` after a crash, one arriving while the actor restarts (or after it was given up)
gets the replay of that operation, and the restarted actor carries on with the same stream.

Its methods run in the request's task and talk to actors with ``tell``/``ask``; the only
work they do themselves is the pure part of a create (identity, size and quota checks, in the
order of ``api.md`` §5.3.3), so that the lab actor's mailbox never waits on a registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import structlog
import trio

from actors.common.family import ActorFamily, tell_directory
from actors.common.models import LabState, LabStatus, SpawnRequest, UserInfo
from actors.common.requests import LabSpecification
from actors.common.resolver import ImageResolver
from actors.common.tuning import DEFAULT_TUNING, Tuning
from actors.config import ControllerConfig
from actors.errors import (
    InsufficientQuotaError,
    InvalidLabSizeError,
    PermissionDeniedError,
    UnknownUserError,
)
from actors.kube import KubeClient
from actors.kube.event_relay import EventRelay, PodEventRelay
from actors.labs.activity import LabActivity
from actors.labs.builder import lab_namespace, size_resources
from actors.labs.events import LabEvent
from actors.labs.informers import LabFeeds, lab_informers
from actors.labs.inventory import LabObject, lab_objects
from actors.labs.lab import LabActor, LabDependencies
from actors.labs.manager import (
    ActorGaveUp,
    IsRegistered,
    LabManager,
    LastKnownState,
    ListRunning,
    ListStates,
    Reconcile,
    Register,
    Report,
)
from actors.labs.messages import (
    Create,
    Delete,
    GetState,
    Observation,
    ObservedKind,
    Subscribe,
)
from actors.labs.observer import NO_SPAWN_OBSERVER, SpawnObserver
from actors.labs.summary import LabSummary, SummaryCache
from actors.runtime import (
    ActorRef,
    ActorStatus,
    ActorStopped,
    AskTimeout,
    EventStream,
    MailboxFull,
    Subscription,
    describe_error,
)
from actors.runtime.node import Node
from actors.runtime.terms import TermReady, Terms

log = structlog.get_logger(__name__)

CREATE_TIMEOUT = 60.0
"""A create may probe the pod of a known lab (up to 30 s) before it answers."""

RECONCILE_TIMEOUT = 120.0
"""A pass lists four kinds across the cluster; generous, as it only guards a stuck manager."""


class LabService:
    """Create, delete, read and follow labs; build and own the ``labs`` actor subtree."""

    def __init__(
        self,
        config: ControllerConfig,
        kube: KubeClient,
        images: ImageResolver,
        *,
        controller_namespace: str,
        discovery: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
        tuning: Tuning = DEFAULT_TUNING,
        spawns: SpawnObserver = NO_SPAWN_OBSERVER,
        terms: Terms | None = None,
    ) -> None:
        self.config = config
        self.ask_timeout = tuning.ask_timeout
        self.images = images
        terms = terms if terms is not None else Terms()
        self._ready = TermReady(terms)
        self.all_events: EventStream[tuple[str, LabEvent]] = EventStream(keep_history=False)
        self.activity = LabActivity()
        """Change counter and spawn rates for the admin dashboard (``dashboard`` below)."""
        self._summaries = SummaryCache()
        self._kube = kube
        self.pod_events = PodEventRelay(namespace_prefix=f"{config.lab.namespace_prefix}-")
        """Who follows which lab pod's Events, fed by ``pod_event_relay``."""
        self.feeds = LabFeeds()
        """What the lab informers know of every lab's namespace, env, quota and pod."""
        self.pods = self.feeds.pods
        self._streams: dict[str, EventStream[LabEvent]] = {}
        """Every registered user's progress stream (as long as the process lives, like the
        registration itself)."""
        self._deps = LabDependencies(
            config=config,
            kube=kube,
            controller_namespace=controller_namespace,
            report=self._report,
            event_stream=self._event_stream,
            pods=self.pods,
            pod_events=self.pod_events,
            # A live view (the discovery actor publishes new copies into it), not a copy.
            discovery=discovery if discovery is not None else {},
            environ=dict(environ or {}),
            spawns=spawns,
            terms=terms,
        )
        self.family: ActorFamily[Observation] = ActorFamily(
            members="lab-users",
            kind="lab",
            limits=tuning.per_user_limits,
            make_member=self._make_lab,
            on_member_exit=self._lab_exited,
        )
        self.users = self.family.members
        self.registry = self.family.registry
        self.manager = ActorRef(
            "lab-manager",
            lambda: LabManager(
                config,
                self.feeds,
                lab_ref=self.registry.get,
                start_lab=self.family.start_observed,
                revive_lab=self._revive,
                revive_after=tuning.per_user_limits.backoff_max,
                healthy_after=tuning.per_user_limits.window,
                ready=self._ready.current(),
                resync_first=terms.elected,
            ),
            mailbox_size=tuning.directory_mailbox,
        )
        self.informers = lab_informers(config, kube, self.feeds)
        self.pod_event_relay = ActorRef(
            "relay/lab-pod-events",
            partial(
                EventRelay,
                self.pod_events,
                lambda selector, version, reconnect: kube.events.watch_raw(
                    None,
                    field_selector=selector,
                    resource_version=version,
                    reconnect_timeout=reconnect,
                ),
                lambda selector: kube.events.current_version(None, field_selector=selector),
                reconnect_timeout=config.watch_reconnect_timeout.total_seconds(),
            ),
        )
        self.supervisor = self.family.assemble(
            "labs", self.manager, [*self.informers, self.pod_event_relay]
        )

    @property
    def ready(self) -> trio.Event:
        """Set once the directory has rebuilt its state in the current term (the whole
        process life for a lone replica)."""
        return self._ready.current()

    # -- the actors ------------------------------------------------------------------------

    def _make_lab(self, username: str, initial: Observation | None) -> LabActor:
        return LabActor(username, self._deps, initial=initial)

    def _revive(self, username: str) -> None:
        """Start a fresh actor for a given-up lab; it rebuilds its state from Kubernetes."""
        if self.registry.get(username) is None:
            self.registry.get_or_start(username)

    def _event_stream(self, username: str) -> EventStream[LabEvent]:
        stream = self._streams.get(username)
        if stream is None:
            stream = EventStream(observer=partial(self._broadcast, username))
            self._streams[username] = stream
        return stream

    def _lab_exited(self, username: str, node: Node) -> None:
        if node.status is ActorStatus.FAILED:
            self._tell_manager(ActorGaveUp(username))

    def _report(self, username: str, state: LabState | None) -> None:
        self._tell_manager(Report(username, state))
        self.activity.changed()

    def _broadcast(self, username: str, event: LabEvent) -> None:
        self.all_events.publish((username, event))
        self.activity.observe(event)

    def _tell_manager(self, message: object) -> None:
        tell_directory(self.manager, message, "Lab directory")

    # -- calls for routes --------------------------------------------------------------------

    async def create(self, user: UserInfo, token: str, spec: LabSpecification) -> None:
        """Check the request (``api.md`` §5.3.3 steps 1 to 6) and start the spawn (7 to 10)."""
        username = user.username
        quota = user.notebook_quota
        if quota is not None and not quota.spawn:
            raise PermissionDeniedError("Spawning a notebook is not permitted")
        if not user.uid:
            raise PermissionDeniedError("Must have a UID to spawn labs")
        if not user.gid:
            raise PermissionDeniedError("Must have a GID to spawn labs")
        self.manager.tell(Register(username))
        if self.registry.get(username) is None and self.ready.is_set():
            known = await self.manager.ask(LastKnownState(username), timeout=self.ask_timeout)
            if known is None and self.registry.get(username) is None:
                # Unknown to the directory, which has seen every lab since startup: the new
                # actor need not read the cluster to learn there is nothing there (were
                # there a leftover, creating its namespace would adopt it).
                self.family.prime(username, Observation(ObservedKind.ABSENT, trio.current_time()))
        lab = self.registry.get_or_start(username)
        options = spec.options
        image = await self.images.resolve(options)
        size_loc = ["body", "options", "size"]
        size_config = self.config.lab.size(options.size)
        if size_config is None:
            raise InvalidLabSizeError(f'Invalid lab size "{options.size.value}"', loc=size_loc)
        resources = size_resources(size_config)
        if quota is not None and (
            resources.limits.cpu > quota.cpu or resources.limits.memory > quota.memory_bytes
        ):
            raise InsufficientQuotaError(loc=size_loc)
        spawn = SpawnRequest(
            user=user,
            image=image,
            size=options.size,
            resources=resources,
            env=dict(spec.env),
            token=token,
            enable_debug=options.enable_debug,
            reset_user_env=options.reset_user_env,
        )
        await lab.ask(Create(spawn), timeout=CREATE_TIMEOUT)
        self.activity.spawn_accepted()

    async def delete(self, username: str) -> None:
        """Delete the user's lab and wait for the deletion (``api.md`` §5.4)."""
        lab = self.registry.get(username)
        if lab is None:
            if await self.manager.ask(LastKnownState(username), timeout=self.ask_timeout) is None:
                raise UnknownUserError(f"Unknown user {username}", loc=["path", "username"])
            lab = self.registry.get_or_start(username)
        operation = await lab.ask(Delete(), timeout=self.ask_timeout)
        deadline = self.config.lab.delete_timeout.total_seconds() + self.ask_timeout
        with trio.fail_after(deadline):
            await operation.wait()

    async def state(self, username: str) -> LabState | None:
        """The lab state from memory; ``None`` when the user has no lab."""
        lab = self.registry.get(username)
        if lab is not None and lab.status in (ActorStatus.STARTING, ActorStatus.RUNNING):
            # A lab actor just started (by reconciliation, say) has reported nothing yet: the
            # directory would answer 404 for a lab it is about to show, and a create would
            # then meet that lab. It answers as soon as it has rebuilt its state.
            try:
                return await lab.ask(GetState(), timeout=self.ask_timeout)
            except (ActorStopped, AskTimeout, MailboxFull):
                pass
            except Exception as crash:
                # It crashed while rebuilding (its start reads Kubernetes): a poll must not
                # become a 500; the directory has the last state it reported.
                log.info(
                    "Lab actor crashed while asked for its state",
                    user=username,
                    error=describe_error(crash),
                )
        # No actor, or one between crashes (its next start may be seconds of backoff away):
        # the directory has the last state the lab reported, so polls never wait on a restart.
        return await self.manager.ask(LastKnownState(username), timeout=self.ask_timeout)

    async def running(self) -> list[str]:
        """Users whose lab is running."""
        return await self.manager.ask(ListRunning(), timeout=self.ask_timeout)

    async def subscribe(self, username: str) -> Subscription[LabEvent] | None:
        """The user's event stream; ``None`` for a registered user with nothing to replay.

        Raises ``UnknownUserError`` for a user the controller never registered.
        """
        lab = self.registry.get(username)
        if lab is not None and lab.status is ActorStatus.RUNNING:
            return await lab.ask(Subscribe(), timeout=self.ask_timeout)
        stream = self._streams.get(username)
        if stream is not None:
            # The actor is restarting or was given up: never wait on it. Its last incarnation
            # ended any operation it left open, so this is a replay that ends (or, with no
            # operation yet, a wait for the next incarnation's).
            return stream.subscribe()
        if await self.manager.ask(IsRegistered(username), timeout=self.ask_timeout):
            return None
        raise UnknownUserError(f"Unknown user {username}", loc=["path", "username"])

    async def reconcile(self) -> int:
        """Run a reconciliation pass now (operators and tests); returns labs observed."""
        return await self.manager.ask(Reconcile(), timeout=RECONCILE_TIMEOUT)

    # -- calls for the admin dashboard -------------------------------------------------------

    async def summaries(self) -> list[LabSummary]:
        """Every known lab with its operation's progress (one message to the directory)."""
        states = await self.manager.ask(ListStates(), timeout=self.ask_timeout)
        return self._summaries.rows(states, self.history, self._in_operation)

    async def outcome_without_operation(
        self, username: str, *, followed: bool = False
    ) -> LabEvent | None:
        """The one event a progress stream gets for a lab with no operation to replay here,
        or ``None`` to keep the stream open until one starts.

        A lab this replica found in the cluster (at startup, or when it became leader)
        has no recorded operation. If it runs, its spawn completed: the stream says
        ``complete`` and ends; if it failed, ``failed``. The reference keeps such a stream
        open with keep-alives (a documented quirk that no client depends on); a client
        following a spawn through a hand-off would then wait forever for a spawn the new
        leader saw finish. ``followed`` (a stream relayed by a leader that handed off):
        a lab that is gone means its spawn failed.
        """
        if self._in_operation(username) or self.history(username):
            return None
        state = await self.state(username)
        if state is not None and state.status is LabStatus.RUNNING:
            return LabEvent.complete(f"Lab Kubernetes pod started for {username}")
        if state is not None and state.status is LabStatus.FAILED:
            return LabEvent.failed("Lab spawn failed")
        if state is None and followed:
            return LabEvent.failed("Lab spawn failed")
        return None

    def _in_operation(self, username: str) -> bool:
        stream = self._streams.get(username)
        return stream is not None and stream.in_operation

    def history(self, username: str) -> list[LabEvent]:
        """The events of the user's current (or last) operation; ``[]`` if none is known."""
        stream = self._streams.get(username)
        return stream.events if stream is not None else []

    async def objects(self, username: str) -> list[LabObject]:
        """The Kubernetes objects of the user's lab, read now."""
        return await lab_objects(self._kube, lab_namespace(self.config, username))
