"""The quart-trio application factory.

``create_app`` only wires things: the state routes need (config, actor system, Gafaelfawr
client, stream registry), the error handlers and the route blueprints. It starts nothing: the
actor system is run by ``web.server.serve`` in the process's own nursery beside hypercorn,
never as an app background task (a crashed background task is only logged while the server
keeps serving).
"""

from __future__ import annotations

import logging
from typing import cast

from quart_trio import QuartTrio

from actors.config import ControllerConfig
from actors.config.auth import AuthMode
from actors.controller import Controller
from actors.fileservers.service import FileserverService
from actors.fsadmin.service import FSAdminService
from actors.gafaelfawr import GafaelfawrClient
from actors.images.service import ImageService
from actors.labs.service import LabService
from actors.metrics import ControllerMetrics
from actors.migrator.service import MigratorService
from actors.replicas.service import ReplicaService
from actors.runtime import ActorSystem
from web.access_log import AccessLog
from web.asgi import ASGIApp, CloseAfterRefusedUpgrade, ShieldFinalBody
from web.auth import register_auth_error_handlers
from web.dashboard import install_dashboard
from web.errors import register_error_handlers
from web.forwarding import ForwardingTuning, LeaderForwarder, LeaderRoute
from web.metadata import package_metadata
from web.metrics import instrument_app
from web.proxy_headers import ProxyHeaders
from web.request_context import RequestContext
from web.request_head import RequestHeadLimits
from web.routes.admin_actors import admin_actors
from web.routes.api_docs import api_docs
from web.routes.fileservers import files_entry, fileserver_admin
from web.routes.fsadmin import fsadmin_routes
from web.routes.images import image_routes
from web.routes.index import health, prefixed
from web.routes.lab_events import lab_events
from web.routes.lab_form import lab_form
from web.routes.labs import labs as lab_routes
from web.routes.migrator import migrator_routes
from web.routes.operations import operations
from web.state import AppState, app_state

__all__ = ["asgi_stack", "controller_app", "create_app", "gafaelfawr_client"]


def _normalized_prefix(path_prefix: str) -> str:
    prefix = "/" + path_prefix.strip("/")
    return "" if prefix == "/" else prefix


def gafaelfawr_client(config: ControllerConfig) -> GafaelfawrClient:
    """The Gafaelfawr client ``config.auth`` describes (it opens connections lazily)."""
    return GafaelfawrClient(
        config.auth.gafaelfawr_base_url(config.base_url),
        cache_seconds=config.auth.cache_seconds,
    )


def create_app(
    config: ControllerConfig,
    system: ActorSystem,
    *,
    labs: LabService | None = None,
    fileservers: FileserverService | None = None,
    fsadmin: FSAdminService | None = None,
    migrator: MigratorService | None = None,
    images: ImageService | None = None,
    gafaelfawr: GafaelfawrClient | None = None,
    metrics: ControllerMetrics | None = None,
    replicas: ReplicaService | None = None,
) -> QuartTrio:
    """Build the application serving ``config`` with the actors of ``system``.

    ``gafaelfawr`` defaults to ``gafaelfawr_client(config)``; whoever serves the app closes it
    (``web.server.serve`` does). ``metrics`` is the controller's registry (``open_controller``
    makes it and connects the actors to it); without one the app gets a registry of its own
    that reads ``system``.
    """
    if metrics is None:
        metrics = ControllerMetrics()
        metrics.watch(config, system)
    # No static folder: every route the app serves is one the API document describes.
    app = QuartTrio(__name__, static_folder=None)
    # Quart adds a stderr handler fed by a listener *thread* when its logger has none at a
    # level; our records go to the root handler of ``web.logging`` instead.
    logging.getLogger(app.name).addHandler(logging.NullHandler())
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = None

    AppState(
        config=config,
        system=system,
        metadata=package_metadata(config.name),
        gafaelfawr=gafaelfawr if gafaelfawr is not None else gafaelfawr_client(config),
        labs=labs,
        fileservers=fileservers,
        fsadmin=fsadmin,
        migrator=migrator,
        images=images,
        metrics=metrics,
        replicas=replicas,
    ).install(app)
    instrument_app(app, metrics, app_state(app).streams)
    register_error_handlers(app)
    register_auth_error_handlers(app)

    prefix = _normalized_prefix(config.path_prefix)
    app.register_blueprint(health)
    app.register_blueprint(operations)
    if prefix:
        # With an empty prefix ``GET {prefix}`` is the root route itself.
        app.register_blueprint(prefixed, url_prefix=prefix)
    app.register_blueprint(admin_actors, url_prefix=prefix)
    app.register_blueprint(api_docs, url_prefix=prefix)
    install_dashboard(app, prefix, labs=labs is not None)
    if labs is not None:
        for blueprint in (lab_routes, lab_events, lab_form):
            app.register_blueprint(blueprint, url_prefix=prefix)
    # File-server routes exist even when disabled: they answer ``not_supported`` then.
    app.register_blueprint(files_entry(config.fileserver.path_prefix))
    app.register_blueprint(fileserver_admin, url_prefix=prefix)
    if fsadmin is not None:
        app.register_blueprint(fsadmin_routes, url_prefix=prefix)
    if migrator is not None:
        app.register_blueprint(migrator_routes, url_prefix=prefix)
    if images is not None:
        app.register_blueprint(image_routes, url_prefix=prefix)
    return app


def controller_app(config: ControllerConfig, controller: Controller) -> QuartTrio:
    """The application serving every service of ``controller`` (and its metrics)."""
    return create_app(
        config,
        controller.system,
        labs=controller.labs,
        images=controller.images,
        fileservers=controller.fileservers,
        fsadmin=controller.fsadmin,
        migrator=controller.migrator,
        metrics=controller.metrics,
        replicas=controller.replicas,
    )


def asgi_stack(
    app: QuartTrio,
    *,
    leader: LeaderRoute | None = None,
    forwarding: ForwardingTuning | None = None,
) -> ASGIApp:
    """``app`` wrapped in the ASGI middleware the server runs it with (outermost first).

    ``RequestContext`` binds the request id before anything logs, ``AccessLog`` writes one
    line per request with it; ``RequestHeadLimits`` refuses oversized heads before anything
    reads them; ``ProxyHeaders`` applies forwarded headers from trusted proxies
    only; ``ShieldFinalBody`` fixes quart-trio's idle keep-alive bug and
    ``CloseAfterRefusedUpgrade`` a hypercorn crash after refused WebSocket upgrades (see
    ``web.asgi``). With a ``leader`` route (several replicas), ``LeaderForwarder`` relays
    what this replica does not serve itself to the leader; it sits inside ``ProxyHeaders``
    so that it relays the scheme and host this replica settled on.
    """
    state = app_state(app)
    trusted = state.config.server.trusted_networks()
    served = cast(ASGIApp, app)
    if leader is not None:
        tuning = forwarding or ForwardingTuning.for_config(state.config)
        served = LeaderForwarder(served, leader, state.streams, tuning)
    inner = CloseAfterRefusedUpgrade(ShieldFinalBody(served))
    ingress = state.config.auth.mode is AuthMode.INGRESS
    return RequestContext(
        AccessLog(RequestHeadLimits(ProxyHeaders(inner, trusted))), trust_user_header=ingress
    )
