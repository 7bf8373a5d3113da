"""What the nodes tell the image service: which images they hold, and whether labs run there.

Node image cache (images.md §6.1): each ``status.images`` entry is reduced to its digest (the
first name of the form ``<registry>/<repository>@<digest>``) and size; entries without such a
name are ignored. Images are matched **by digest only**, so the same image pulled under a
different registry name still counts.

Eligibility (§6.2): the node list is already filtered by ``lab.nodeSelector``; a listed node
is eligible when every taint except ``PreferNoSchedule`` is tolerated by ``lab.tolerations``.
A toleration with ``tolerationSeconds`` never tolerates a ``NoExecute`` taint: a lab would be
evicted later, so prepulling there is wasted.

Nodes are read as raw JSON, not as ``V1Node``: only three fields matter here, and the
official model insists on ``status.nodeInfo`` details that nothing here needs (and that
minimal API servers, such as kubesim, leave out).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from actors.config.kubernetes import TaintEffect, Toleration, TolerationOperator

from .reference import DockerReference, InvalidDockerReference

__all__ = ["NodeImages", "Taint", "node_images", "taint_tolerated", "untolerated_taint_comment"]


@dataclass(frozen=True)
class Taint:
    """A node taint (``spec.taints[]``)."""

    key: str
    effect: str
    value: str | None = None


@dataclass
class NodeImages:
    """One listed node: eligibility, and the digests it holds (digest → size in bytes)."""

    name: str
    eligible: bool
    comment: str | None = None
    digests: dict[str, int | None] = field(default_factory=dict)


def taint_tolerated(taint: Taint, tolerations: Iterable[Toleration]) -> bool:
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
    taints: Sequence[Taint], tolerations: Sequence[Toleration]
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


def node_images(node: Mapping[str, Any], tolerations: Sequence[Toleration]) -> NodeImages:
    """Reduce a Node object (JSON) to its name, eligibility and cached digests."""
    name = str((node.get("metadata") or {}).get("name") or "")
    taints = [
        Taint(key=str(t.get("key") or ""), effect=str(t.get("effect") or ""), value=t.get("value"))
        for t in (node.get("spec") or {}).get("taints") or []
    ]
    comment = untolerated_taint_comment(taints, tolerations)
    result = NodeImages(name=name, eligible=comment is None, comment=comment)
    for entry in (node.get("status") or {}).get("images") or []:
        digest = _digest_of(entry.get("names") or [])
        if digest is not None and digest not in result.digests:
            size = entry.get("sizeBytes")
            result.digests[digest] = int(size) if size is not None else None
    return result
