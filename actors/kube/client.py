"""The facade: one object per cluster connection with a typed accessor per kind."""

from __future__ import annotations

from collections.abc import Collection
from types import TracebackType
from typing import Any

from kubernetes.client import (
    CoreV1Event,
    V1ConfigMap,
    V1Ingress,
    V1Job,
    V1Namespace,
    V1NetworkPolicy,
    V1Node,
    V1PersistentVolumeClaim,
    V1Pod,
    V1ResourceQuota,
    V1Secret,
    V1Service,
    V1ServiceAccount,
)

from . import resources as r
from .credentials import (
    Authorizer,
    ClusterCredentials,
    load_from_environment,
    load_incluster,
    load_kubeconfig,
)
from .deadline import KUBERNETES_REQUEST_TIMEOUT
from .operations import ClusterResource, NamespacedResource
from .pods import PENDING_PHASES, wait_for_pod_phase
from .transport import ApiTransport

__all__ = ["KubeClient"]


class KubeClient:
    """A Trio-native Kubernetes client; use as ``async with`` (closes its connections).

    Build it with :meth:`for_url` (no auth; the simulated cluster), :meth:`from_kubeconfig`,
    :meth:`from_incluster` or :meth:`from_environment`. Each kind has an accessor with the same
    operations (``create``, ``create_or_replace``, ``read``, ``list``, ``delete``, ``watch``,
    ``wait_for_deletion``, ``wait_for_creation``). Every call honours the caller's Trio
    deadline.
    """

    def __init__(self, transport: ApiTransport) -> None:
        self.transport = transport
        t = transport
        self.namespaces = ClusterResource[V1Namespace](t, r.NAMESPACES)
        self.nodes = ClusterResource[V1Node](t, r.NODES)
        self.pods = NamespacedResource[V1Pod](t, r.PODS)
        self.services = NamespacedResource[V1Service](t, r.SERVICES)
        self.config_maps = NamespacedResource[V1ConfigMap](t, r.CONFIG_MAPS)
        self.secrets = NamespacedResource[V1Secret](t, r.SECRETS)
        self.persistent_volume_claims = NamespacedResource[V1PersistentVolumeClaim](
            t, r.PERSISTENT_VOLUME_CLAIMS
        )
        self.resource_quotas = NamespacedResource[V1ResourceQuota](t, r.RESOURCE_QUOTAS)
        self.network_policies = NamespacedResource[V1NetworkPolicy](t, r.NETWORK_POLICIES)
        self.ingresses = NamespacedResource[V1Ingress](t, r.INGRESSES)
        self.jobs = NamespacedResource[V1Job](t, r.JOBS)
        self.events = NamespacedResource[CoreV1Event](t, r.EVENTS)
        self.service_accounts = NamespacedResource[V1ServiceAccount](t, r.SERVICE_ACCOUNTS)
        self.gafaelfawr_ingresses = NamespacedResource[dict[str, Any]](t, r.GAFAELFAWR_INGRESSES)
        self.leases = NamespacedResource[dict[str, Any]](t, r.LEASES)

    @classmethod
    def for_url(
        cls,
        url: str,
        *,
        auth: Authorizer | None = None,
        request_timeout: float = KUBERNETES_REQUEST_TIMEOUT,
        max_attempts: int = 5,
    ) -> KubeClient:
        """A client for a plain base URL (kubesim, ``kubectl proxy``)."""
        return cls(
            ApiTransport(url, auth=auth, request_timeout=request_timeout, max_attempts=max_attempts)
        )

    @classmethod
    def from_credentials(cls, credentials: ClusterCredentials) -> KubeClient:
        """A client for already loaded credentials."""
        return cls(
            ApiTransport(credentials.base_url, verify=credentials.verify, auth=credentials.auth)
        )

    @classmethod
    async def from_kubeconfig(
        cls, path: str | None = None, context: str | None = None
    ) -> KubeClient:
        """A client from a kubeconfig file (default ``$KUBECONFIG`` / ``~/.kube/config``)."""
        return cls.from_credentials(await load_kubeconfig(path, context))

    @classmethod
    async def from_incluster(cls) -> KubeClient:
        """A client using the pod's service account."""
        return cls.from_credentials(await load_incluster())

    @classmethod
    async def from_environment(cls) -> KubeClient:
        """In-cluster credentials inside a pod, otherwise the kubeconfig."""
        return cls.from_credentials(await load_from_environment())

    async def __aenter__(self) -> KubeClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close all connections."""
        await self.transport.aclose()

    async def wait_for_pod_phase(
        self, namespace: str, name: str, *, wait_through: Collection[str] = PENDING_PHASES
    ) -> str | None:
        """Wait until the pod's phase leaves ``wait_through``; ``None`` if the pod is gone."""
        return await wait_for_pod_phase(self.pods, namespace, name, wait_through=wait_through)
