"""The table of Kubernetes resource kinds the controller talks to.

Every operation in this package is generic over a :class:`ResourceType`: the descriptor knows
how to build the REST path for its kind and how to turn JSON into the typed object the caller
sees (an official ``kubernetes`` model, or a plain ``dict`` for custom resources). Adding a
kind is one entry here, not a new client class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast
from urllib.parse import quote

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
from pydantic import BaseModel

from .errors import KubernetesError

__all__ = [
    "CONFIG_MAPS",
    "EVENTS",
    "GAFAELFAWR_INGRESSES",
    "INGRESSES",
    "JOBS",
    "LEASES",
    "NAMESPACES",
    "NETWORK_POLICIES",
    "NODES",
    "PERSISTENT_VOLUME_CLAIMS",
    "PODS",
    "RESOURCE_QUOTAS",
    "SECRETS",
    "SERVICES",
    "SERVICE_ACCOUNTS",
    "ResourceType",
    "path_segment",
]

T = TypeVar("T")

CustomObject = dict[str, Any]
"""Custom resources (GafaelfawrIngress) have no official model and travel as JSON dicts."""

_UNSENDABLE_SEGMENTS = frozenset({"", ".", ".."})


def path_segment(value: str, *, kind: str, namespace: str | None, name: str | None) -> str:
    """``value`` (a namespace or object name) as one percent-encoded URL path segment.

    Names come from users (a lab namespace is ``<prefix>-<username>``), so a name must never
    reach past its own segment: unencoded, ``a?x`` would end the path at ``a`` (and the
    request would address object ``a``), ``#`` would cut it, ``/`` or ``..`` would walk to
    another path. Every character outside the unreserved set is percent-encoded.

    Some names cannot be sent safely whatever the encoding, and are refused before any
    request: an empty name, ``.`` and ``..`` (HTTP clients and proxies resolve dot segments),
    and names containing ``/`` or ``%`` (an API server decodes the whole path before splitting
    it, so ``%2F`` becomes a separator there; ``%`` invites double decoding). No Kubernetes
    object can have such a name, so the refusal is a 400 ``BadRequest`` like the API server's
    own answer for them; the message says the request was not sent.
    """
    if value in _UNSENDABLE_SEGMENTS or "/" in value or "%" in value:
        raise KubernetesError(
            status=400,
            reason="BadRequest",
            message=f"{value!r} cannot be a path segment of the API; request not sent",
            kind=kind,
            namespace=namespace,
            name=name,
        )
    return quote(value, safe="")


@dataclass(frozen=True, slots=True)
class ResourceType(Generic[T]):
    """One API resource: where it lives on the server and how its objects are typed.

    ``model`` is the pydantic model of the official ``kubernetes`` package; ``None`` means the
    objects are plain dicts (custom resources). ``T`` must agree with ``model``; the module-level
    constants below are the only instances and are checked by the unit tests.
    """

    kind: str
    plural: str
    group: str
    version: str
    namespaced: bool
    model: type[BaseModel] | None

    @property
    def api_version(self) -> str:
        """The ``apiVersion`` field value (``v1`` for the core group, ``group/version`` else)."""
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """Build the REST path for a collection (no ``name``) or a single object.

        A namespaced kind without a namespace addresses the cluster-wide collection (used for
        list and watch across namespaces); a cluster-scoped kind refuses a namespace because
        sending one would silently address the wrong URL. The namespace and the name are each
        one percent-encoded segment (:func:`path_segment`): no name can address another
        object.
        """
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if namespace is not None:
            if not self.namespaced:
                raise ValueError(f"{self.kind} is cluster-scoped; no namespace allowed")
            segment = path_segment(namespace, kind=self.kind, namespace=namespace, name=name)
            prefix = f"{prefix}/namespaces/{segment}"
        elif name is not None and self.namespaced:
            raise ValueError(f"{self.kind} is namespaced; a namespace is required")
        path = f"{prefix}/{self.plural}"
        if name is None:
            return path
        return f"{path}/{path_segment(name, kind=self.kind, namespace=namespace, name=name)}"

    def as_raw(self) -> ResourceType[dict[str, Any]]:
        """The same kind with objects left as server JSON (for callers that need one field
        of a large object: building the model would cost more than the whole call)."""
        return ResourceType(self.kind, self.plural, self.group, self.version, self.namespaced, None)

    def decode(self, data: dict[str, Any]) -> T:
        """Turn server JSON into the caller's type, ignoring fields newer than our models."""
        if self.model is None:
            return cast(T, data)
        return cast(T, self.model.model_validate(data, extra="ignore"))

    def encode(self, obj: T) -> dict[str, Any]:
        """Turn a caller's object into request JSON, filling in ``apiVersion`` and ``kind``.

        The official models leave both unset unless the caller fills them, and the API
        server rejects bodies without them, so they are added from this descriptor.
        """
        if isinstance(obj, BaseModel):
            data = obj.model_dump(mode="json", by_alias=True, exclude_none=True)
        elif isinstance(obj, dict):
            data = dict(obj)
        else:
            raise TypeError(f"cannot encode {type(obj).__name__} as a {self.kind}")
        data.setdefault("apiVersion", self.api_version)
        data.setdefault("kind", self.kind)
        return data


NAMESPACES: ResourceType[V1Namespace] = ResourceType(
    "Namespace", "namespaces", "", "v1", False, V1Namespace
)
NODES: ResourceType[V1Node] = ResourceType("Node", "nodes", "", "v1", False, V1Node)
PODS: ResourceType[V1Pod] = ResourceType("Pod", "pods", "", "v1", True, V1Pod)
SERVICES: ResourceType[V1Service] = ResourceType("Service", "services", "", "v1", True, V1Service)
CONFIG_MAPS: ResourceType[V1ConfigMap] = ResourceType(
    "ConfigMap", "configmaps", "", "v1", True, V1ConfigMap
)
SECRETS: ResourceType[V1Secret] = ResourceType("Secret", "secrets", "", "v1", True, V1Secret)
PERSISTENT_VOLUME_CLAIMS: ResourceType[V1PersistentVolumeClaim] = ResourceType(
    "PersistentVolumeClaim", "persistentvolumeclaims", "", "v1", True, V1PersistentVolumeClaim
)
RESOURCE_QUOTAS: ResourceType[V1ResourceQuota] = ResourceType(
    "ResourceQuota", "resourcequotas", "", "v1", True, V1ResourceQuota
)
SERVICE_ACCOUNTS: ResourceType[V1ServiceAccount] = ResourceType(
    "ServiceAccount", "serviceaccounts", "", "v1", True, V1ServiceAccount
)
EVENTS: ResourceType[CoreV1Event] = ResourceType("Event", "events", "", "v1", True, CoreV1Event)
NETWORK_POLICIES: ResourceType[V1NetworkPolicy] = ResourceType(
    "NetworkPolicy", "networkpolicies", "networking.k8s.io", "v1", True, V1NetworkPolicy
)
INGRESSES: ResourceType[V1Ingress] = ResourceType(
    "Ingress", "ingresses", "networking.k8s.io", "v1", True, V1Ingress
)
JOBS: ResourceType[V1Job] = ResourceType("Job", "jobs", "batch", "v1", True, V1Job)
LEASES: ResourceType[CustomObject] = ResourceType(
    "Lease", "leases", "coordination.k8s.io", "v1", True, None
)
"""Leader election's lease: read and written as JSON (two fields are all it needs)."""
GAFAELFAWR_INGRESSES: ResourceType[CustomObject] = ResourceType(
    "GafaelfawrIngress", "gafaelfawringresses", "gafaelfawr.lsst.io", "v1alpha1", True, None
)
