"""What the routes may reach: configuration, actor system, Gafaelfawr client, stream registry.

Stored once on the app by ``create_app``; routes get it with ``current_state()``. There is no
other shared state in the web layer: anything mutable belongs to an actor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from quart import current_app
from quart_trio import QuartTrio

from actors.config import ControllerConfig
from actors.fileservers.service import FileserverService
from actors.fsadmin.service import FSAdminService
from actors.gafaelfawr import GafaelfawrClient
from actors.images.service import ImageService
from actors.labs.service import LabService
from actors.metrics import ControllerMetrics
from actors.migrator.service import MigratorService
from actors.replicas.service import ReplicaService
from actors.runtime import ActorSystem
from web.handoff import RelayPool
from web.metadata import Metadata
from web.streams import StreamRegistry

__all__ = ["AppState", "app_state", "current_state"]

_EXTENSION_KEY = "nublado_trio"


@dataclass(frozen=True)
class AppState:
    """Everything a route handler needs besides the request."""

    config: ControllerConfig
    system: ActorSystem
    metadata: Metadata
    gafaelfawr: GafaelfawrClient
    """Token lookups for ``web.auth``; ``web.server.serve`` closes it when serving ends."""
    labs: LabService | None = None
    """The lab service; lab routes are registered only when there is one."""
    fileservers: FileserverService | None = None
    """File servers; ``None`` when disabled (their routes then answer ``not_supported``)."""
    fsadmin: FSAdminService | None = None
    """The fsadmin pod; its routes are registered only when there is one."""
    migrator: MigratorService | None = None
    """The home-directory migrator; its routes are registered only when there is one."""
    images: ImageService | None = None
    """The image service: image routes and the spawn form's image choices."""
    streams: StreamRegistry = field(default_factory=StreamRegistry)
    replicas: ReplicaService | None = None
    """Leadership among replicas: who serves, where to forward, the hand-off."""
    relays: RelayPool = field(default_factory=RelayPool)
    """Where event streams are relayed to a new leader after a hand-off (``serve`` runs
    it)."""
    metrics: ControllerMetrics = field(default_factory=ControllerMetrics)
    """The controller's metrics registry (``GET /metrics``) and Kubernetes reachability."""

    def install(self, app: QuartTrio) -> None:
        """Attach this state to ``app``."""
        app.extensions[_EXTENSION_KEY] = self


def app_state(app: QuartTrio) -> AppState:
    """The state attached to ``app`` by ``create_app``."""
    state = app.extensions[_EXTENSION_KEY]
    assert isinstance(state, AppState)
    return state


def current_state() -> AppState:
    """The state of the app serving the current request."""
    state = current_app.extensions[_EXTENSION_KEY]
    assert isinstance(state, AppState)
    return state
