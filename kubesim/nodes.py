"""Simulated nodes: ``v1`` Node objects from configuration, and the scheduling predicates.

A node is created once, when the site is assembled (:func:`install`); afterwards only the
simulated kubelet changes it (it appends to ``status.images`` after a pull). Node objects
carry what the controller reads: ``metadata.labels``, ``spec.taints``, a ``Ready`` condition,
``status.addresses`` and ``status.images`` (``names`` = ``[<repo>@<digest>, <repo>:<tag>]``
and ``sizeBytes``).

YAML format (see :func:`parse_nodes`; demo set in ``kubesim/data/nodes.yaml``)::

    nodes:
      - name: node1
        labels: {node-role.kubernetes.io/lab: "true"}    # kubernetes.io/hostname is added
        taints: [{key: dedicated, value: gpu, effect: NoSchedule}]
        cpu: "8"                 # capacity / allocatable (strings, Kubernetes quantities)
        memory: 32Gi
        images:                  # pre-cached images
          - image: docker.io/lsstsqre/sciplat-lab:w_2026_46   # digest from the registry data
          - image: docker.io/library/busybox:1.36
            digest: "sha256:<64 hex>"                          # explicit digest
            size: 4500000

:func:`fits` and :func:`tolerates` are the scheduler's predicates (nodeSelector and
NoSchedule/NoExecute taints); affinity is not simulated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import yaml

__all__ = [
    "CachedImage",
    "NodeSpec",
    "demo_nodes",
    "fits",
    "install",
    "node_object",
    "parse_nodes",
    "split_image",
    "tolerates",
]

DigestResolver = Callable[[str], str | None]


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """Split ``repo[:tag][@digest]`` into (repo, tag, digest); repo keeps its registry host."""
    ref, _, digest = image.partition("@")
    last_slash = ref.rfind("/")
    colon = ref.rfind(":")
    tag: str | None = None
    if colon > last_slash:
        ref, tag = ref[:colon], ref[colon + 1 :]
    return ref, tag, digest or None


@dataclass(frozen=True)
class CachedImage:
    """One ``status.images`` entry: an image present on the node."""

    repository: str  # with registry host, e.g. docker.io/lsstsqre/sciplat-lab
    digest: str
    tags: tuple[str, ...] = ()
    size: int = 0

    def to_json(self) -> dict[str, Any]:
        names = [f"{self.repository}@{self.digest}"]
        names += [f"{self.repository}:{tag}" for tag in self.tags]
        return {"names": names, "sizeBytes": self.size}


@dataclass(frozen=True)
class NodeSpec:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Mapping[str, str], ...] = ()
    cpu: str = "8"
    memory: str = "32Gi"
    images: tuple[CachedImage, ...] = ()


def _parse_image(raw: Mapping[str, Any], resolve: DigestResolver | None) -> CachedImage:
    repository, tag, digest = split_image(str(raw["image"]))
    digest = raw.get("digest") or digest
    if digest is None and resolve is not None:
        digest = resolve(str(raw["image"]))
    if digest is None:
        raise ValueError(f"node image {raw['image']!r} has no digest and none could be resolved")
    return CachedImage(
        repository=repository,
        digest=str(digest),
        tags=(tag,) if tag else (),
        size=int(raw.get("size", 0)),
    )


def parse_nodes(
    raw: Mapping[str, Any] | str, *, resolve_digest: DigestResolver | None = None
) -> list[NodeSpec]:
    """Node specs from YAML text or a mapping; ``resolve_digest`` fills missing digests."""
    if isinstance(raw, str):
        raw = yaml.safe_load(raw) or {}
    specs = []
    for node in raw.get("nodes") or []:
        specs.append(
            NodeSpec(
                name=str(node["name"]),
                labels={str(k): str(v) for k, v in (node.get("labels") or {}).items()},
                taints=tuple(
                    {str(k): str(v) for k, v in taint.items()} for taint in node.get("taints") or []
                ),
                cpu=str(node.get("cpu", "8")),
                memory=str(node.get("memory", "32Gi")),
                images=tuple(_parse_image(i, resolve_digest) for i in node.get("images") or []),
            )
        )
    return specs


def demo_nodes(*, resolve_digest: DigestResolver | None = None) -> list[NodeSpec]:
    """The demo nodes (``kubesim/data/nodes.yaml``): two lab nodes and one tainted node."""
    text = resources.files("kubesim").joinpath("data/nodes.yaml").read_text("utf-8")
    return parse_nodes(text, resolve_digest=resolve_digest)


def node_ip(index: int) -> str:
    return f"10.0.0.{10 + index}"


def node_object(spec: NodeSpec, index: int) -> dict[str, Any]:
    """The ``v1`` Node for ``spec``; ``index`` picks its InternalIP and pod CIDR."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    labels = {
        "kubernetes.io/hostname": spec.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        **spec.labels,
    }
    resources_ = {"cpu": spec.cpu, "memory": spec.memory, "pods": "110"}
    spec_json: dict[str, Any] = {"podCIDR": f"10.244.{index}.0/24"}
    if spec.taints:
        spec_json["taints"] = [dict(t) for t in spec.taints]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": spec.name, "labels": labels},
        "spec": spec_json,
        "status": {
            "capacity": dict(resources_),
            "allocatable": dict(resources_),
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                }
            ],
            "addresses": [
                {"type": "InternalIP", "address": node_ip(index)},
                {"type": "Hostname", "address": spec.name},
            ],
            "images": [image.to_json() for image in spec.images],
            # Every field a real kubelet reports (the official client requires them all).
            "nodeInfo": {
                "machineID": _node_id(spec.name, "machine"),
                "systemUUID": _node_id(spec.name, "system"),
                "bootID": _node_id(spec.name, "boot"),
                "kernelVersion": "6.1.0-kubesim",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "kubeletVersion": "v1.31.0-kubesim",
                "kubeProxyVersion": "v1.31.0-kubesim",
                "containerRuntimeVersion": "containerd://1.7.0-kubesim",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


def _toleration_matches(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    effect = toleration.get("effect")
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key")
    if toleration.get("operator", "Equal") == "Exists":
        return not key or key == taint.get("key")
    return key == taint.get("key") and (toleration.get("value") or "") == (taint.get("value") or "")


def tolerates(tolerations: list[Mapping[str, Any]], taints: list[Mapping[str, Any]]) -> bool:
    """True if every NoSchedule/NoExecute taint is matched by some toleration."""
    for taint in taints:
        if taint.get("effect") == "PreferNoSchedule":
            continue
        if not any(_toleration_matches(t, taint) for t in tolerations):
            return False
    return True


def fits(node: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    """Whether the scheduler may place ``pod`` on ``node`` (ready, selector, taints)."""
    conditions = node.get("status", {}).get("conditions") or []
    if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
        return False
    if node.get("spec", {}).get("unschedulable"):
        return False
    labels = node.get("metadata", {}).get("labels") or {}
    pod_spec = pod.get("spec", {})
    selector = pod_spec.get("nodeSelector") or {}
    if any(labels.get(k) != v for k, v in selector.items()):
        return False
    return tolerates(pod_spec.get("tolerations") or [], node.get("spec", {}).get("taints") or [])


def install(
    site: Any,
    specs: list[NodeSpec] | None = None,
    *,
    resolve_digest: DigestResolver | None = None,
) -> list[dict[str, Any]]:
    """Create the Node objects in ``site.store`` (demo nodes by default); return them."""
    if specs is None:
        specs = demo_nodes(resolve_digest=resolve_digest)
    store = site.store
    res = store.resource("nodes")
    return [store.create(res, None, node_object(spec, i)) for i, spec in enumerate(specs)]


def _node_id(name: str, kind: str) -> str:
    """A stable identifier per node (real ones are random; stable ones keep tests repeatable)."""
    return hashlib.sha256(f"{kind}:{name}".encode()).hexdigest()[:32]
