"""The ``images`` singleton actor and :class:`ImageService`, the facade routes and labs use.

The actor owns one :class:`ImageCatalog` and answers every query from it, from memory. A
child task of the actor refreshes the catalog every ``images.refreshInterval`` (sooner on
request) and swaps the new one in; the swap is one synchronous assignment, so a query sees
either the old or the new catalog, never a mix. A failed refresh keeps the previous catalog,
logs the failure and shows it in inspection (``last_error``); a failed refresh is retried
after ``min(refreshInterval, RETRY_AFTER_FAILURE)``.

``ImageService.ready`` is set after the first refresh *attempt*, successful or not, so a
registry outage at startup delays nothing: the controller serves with an empty catalog (the
form offers the free-text dropdown; creates by reference or tag ask the registry directly)
and the next refresh fills it in.

A second child task watches the lab nodes (``node_watch.py``) and asks for a refresh when
nodes join, leave or change taints, so a new node gets its images without waiting for the
next periodic refresh.

After every successful refresh the actor tells the prepuller (``CatalogChanged``), which then
asks for the plan (:class:`GetPrepullPlan`) and reports each pulled image back
(:class:`RecordPulled`), so the menu updates before the next refresh.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
import trio

from actors.common.models import ResolvedImage
from actors.common.requests import LabRequestOptions
from actors.common.tuning import DEFAULT_TUNING, Tuning
from actors.config import ControllerConfig
from actors.errors import UnknownDockerImageError
from actors.kube import KubeClient
from actors.runtime import (
    Actor,
    ActorRef,
    ActorStopped,
    MailboxFull,
    RestartPolicy,
    describe_error,
)

from .catalog import ImageCatalog, NeedsDigest, Resolution
from .errors import UnknownTagError
from .messages import (
    FormChoices,
    GetFormChoices,
    GetPrepullerStatus,
    GetPrepullPlan,
    GetSpawnerImages,
    RecordPulled,
    RequestRefresh,
    Resolve,
)
from .node_watch import watch_node_changes
from .prepuller import CatalogChanged, PrepullerActor
from .refresh import RefreshError, build_catalog
from .source import ImageSource
from .status import PrepullerOptions, PrepullerStatus, SpawnerImages

__all__ = ["ImageService", "ImagesActor"]

log = structlog.get_logger(__name__)

REFRESH_DEADLINE = 300.0
"""Bound on one whole refresh (node list, tag list with retries, digest lookups)."""

RETRY_AFTER_FAILURE = 60.0
"""Longest pause before retrying a failed refresh (shorter if the interval is shorter)."""


# -- the actor ---------------------------------------------------------------------------


class ImagesActor(Actor):
    """Owns the image catalog; refreshes it in a child task (see module docstring)."""

    kind = "images"

    def __init__(
        self,
        config: ControllerConfig,
        kube: KubeClient,
        source: ImageSource,
        *,
        ready: trio.Event,
        notify: Callable[[], None],
    ) -> None:
        self.config = config
        self.kube = kube
        self.source = source
        self._ready = ready
        self._notify = notify
        self._options = PrepullerOptions.from_config(config.images)
        self.catalog = ImageCatalog.empty(
            config.images, registry=source.registry, repository=source.repository
        )
        self._wake = trio.Event()
        self._next_done = trio.Event()
        self.refreshes = 0
        self.failures = 0
        self.last_success: float | None = None
        self.last_error: str | None = None
        self.last_refresh_seconds: float | None = None
        """How long the last refresh took, successful or not (metrics)."""
        self._refreshing = False

    async def on_start(self) -> None:
        self.context.start_soon(self._refresh_forever)
        self.context.start_soon(
            watch_node_changes, self.kube, self.config.lab.node_selector, self._request_refresh
        )

    def _request_refresh(self) -> None:
        self._wake.set()

    async def handle(self, message: object) -> object:
        catalog = self.catalog
        match message:
            case GetFormChoices():
                now = datetime.now(UTC)
                return FormChoices(catalog.menu(), catalog.dropdown(self.config.dropdown_menu, now))
            case GetSpawnerImages():
                return catalog.spawner_images()
            case GetPrepullerStatus():
                return catalog.prepuller_status(self._options)
            case Resolve(options):
                return _resolve(catalog, options)
            case GetPrepullPlan():
                return catalog.prepull_plan()
            case RecordPulled(digest, node):
                catalog.record_pulled(digest, node)
                return None
            case RequestRefresh():
                self._request_refresh()
                return self._next_done
        return await super().handle(message)

    @property
    def phase(self) -> str:
        if self._refreshing:
            return "refreshing"
        if self.last_error is not None:
            return "degraded"
        return "ready" if self.last_success is not None else "starting"

    def inspect(self) -> dict[str, Any]:
        catalog = self.catalog
        return {
            "refreshes": self.refreshes,
            "failures": self.failures,
            "last_success": (
                None
                if self.last_success is None
                else datetime.fromtimestamp(self.last_success, UTC).isoformat()
            ),
            "last_error": self.last_error,
            "remote_tags": len(catalog.known),
            "prepull_set": len(catalog.prepull),
            "nodes": len(catalog.nodes),
            "eligible_nodes": len(catalog.eligible_nodes),
            "last_refresh_seconds": self.last_refresh_seconds,
            "prepull_missing": sum(len(targets) for targets in catalog.prepull_plan().values()),
        }

    async def _refresh_forever(self) -> None:
        interval = self.config.images.refresh_interval.total_seconds()
        while True:
            done, self._next_done = self._next_done, trio.Event()
            self._wake = trio.Event()
            ok = await self._refresh_once()
            done.set()
            self._ready.set()
            if ok:
                self._notify()
            delay = interval if ok else min(interval, RETRY_AFTER_FAILURE)
            with trio.move_on_after(delay):
                await self._wake.wait()

    async def _refresh_once(self) -> bool:
        self._refreshing = True
        self.context.changed()
        started = trio.current_time()
        try:
            with trio.fail_after(REFRESH_DEADLINE):
                catalog = await build_catalog(self.config, self.source, self.kube)
        except (RefreshError, trio.TooSlowError) as error:
            message = str(error) or f"refresh took longer than {REFRESH_DEADLINE:g}s"
            self.failures += 1
            self.last_error = message
            log.error("Image refresh failed; keeping the previous images", error=message)
            return False
        finally:
            self._refreshing = False
            self.last_refresh_seconds = trio.current_time() - started
            self.context.changed()
        self.catalog = catalog
        self.refreshes += 1
        self.last_success = time.time()
        self.last_error = None
        log.info(
            "Refreshed images",
            remote_tags=len(catalog.known),
            prepull_set=len(catalog.prepull),
            nodes=len(catalog.nodes),
        )
        return True


def _resolve(catalog: ImageCatalog, options: LabRequestOptions) -> Resolution:
    loc = ["body", "options", options.image_attribute]
    text = options.image_list or options.image_dropdown
    if text is not None:
        return catalog.by_reference(text, loc)
    if options.image_tag is not None:
        return catalog.by_tag(options.image_tag, loc)
    assert options.image_class is not None
    return catalog.by_class(options.image_class, loc)


# -- the facade --------------------------------------------------------------------------


SERVICE_MAILBOX = 10_000
"""Every create and every form asks the image actor, which answers from memory in
microseconds: its mailbox must absorb a spawn storm (a thousand concurrent creates) rather
than refuse it."""


class ImageService:
    """Build the ``images`` and ``prepuller`` actors; queries for routes and labs.

    ``children`` are the two singletons, for the root supervisor. Every call only sends a
    message, except a create naming a tag outside the prepull set, whose digest is fetched
    here, in the caller's task, so the actor's mailbox never waits on the registry.
    """

    def __init__(
        self,
        config: ControllerConfig,
        kube: KubeClient,
        source: ImageSource,
        *,
        controller_namespace: str,
        tuning: Tuning = DEFAULT_TUNING,
    ) -> None:
        self.config = config
        self.ask_timeout = tuning.ask_timeout
        self.source = source
        self.ready = trio.Event()
        self.actor = ActorRef(
            "images",
            lambda: ImagesActor(config, kube, source, ready=self.ready, notify=self._notify),
            mailbox_size=SERVICE_MAILBOX,
        )
        self.prepuller = ActorRef(
            "prepuller",
            lambda: PrepullerActor(
                config,
                kube,
                self.actor,
                controller_namespace=controller_namespace,
                ask_timeout=tuning.ask_timeout,
            ),
        )
        # Prepull pods are writes: only the leader makes them. The catalog (registry and
        # node reads) stays warm on every replica.
        self.prepuller.leader_only = True
        self.children: list[tuple[ActorRef, RestartPolicy]] = [
            (self.actor, RestartPolicy.PERMANENT),
            (self.prepuller, RestartPolicy.PERMANENT),
        ]

    def _notify(self) -> None:
        try:
            self.prepuller.tell(CatalogChanged())
        except (MailboxFull, ActorStopped) as error:
            # A full mailbox already holds a CatalogChanged; a stopped one needs none.
            log.info("Prepuller not told about the refresh", error=describe_error(error))

    async def form_choices(self) -> FormChoices:
        return await self.actor.ask(GetFormChoices(), timeout=self.ask_timeout)

    async def spawner_images(self) -> SpawnerImages:
        return await self.actor.ask(GetSpawnerImages(), timeout=self.ask_timeout)

    async def prepuller_status(self) -> PrepullerStatus:
        return await self.actor.ask(GetPrepullerStatus(), timeout=self.ask_timeout)

    async def refresh(self, *, timeout: float = REFRESH_DEADLINE) -> None:  # noqa: ASYNC109
        """Refresh now and return when that refresh has ended (operators and tests)."""
        done = await self.actor.ask(RequestRefresh(), timeout=self.ask_timeout)
        with trio.fail_after(timeout):
            await done.wait()

    async def resolve(self, options: LabRequestOptions) -> ResolvedImage:
        """The digest-pinned image a create request names (``api.md`` §5.3.4)."""
        resolution = await self.actor.ask(Resolve(options), timeout=self.ask_timeout)
        if not isinstance(resolution, NeedsDigest):
            return resolution
        try:
            digest = await self.source.resolve_tag(resolution.tag)
        except UnknownTagError:
            loc = ["body", "options", options.image_attribute]
            text = options.image_list or options.image_dropdown
            message = (
                f'Docker reference "{text}" not found'
                if text is not None
                else f'Docker tag "{resolution.tag}" not found'
            )
            raise UnknownDockerImageError(message, loc=loc) from None
        return resolution.pinned(digest)
