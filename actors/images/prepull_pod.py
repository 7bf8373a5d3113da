"""The prepuller pod (``kubernetes-objects.md`` §5) and the controller pod identity it names.

A prepull pod runs ``/bin/true`` from the image to cache, pinned to one node with
``nodeName`` (bypassing the scheduler), so the kubelet pulls the image there and the pod ends
at once. It carries an owner reference to the controller's own pod, so Kubernetes removes
leftovers if the controller goes away mid-pull.

The controller pod identity comes from the downward-API files ``name`` and ``uid`` under
``metadataPath``. Outside a cluster (the simulated site, a developer's laptop) those files do
not exist: the identity is then unknown and prepull pods are created **without** an owner
reference. They are still deleted by the prepuller after each pull, and a leftover from a
crash is replaced by the next pull of the same image to the same node.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import structlog
import trio
from kubernetes.client import (
    V1Container,
    V1LocalObjectReference,
    V1ObjectMeta,
    V1OwnerReference,
    V1Pod,
    V1PodSpec,
    V1ResourceRequirements,
)

from actors.common.scheduling import kubernetes_tolerations
from actors.config import LabConfig

from .catalog import PrepullTarget

__all__ = ["PodIdentity", "prepull_pod", "prepull_pod_name", "read_pod_identity"]

log = structlog.get_logger(__name__)

CATEGORY_LABEL = "nublado.lsst.io/category"
MAX_NAME_LENGTH = 253
_NOT_NAME_CHARACTER = re.compile(r"[^A-Za-z0-9_.-]")
_TINY = {"cpu": "1m", "memory": "16Mi"}


@dataclass(frozen=True)
class PodIdentity:
    """The controller pod's name and uid (what an owner reference needs)."""

    name: str
    uid: str


async def read_pod_identity(metadata_path: Path) -> PodIdentity | None:
    """Read ``name`` and ``uid`` under ``metadata_path``; ``None`` when either is missing."""
    values: list[str] = []
    for key in ("name", "uid"):
        try:
            text = await trio.Path(metadata_path / key).read_text()
        except OSError:
            log.info(
                "Controller pod identity unknown; prepull pods get no owner reference",
                path=str(metadata_path / key),
            )
            return None
        values.append(text.strip())
    if not all(values):
        return None
    return PodIdentity(name=values[0], uid=values[1])


def prepull_pod_name(tag: str, node: str) -> str:
    """``prepull-<tag part>-<node>``: ``_`` becomes ``-``, other odd characters go.

    The result is also lower-cased, since Kubernetes object names must be; RSP tags are
    lower case, so this only matters for unusual tags.
    """
    tag_part = _NOT_NAME_CHARACTER.sub("", tag.replace("_", "-"))
    return f"prepull-{tag_part}-{node}".lower()[:MAX_NAME_LENGTH]


def prepull_pod(
    target: PrepullTarget,
    node: str,
    *,
    namespace: str,
    lab: LabConfig,
    owner: PodIdentity | None,
) -> V1Pod:
    """The pod that caches ``target`` on ``node``."""
    owners = (
        [
            V1OwnerReference(
                api_version="v1",
                kind="Pod",
                name=owner.name,
                uid=owner.uid,
                block_owner_deletion=True,
            )
        ]
        if owner is not None
        else None
    )
    pull_secrets = (
        [V1LocalObjectReference(name=lab.pull_secret)] if lab.pull_secret is not None else None
    )
    return V1Pod(
        metadata=V1ObjectMeta(
            name=prepull_pod_name(target.tag, node),
            namespace=namespace,
            labels={CATEGORY_LABEL: "prepuller"},
            owner_references=owners,
        ),
        spec=V1PodSpec(
            node_name=node,
            restart_policy="Never",
            image_pull_secrets=pull_secrets,
            tolerations=kubernetes_tolerations(lab.tolerations) or None,
            containers=[
                V1Container(
                    name="prepull",
                    image=target.reference,
                    command=["/bin/true"],
                    working_dir="/tmp",
                    resources=V1ResourceRequirements(limits=dict(_TINY), requests=dict(_TINY)),
                )
            ],
        ),
    )
