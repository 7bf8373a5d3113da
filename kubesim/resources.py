"""The resource kinds kubesim serves, with the per-kind rules a real API server applies.

A :class:`ResourceType` carries everything that differs between kinds: where it lives in the
REST tree (group/version/plural, namespaced or cluster-scoped), how names are validated, which
field selectors are accepted, whether it has a ``status`` subresource (then writes to the main
resource keep the stored status and creates reset it), whether ``DELETE`` answers with the
object or with a ``Status``, and the default garbage-collection policy (``batch/v1`` Jobs
orphan their pods by default, for backwards compatibility, unlike every other kind).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

#: Field selectors every kind accepts.
COMMON_FIELDS = ("metadata.name", "metadata.namespace")


@dataclass(frozen=True)
class ResourceType:
    """One served kind. Immutable; the derived names below are computed once per instance
    (``cached_property`` stores them in the instance ``__dict__``, which a frozen dataclass
    allows) because the store asks for ``key`` on every read, write and watch event."""

    kind: str
    plural: str
    singular: str
    group: str = ""
    version: str = "v1"
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    #: "label" (DNS-1123 label), "label1035" (DNS-1035 label) or "subdomain" (DNS-1123).
    name_rule: str = "subdomain"
    fields: tuple[str, ...] = ()
    status_subresource: bool = False
    returns_deleted_object: bool = False
    has_generation: bool = False
    default_propagation: str = "Background"
    #: Discovery categories (``all`` is what ``kubectl get all`` lists).
    categories: tuple[str, ...] = ()
    #: Whether a PUT without ``metadata.resourceVersion`` overwrites whatever is stored (most
    #: built-in kinds); otherwise it is 422 ``must be specified for an update`` (Leases,
    #: custom resources), so a writer can never overwrite a version it has not seen.
    unconditional_update: bool = True
    #: Whether a PUT to a name that does not exist creates the object (201) instead of 404.
    create_on_update: bool = False

    @cached_property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @cached_property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @cached_property
    def key(self) -> str:
        """Unique identifier used as the store's partition key."""
        return f"{self.group}/{self.plural}"

    @cached_property
    def field_selectors(self) -> tuple[str, ...]:
        return COMMON_FIELDS + self.fields

    @cached_property
    def base_path(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"


_EVENT_FIELDS = (
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)

RESOURCES: tuple[ResourceType, ...] = (
    ResourceType(
        "Namespace",
        "namespaces",
        "namespace",
        namespaced=False,
        short_names=("ns",),
        name_rule="label",
        fields=("status.phase",),
        status_subresource=True,
        returns_deleted_object=True,
    ),
    ResourceType(
        "Pod",
        "pods",
        "pod",
        short_names=("po",),
        categories=("all",),
        fields=(
            "status.phase",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.podIP",
            "status.nominatedNodeName",
        ),
        status_subresource=True,
        returns_deleted_object=True,
        has_generation=True,
    ),
    ResourceType(
        "Service",
        "services",
        "service",
        short_names=("svc",),
        categories=("all",),
        name_rule="label1035",
        status_subresource=True,
        returns_deleted_object=True,
    ),
    ResourceType("ConfigMap", "configmaps", "configmap", short_names=("cm",)),
    ResourceType("Secret", "secrets", "secret", fields=("type",)),
    ResourceType(
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        short_names=("pvc",),
        status_subresource=True,
        returns_deleted_object=True,
    ),
    ResourceType(
        "ResourceQuota",
        "resourcequotas",
        "resourcequota",
        short_names=("quota",),
        status_subresource=True,
        returns_deleted_object=True,
    ),
    ResourceType(
        "ServiceAccount",
        "serviceaccounts",
        "serviceaccount",
        short_names=("sa",),
        returns_deleted_object=True,
    ),
    ResourceType(
        "Node",
        "nodes",
        "node",
        namespaced=False,
        short_names=("no",),
        fields=("spec.unschedulable",),
        status_subresource=True,
    ),
    ResourceType("Event", "events", "event", short_names=("ev",), fields=_EVENT_FIELDS),
    ResourceType(
        "NetworkPolicy",
        "networkpolicies",
        "networkpolicy",
        group="networking.k8s.io",
        short_names=("netpol",),
        has_generation=True,
    ),
    ResourceType(
        "Ingress",
        "ingresses",
        "ingress",
        group="networking.k8s.io",
        short_names=("ing",),
        status_subresource=True,
        has_generation=True,
    ),
    ResourceType(
        "Job",
        "jobs",
        "job",
        group="batch",
        categories=("all",),
        fields=("status.successful",),
        status_subresource=True,
        has_generation=True,
        default_propagation="Orphan",
    ),
    ResourceType("LimitRange", "limitranges", "limitrange", short_names=("limits",)),
    ResourceType(
        "Deployment",
        "deployments",
        "deployment",
        group="apps",
        short_names=("deploy",),
        categories=("all",),
        status_subresource=True,
        has_generation=True,
    ),
    ResourceType(
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        group="policy",
        short_names=("pdb",),
        status_subresource=True,
        has_generation=True,
    ),
    ResourceType("Role", "roles", "role", group="rbac.authorization.k8s.io"),
    ResourceType(
        "ClusterRole",
        "clusterroles",
        "clusterrole",
        group="rbac.authorization.k8s.io",
        namespaced=False,
    ),
    ResourceType("RoleBinding", "rolebindings", "rolebinding", group="rbac.authorization.k8s.io"),
    ResourceType(
        "ClusterRoleBinding",
        "clusterrolebindings",
        "clusterrolebinding",
        group="rbac.authorization.k8s.io",
        namespaced=False,
    ),
    ResourceType(
        "GafaelfawrIngress",
        "gafaelfawringresses",
        "gafaelfawringress",
        group="gafaelfawr.lsst.io",
        version="v1alpha1",
        short_names=("gafingress",),
        status_subresource=True,
        returns_deleted_object=True,
        has_generation=True,
        unconditional_update=False,
    ),
    ResourceType(
        "Lease",
        "leases",
        "lease",
        group="coordination.k8s.io",
        unconditional_update=False,
        create_on_update=True,
    ),
)

_BY_NAME: dict[tuple[str, str], ResourceType] = {}
for _res in RESOURCES:
    for _alias in (_res.plural, _res.singular, _res.kind.lower(), *_res.short_names):
        _BY_NAME[(_res.group, _alias)] = _res
        _BY_NAME.setdefault(("*", _alias), _res)


def lookup(plural_or_kind: str, group: str | None = "") -> ResourceType | None:
    """Find a kind by plural, singular, kind or short name (case-insensitive).

    ``group=None`` searches every group (first match wins; names are unique in kubesim).
    """
    name = plural_or_kind.lower()
    if group is None:
        return _BY_NAME.get(("*", name))
    return _BY_NAME.get((group, name))


def group_versions() -> dict[str, list[ResourceType]]:
    """Resources grouped by ``apiVersion`` (``"v1"``, ``"batch/v1"``, ...), in a stable order."""
    result: dict[str, list[ResourceType]] = {}
    for res in RESOURCES:
        result.setdefault(res.api_version, []).append(res)
    return result
