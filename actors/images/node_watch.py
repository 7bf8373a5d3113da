"""Notice lab nodes joining, leaving or changing taints, so images reach new nodes at once.

The image catalog is rebuilt every ``images.refreshInterval`` (5 minutes by default). Without
a watch, a node added by an autoscaler would wait up to that long before the prepuller
started pulling onto it, and the first labs scheduled there would pull their image
themselves. The watch asks for a refresh as soon as the set of nodes matching
``lab.nodeSelector`` changes, or the taints of one of them do (they decide eligibility).
Status updates (heartbeats, image lists) are ignored: nodes report them every few seconds
and the periodic refresh reads them anyway.

The watch is best effort: an API error other than a transient one (say RBAC without
``watch`` on nodes) is logged and the watch tried again later; the periodic refresh keeps
working meanwhile.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import structlog
import trio

from actors.kube import KubeClient, KubernetesError, WatchEvent, WatchSync
from actors.runtime.snapshot import describe_error

__all__ = ["RETRY_AFTER_ERROR", "watch_node_changes"]

log = structlog.get_logger(__name__)

RETRY_AFTER_ERROR = 60.0
"""Seconds before a node watch refused by the API server is tried again."""


def _taints(node: dict[str, Any]) -> str:
    taints = (node.get("spec") or {}).get("taints") or []
    return json.dumps(taints, sort_keys=True)


def _name(node: dict[str, Any]) -> str:
    return str((node.get("metadata") or {}).get("name") or "")


async def watch_node_changes(
    kube: KubeClient, node_selector: Mapping[str, str], on_change: Callable[[], None]
) -> None:
    """Call ``on_change`` whenever lab nodes come, go or change taints; runs until cancelled."""
    known: dict[str, str] | None = None
    while True:
        try:
            async with kube.nodes.watch_raw(label_selector=dict(node_selector) or None) as events:
                async for item in events:
                    if isinstance(item, WatchSync):
                        current = {_name(node): _taints(node) for node in item.objects}
                        changed = known is not None and current != known
                        known = current
                    elif isinstance(item, WatchEvent):
                        assert known is not None  # a watch always starts with a sync
                        name = _name(item.object)
                        before = known.get(name)
                        if item.type == "DELETED":
                            known.pop(name, None)
                            changed = before is not None
                        else:
                            known[name] = _taints(item.object)
                            changed = before != known[name]
                    else:
                        continue  # no streaming list was asked for
                    if changed:
                        log.info("Lab nodes changed; refreshing images")
                        on_change()
        except KubernetesError as error:
            log.warning("Watching nodes failed; retrying later", error=describe_error(error))
            await trio.sleep(RETRY_AFTER_ERROR)
