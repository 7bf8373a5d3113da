"""What the controller keeps of each lab object: the few facts a lab's state is rebuilt from.

Reconciliation used to list every lab's namespace, env ConfigMap, pod and quota and decode
them whole. The shared informers now keep, for each object, only what rebuilding a
``LabState`` reads (its *facts*): a few strings and numbers instead of the tens of kilobytes
a pod takes as server JSON. The same facts are drawn from read objects (a restarted lab actor
reads its own), so that one function judges both (``reconstruct.rebuild_lab_state``).

Every digest takes server JSON. A missing field yields facts that rebuilding reports as
incomplete, as it would report the object itself; but an answer that is not a Kubernetes
object at all (a broken proxy, an incompatible API server) raises
:class:`UnreadableObjectError`: garbage must never read as "this lab is incomplete", which
reconciliation would act on by deleting it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from actors.common.labels import (
    CATEGORY_LABEL,
    USER_GROUPS_ANNOTATION,
    USER_NAME_ANNOTATION,
    Category,
)
from actors.common.naming import NOTEBOOK_CONTAINER

from .quota import QUOTA_CPU_KEY, QUOTA_MEMORY_KEY

__all__ = [
    "ENV_KEYS",
    "EnvFacts",
    "LabPodFacts",
    "NamespaceFacts",
    "QuotaFacts",
    "UnreadableObjectError",
    "env_facts",
    "namespace_facts",
    "pod_facts",
    "quota_facts",
]

ENV_KEYS = (
    "CPU_LIMIT",
    "MEM_LIMIT",
    "CPU_GUARANTEE",
    "MEM_GUARANTEE",
    "JUPYTER_IMAGE_SPEC",
    "DEBUG",
    "RESET_USER_ENV",
    "JUPYTERHUB_SERVICE_PREFIX",
)
"""The env ConfigMap keys a lab's state is rebuilt from."""

ENV_CONFIG_MAP_SUFFIX = "-nb-env"


@dataclass(frozen=True, slots=True)
class NamespaceFacts:
    """A namespace with the lab prefix: whether it says it is a lab's, whether it is going."""

    labelled: bool
    terminating: bool


_NAMESPACES = {
    (labelled, terminating): NamespaceFacts(labelled, terminating)
    for labelled in (False, True)
    for terminating in (False, True)
}


@dataclass(frozen=True, slots=True)
class EnvFacts:
    """The values of :data:`ENV_KEYS` in a lab's env ConfigMap (``None``: absent)."""

    values: tuple[str | None, ...]

    def as_mapping(self) -> dict[str, str]:
        pairs = zip(ENV_KEYS, self.values, strict=True)
        return {key: value for key, value in pairs if value is not None}


@dataclass(frozen=True, slots=True)
class QuotaFacts:
    """The hard CPU and memory limits of a lab's ResourceQuota, as the API server wrote them."""

    cpu: str | None
    memory: str | None


@dataclass(frozen=True, slots=True)
class LabPodFacts:
    """What a lab pod says: its phase and the identity of the user it runs as."""

    phase: str
    """``Pending`` when the pod has no phase yet, as the API server defaults it."""
    uid: int | None
    gid: int | None
    has_notebook: bool
    display_name: str | None
    groups: str | None
    """The user-groups annotation as written (JSON), parsed only when a state is rebuilt."""
    object_uid: str | None = None
    """The pod object's ``metadata.uid``: tells a spawn's new pod from the previous pod of
    the same name that an informer running behind may still show."""


class UnreadableObjectError(ValueError):
    """Server JSON that is not an object of the expected shape."""


def _mapping(value: Any, what: str = "field") -> Mapping[str, Any]:
    """A JSON object field (absent: empty); anything else is not a Kubernetes object."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise UnreadableObjectError(f"{what} is {type(value).__name__}, not an object")
    return value


def _text(value: Any) -> str | None:
    """A string value, interned: thousands of labs share a few images and flags."""
    return sys.intern(value) if isinstance(value, str) else None


def namespace_facts(obj: Mapping[str, Any]) -> NamespaceFacts:
    """The facts of a namespace (whether its name has the lab prefix is the caller's test)."""
    metadata = _mapping(obj.get("metadata"), "metadata")
    labels = _mapping(metadata.get("labels"), "metadata.labels")
    labelled = labels.get(CATEGORY_LABEL) == Category.LAB.value
    return _NAMESPACES[(labelled, bool(metadata.get("deletionTimestamp")))]


def env_facts(obj: Mapping[str, Any]) -> EnvFacts | None:
    """The facts of a lab's env ConfigMap; ``None`` for the lab's other ConfigMaps."""
    name = _mapping(obj.get("metadata"), "metadata").get("name")
    if not isinstance(name, str) or not name.endswith(ENV_CONFIG_MAP_SUFFIX):
        return None
    data = _mapping(obj.get("data"), "data")
    return EnvFacts(tuple(_text(data.get(key)) for key in ENV_KEYS))


def quota_facts(obj: Mapping[str, Any]) -> QuotaFacts:
    hard = _mapping(_mapping(obj.get("spec"), "spec").get("hard"), "spec.hard")
    return QuotaFacts(_text(hard.get(QUOTA_CPU_KEY)), _text(hard.get(QUOTA_MEMORY_KEY)))


def pod_facts(obj: Mapping[str, Any]) -> LabPodFacts:
    metadata = _mapping(obj.get("metadata"), "metadata")
    annotations = _mapping(metadata.get("annotations"), "metadata.annotations")
    phase = _mapping(obj.get("status"), "status").get("phase")
    containers = _mapping(obj.get("spec"), "spec").get("containers")
    notebook = next(
        (
            c
            for c in (containers if isinstance(containers, list) else [])
            if isinstance(c, Mapping) and c.get("name") == NOTEBOOK_CONTAINER
        ),
        None,
    )
    security: Mapping[str, Any] = {}
    if notebook is not None:
        security = _mapping(notebook.get("securityContext"), "securityContext")
    uid, gid = security.get("runAsUser"), security.get("runAsGroup")
    name, groups = annotations.get(USER_NAME_ANNOTATION), annotations.get(USER_GROUPS_ANNOTATION)
    return LabPodFacts(
        phase=sys.intern(phase) if isinstance(phase, str) and phase else "Pending",
        uid=uid if isinstance(uid, int) and not isinstance(uid, bool) else None,
        gid=gid if isinstance(gid, int) and not isinstance(gid, bool) else None,
        has_notebook=notebook is not None,
        display_name=name if isinstance(name, str) else None,
        groups=groups if isinstance(groups, str) else None,
        object_uid=object_uid if isinstance(object_uid := metadata.get("uid"), str) else None,
    )
