"""Reading a lab's state back from its objects, for reconciliation (§2.18).

After a restart the controller knows nothing but what Kubernetes holds. A lab namespace is
*complete* when its env ConfigMap and pod exist and carry everything ``LabState`` needs; the
numbers come from the env ConfigMap (whose strings the API server never rewrites), the
identity from the ``notebook`` container and the pod annotations. Anything else makes the
namespace *incomplete*, which reconciliation deletes.

``reconstruct_lab_state`` says why a namespace is incomplete (``IncompleteLabError``);
``parse_lab_state`` is the same but answers ``None`` for callers that only need a yes/no.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from kubernetes.client import V1ConfigMap, V1Pod, V1ResourceQuota
from pydantic import TypeAdapter, ValidationError

from actors.common.labels import USER_GROUPS_ANNOTATION
from actors.common.models import (
    LabResources,
    LabState,
    LabStatus,
    LabUser,
    ResourceQuantity,
    UserGroup,
    lab_options,
)
from actors.common.naming import (
    NOTEBOOK_CONTAINER,
    env_config_map_name,
    internal_url,
    lab_object_name,
    lab_username,
)
from actors.common.resources import lab_resources, size_resources
from actors.config import ControllerConfig, LabSize
from actors.config.units import parse_cpu, parse_memory
from actors.kube.resources import PODS, RESOURCE_QUOTAS

from .facts import ENV_KEYS, EnvFacts, LabPodFacts, QuotaFacts, pod_facts, quota_facts
from .quota import QUOTA_CPU_KEY, QUOTA_MEMORY_KEY

__all__ = [
    "IncompleteLabError",
    "match_size",
    "parse_lab_state",
    "rebuild_lab_state",
    "reconstruct_lab_state",
]

_GROUPS = TypeAdapter(list[UserGroup])


class IncompleteLabError(Exception):
    """The namespace lacks an object or a value needed to rebuild the lab state."""

    def __init__(self, namespace: str, reason: str) -> None:
        self.namespace = namespace
        self.reason = reason
        super().__init__(f"lab namespace {namespace} is incomplete: {reason}")


def parse_lab_state(
    config: ControllerConfig,
    namespace_name: str,
    env_configmap: V1ConfigMap | None,
    pod: V1Pod | None,
    quota: V1ResourceQuota | None,
) -> LabState | None:
    """The lab state stored in these objects, or ``None`` if the namespace is incomplete."""
    try:
        return reconstruct_lab_state(config, namespace_name, env_configmap, pod, quota)
    except IncompleteLabError:
        return None


def reconstruct_lab_state(
    config: ControllerConfig,
    namespace_name: str,
    env_configmap: V1ConfigMap | None,
    pod: V1Pod | None,
    quota: V1ResourceQuota | None,
) -> LabState:
    """The lab state stored in these objects; ``IncompleteLabError`` says what is missing.

    ``env_configmap`` is ``<user>-nb-env``, ``pod`` is ``<user>-nb`` and ``quota`` is the
    optional ``<user>-nb`` ResourceQuota, each ``None`` when absent.
    """
    env = None
    if env_configmap is not None:
        env = EnvFacts(tuple((env_configmap.data or {}).get(key) for key in ENV_KEYS))
    return rebuild_lab_state(
        config,
        namespace_name,
        env,
        None if pod is None else pod_facts(PODS.encode(pod)),
        None if quota is None else quota_facts(RESOURCE_QUOTAS.encode(quota)),
    )


def rebuild_lab_state(
    config: ControllerConfig,
    namespace_name: str,
    env_facts: EnvFacts | None,
    pod: LabPodFacts | None,
    quota: QuotaFacts | None,
) -> LabState:
    """The lab state from the facts of its objects (``facts.py``); raises as above."""
    username = lab_username(config, namespace_name)
    if username is None:
        prefix = config.lab.namespace_prefix
        raise IncompleteLabError(namespace_name, f"name does not start with {prefix}-")
    if env_facts is None:
        raise IncompleteLabError(
            namespace_name, f"ConfigMap {env_config_map_name(username)} missing"
        )
    if pod is None:
        raise IncompleteLabError(namespace_name, f"Pod {lab_object_name(username)} missing")
    env = _Env(namespace_name, env_facts.as_mapping())
    resources = lab_resources(
        env.cpu("CPU_LIMIT"),
        env.memory("MEM_LIMIT"),
        env.cpu("CPU_GUARANTEE"),
        env.memory("MEM_GUARANTEE"),
    )
    options = lab_options(
        env.required("JUPYTER_IMAGE_SPEC"),
        match_size(config, resources),
        enable_debug=env.flag("DEBUG"),
        reset_user_env=env.flag("RESET_USER_ENV"),
    )
    return LabState(
        user=_lab_user(namespace_name, username, pod),
        options=options,
        status=LabStatus.from_pod_phase(pod.phase),
        internal_url=internal_url(config, username, env.required("JUPYTERHUB_SERVICE_PREFIX")),
        resources=resources,
        quota=_quota(namespace_name, quota),
    )


def match_size(config: ControllerConfig, resources: LabResources) -> LabSize:
    """The first configured size with exactly these four amounts, else ``custom``."""
    for size in config.lab.sizes:
        if size_resources(size) == resources:
            return size.size
    return LabSize.CUSTOM


class _Env:
    """Typed access to the env ConfigMap data, failing as ``IncompleteLabError``."""

    def __init__(self, namespace: str, data: Mapping[str, str]) -> None:
        self._namespace = namespace
        self._data = data

    def required(self, name: str) -> str:
        value = self._data.get(name)
        if not value:
            raise IncompleteLabError(self._namespace, f"env ConfigMap has no {name}")
        return value

    def cpu(self, name: str) -> float:
        value = self.required(name)
        try:
            return float(value)
        except ValueError:
            raise IncompleteLabError(self._namespace, f"{name} is not a number") from None

    def memory(self, name: str) -> int:
        value = self.required(name)
        try:
            return int(value)
        except ValueError:
            raise IncompleteLabError(self._namespace, f"{name} is not a byte count") from None

    def flag(self, name: str) -> bool:
        return self._data.get(name) == "TRUE"


def _lab_user(namespace: str, username: str, pod: LabPodFacts) -> LabUser:
    if not pod.has_notebook:
        raise IncompleteLabError(namespace, f"pod has no {NOTEBOOK_CONTAINER} container")
    if pod.uid is None or pod.gid is None:
        raise IncompleteLabError(namespace, "notebook container has no runAsUser/runAsGroup")
    try:
        groups = _GROUPS.validate_python(json.loads(pod.groups or "[]"))
    except (ValueError, ValidationError):
        raise IncompleteLabError(
            namespace, f"pod annotation {USER_GROUPS_ANNOTATION} is not a group list"
        ) from None
    return LabUser(
        username=username,
        name=pod.display_name,
        uid=pod.uid,
        gid=pod.gid,
        groups=groups,
    )


def _quota(namespace: str, quota: QuotaFacts | None) -> ResourceQuantity | None:
    if quota is None:
        return None
    try:
        # The API server may rewrite quantities canonically ("24Gi"), so parse them fully.
        if quota.cpu is None or quota.memory is None:
            raise KeyError
        return ResourceQuantity(cpu=parse_cpu(quota.cpu), memory=parse_memory(quota.memory))
    except (KeyError, ValueError):
        raise IncompleteLabError(
            namespace, f"ResourceQuota lacks valid {QUOTA_CPU_KEY}/{QUOTA_MEMORY_KEY}"
        ) from None
