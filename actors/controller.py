"""The whole controller for a configuration: its clients, its services and its actor tree.

``open_controller`` opens the outbound clients (Kubernetes, image registry), builds every
service and the actor tree that runs them, and closes the clients when the block ends. The
web layer serves ``Controller.system`` and routes requests to the services; nothing is
started here — ``ActorSystem.run`` does that, in the process's own nursery.

The tree::

    root
    ├── alerts, kubernetes-watchdog  (Slack alerts; if slackWebhook is set)
    ├── images          (image catalog, refreshed in the background)
    ├── prepuller       (prepull pods onto eligible nodes)
    ├── discovery       (Repertoire's discovery document for labs; if configured)
    ├── labs            (informer/lab-pods, relay/lab-pod-events, lab-manager,
    │                    lab-users → lab/<user>)
    ├── fileservers     (informer/fileserver-pods, informer/fileserver-ingresses,
    │                    fileserver-manager, fileserver-users → fileserver/<user>; if enabled)
    ├── fsadmin         (the fsadmin pod)
    └── migrations      (informer/migration-pods, migration-manager,
                         migration-pairs → migration/<old>-to-<new>)
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import trio

from actors.alerts import AlertService, bound_reporter
from actors.common.tuning import DEFAULT_TUNING, Tuning
from actors.config import ControllerConfig, DockerSource, FileserverEnabled
from actors.discovery import DiscoveryService
from actors.fileservers.service import FileserverService
from actors.fsadmin.service import FSAdminService
from actors.images.resolver import ServiceResolver
from actors.images.service import ImageService
from actors.images.source import SourceEndpoints, build_image_source
from actors.images.tls import RegistryTLSError, registry_ssl_context
from actors.kube import KubeClient
from actors.labs.builder import check_lab_config
from actors.labs.builder.environment import repertoire_url
from actors.labs.service import LabService
from actors.metrics import ControllerMetrics
from actors.metrics.leadership import LeadershipCollector
from actors.migrator.service import MigratorService
from actors.replicas.service import ReplicaService, replica_identity
from actors.runtime import ActorSystem, RestartLimits, RestartPolicy, Supervisor
from actors.runtime.node import Node

__all__ = ["Controller", "ControllerSetupError", "open_controller", "read_controller_namespace"]

ROOT_LIMITS = RestartLimits(max_restarts=10, window=60.0, backoff_initial=0.5, backoff_max=30.0)
"""Generous at the root: a service that keeps crashing for a minute takes the process down,
which lets Kubernetes restart the controller with a clean slate."""

REGISTRY_TIMEOUT = 20.0
"""Seconds for any image-registry call (``kubernetes-objects.md`` §11)."""


class ControllerSetupError(Exception):
    """The controller cannot start: a message for the operator, no traceback needed."""


@dataclass
class Controller:
    """What the web layer serves: the actor system and the services routes talk to."""

    system: ActorSystem
    labs: LabService | None = None
    images: ImageService | None = None
    fileservers: FileserverService | None = None
    fsadmin: FSAdminService | None = None
    migrator: MigratorService | None = None
    discovery: DiscoveryService | None = None
    alerts: AlertService | None = None
    metrics: ControllerMetrics = field(default_factory=ControllerMetrics)
    """This controller's own metrics registry (served by ``GET /metrics``)."""
    replicas: ReplicaService | None = None
    """Leadership among replicas (one endless term when leader election is off)."""
    extras: dict[str, object] = field(default_factory=dict)

    async def wait_ready(self) -> None:
        """Return once this replica may open its port.

        A lone replica must first rebuild every service's state (startup reconciliation:
        it must know every lab before it answers about any). With leader election, a
        replica opens once its informers are warm: it forwards requests until it leads, and
        each of its terms is served only once the services are ready in it (the term
        keeper sees to that).
        """
        if self.replicas is not None and self.replicas.enabled:
            await self.wait_warm()
        else:
            await self.wait_services_ready()

    async def wait_warm(self) -> None:
        """Return once the lab informers have listed and the read-only services started."""
        if self.labs is not None:
            await self.labs.feeds.wait_listed()
        if self.images is not None:
            await self.images.ready.wait()
        if self.discovery is not None:
            await self.discovery.ready.wait()

    async def wait_services_ready(self) -> None:
        """Return once every service has rebuilt its state in the current term."""
        if self.labs is not None:
            await self.labs.ready.wait()
        if self.images is not None:
            # Set after the first refresh attempt, even a failed one (never blocks startup).
            await self.images.ready.wait()
        if self.discovery is not None:
            # Set after the first fetch attempt, even a failed one (bounded by its timeout).
            await self.discovery.ready.wait()
        if self.fileservers is not None:
            await self.fileservers.ready.wait()
        if self.migrator is not None:
            await self.migrator.ready.wait()


async def _registry_client(
    config: ControllerConfig, http: httpx.AsyncClient, stack: AsyncExitStack
) -> httpx.AsyncClient:
    """``http``, or a client of its own when the registry has a private CA to trust."""
    source = config.images.source
    if not isinstance(source, DockerSource) or source.ca_bundle_path is None:
        return http
    try:
        context = await trio.to_thread.run_sync(registry_ssl_context, source.ca_bundle_path)
    except RegistryTLSError as error:
        raise ControllerSetupError(str(error)) from None
    client = httpx.AsyncClient(timeout=httpx.Timeout(REGISTRY_TIMEOUT, pool=None), verify=context)
    stack.push_async_callback(client.aclose)
    return client


async def read_controller_namespace(metadata_path: Path) -> str:
    """The controller's own namespace, from the downward-API file ``namespace``."""
    path = metadata_path / "namespace"
    try:
        text = await trio.Path(path).read_text()
    except OSError as error:
        raise ControllerSetupError(
            f"cannot read the controller namespace from {path}: {error.strerror or error}"
            " (mount the downward API there, or set metadataPath)"
        ) from None
    namespace = text.strip()
    if not namespace:
        raise ControllerSetupError(f"{path} is empty; expected the controller's namespace")
    return namespace


@asynccontextmanager
async def open_controller(
    config: ControllerConfig,
    *,
    kube: KubeClient | None = None,
    image_endpoints: SourceEndpoints | None = None,
    controller_namespace: str | None = None,
    environ: Mapping[str, str] | None = None,
    tuning: Tuning = DEFAULT_TUNING,
) -> AsyncIterator[Controller]:
    """Build the controller for ``config``; close its clients when the block ends.

    ``kube`` defaults to credentials from the environment (in-cluster, else kubeconfig);
    ``image_endpoints`` and ``controller_namespace`` let the simulated site stand in for a
    real registry and pod metadata; ``tuning`` is given to every service.
    """
    environ = os.environ if environ is None else environ
    check_lab_config(config)
    async with AsyncExitStack() as stack:
        if kube is None:
            try:
                kube = await KubeClient.from_environment()
            except Exception as error:
                # The kubernetes package raises assorted types (ConfigException, OSError, ...).
                raise ControllerSetupError(
                    f"cannot load Kubernetes credentials (in-cluster or kubeconfig): {error}"
                ) from None
        stack.push_async_callback(kube.aclose)
        metrics = ControllerMetrics()
        kube.transport.observer = metrics.kube
        # Waiting for a free connection is not the registry's fault: only requests time out.
        http = httpx.AsyncClient(timeout=httpx.Timeout(REGISTRY_TIMEOUT, pool=None))
        stack.push_async_callback(http.aclose)
        source = await build_image_source(
            config.images, await _registry_client(config, http, stack), image_endpoints
        )
        namespace = controller_namespace or await read_controller_namespace(config.metadata_path)
        replicas = ReplicaService(
            config.leader_election, kube, namespace, identity=replica_identity(dict(environ))
        )
        terms = replicas.terms
        images = ImageService(config, kube, source, controller_namespace=namespace, tuning=tuning)
        discovery_url = repertoire_url(config, environ)
        discovery = (
            DiscoveryService(config, http, discovery_url) if discovery_url is not None else None
        )
        labs = LabService(
            config,
            kube,
            ServiceResolver(images),
            controller_namespace=namespace,
            discovery=discovery.view if discovery is not None else None,
            environ=environ,
            tuning=tuning,
            spawns=metrics.spawns,
            terms=terms,
        )
        labs.pod_events.on_reason = metrics.spawns.pod_event
        fileservers = (
            FileserverService(config, kube, tuning=tuning, terms=terms)
            if isinstance(config.fileserver, FileserverEnabled)
            else None
        )
        fsadmin = FSAdminService(config, kube, namespace=namespace)
        migrator = MigratorService(config, kube, namespace=namespace, tuning=tuning, terms=terms)
        alerts = (
            AlertService(config, http, kube, namespace)
            if config.slack_webhook is not None
            else None
        )
        storage: list[tuple[Node, RestartPolicy]] = [
            (fsadmin.supervisor, RestartPolicy.PERMANENT),
            (migrator.supervisor, RestartPolicy.PERMANENT),
        ]
        if fileservers is not None:
            storage.insert(0, (fileservers.supervisor, RestartPolicy.PERMANENT))
        # The term keeper waits on the controller's readiness; the controller needs the
        # system the keeper is part of: the keeper reads it through this cell.
        built: list[Controller] = []
        replicas.keep_terms(lambda: built[0].wait_services_ready())
        root = Supervisor(
            "root",
            [
                *replicas.children,
                *(alerts.children if alerts is not None else []),
                *images.children,
                *(discovery.children if discovery is not None else []),
                (labs.supervisor, RestartPolicy.PERMANENT),
                *storage,
            ],
            limits=ROOT_LIMITS,
        )
        system = ActorSystem(root, terms=terms)
        controller = Controller(
            system=system,
            metrics=metrics,
            labs=labs,
            images=images,
            fileservers=fileservers,
            fsadmin=fsadmin,
            migrator=migrator,
            discovery=discovery,
            alerts=alerts,
            replicas=replicas,
        )
        built.append(controller)
        if alerts is not None:
            system.on_give_up(alerts.give_up)
        # Every task the caller starts inside this block (the actors, the request handlers)
        # reports alerts to this controller's sender.
        stack.enter_context(bound_reporter(alerts.reporter if alerts is not None else None))
        metrics.watch(config, system)
        if replicas.enabled:
            metrics.registry.register(LeadershipCollector(replicas.view))
        yield controller
