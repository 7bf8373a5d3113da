"""What the nodes tell the image service: which images they hold, and whether labs run there.

Node image cache (images.md §6.1): each ``status.images`` entry is reduced to its digest (the
first name of the form ``<registry>/<repository>@<digest>``) and size; entries without such a
name are ignored. Images are matched **by digest only**, so the same image pulled under a
different registry name still counts.

Eligibility (§6.2): the node list is already filtered by ``lab.nodeSelector``; a listed node
is eligible when every taint except ``PreferNoSchedule`` is tolerated by ``lab.tolerations``.
A toleration with ``tolerationSeconds`` never tolerates a ``NoExecute`` taint: a lab would be
evicted later, so prepulling there is wasted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kubernetes.client import V1Node, V1Taint

from actors.config.kubernetes import TaintEffect, Toleration, TolerationOperator

from .reference import DockerReference, InvalidDockerReference

__all__ = ["NodeImages", "node_images", "taint_tolerated", "untolerated_taint_comment"]


@dataclass
class NodeImages:
    """One listed node: eligibility, and the digests it holds (digest → size in bytes)."""

    name: str
    eligible: bool
    comment: str | None = None
    digests: dict[str, int | None] = field(default_factory=dict)


def taint_tolerated(taint: V1Taint, tolerations: Iterable[Toleration]) -> bool:
    """Whether some toleration matches ``taint`` (the rules of images.md §6.2)."""
    for toleration in tolerations:
        if toleration.effect is not None and toleration.effect.value != taint.effect:
            continue
        if toleration.toleration_seconds is not None and taint.effect == "NoExecute":
            continue
        if toleration.operator is TolerationOperator.EXISTS:
            if not toleration.key or toleration.key == taint.key:
                return True
        elif toleration.key == taint.key and toleration.value == (taint.value or None):
            return True
    return False


def untolerated_taint_comment(
    taints: Sequence[V1Taint], tolerations: Sequence[Toleration]
) -> str | None:
    """``None`` when every relevant taint is tolerated, else why the node is ineligible."""
    for taint in taints:
        if taint.effect == TaintEffect.PREFER_NO_SCHEDULE.value:
            continue
        if taint_tolerated(taint, tolerations):
            continue
        if taint.value:
            return f"Node is tainted ({taint.effect}, {taint.key} = {taint.value})"
        return f"Node is tainted ({taint.effect}, {taint.key})"
    return None


def _digest_of(names: Iterable[str]) -> str | None:
    for name in names:
        try:
            reference = DockerReference.parse(name)
        except InvalidDockerReference:
            continue
        if reference.digest is not None:
            return reference.digest
    return None


def node_images(node: V1Node, tolerations: Sequence[Toleration]) -> NodeImages:
    """Reduce a ``V1Node`` to its name, eligibility and cached digests."""
    name = node.metadata.name if node.metadata is not None else None
    taints = (node.spec.taints if node.spec is not None else None) or []
    comment = untolerated_taint_comment(taints, tolerations)
    result = NodeImages(name=name or "", eligible=comment is None, comment=comment)
    entries = (node.status.images if node.status is not None else None) or []
    for entry in entries:
        digest = _digest_of(entry.names or [])
        if digest is not None and digest not in result.digests:
            result.digests[digest] = entry.size_bytes
    return result
