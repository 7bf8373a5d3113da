"""Pod-specific waits: a pod's phase (spec §10.4) and its progress events (§10.5)."""

from __future__ import annotations

from collections.abc import Collection

from kubernetes.client import V1Pod

from .operations import NamespacedResource

__all__ = ["PENDING_PHASES", "PREPULL_PHASES", "wait_for_pod_phase"]

PENDING_PHASES = frozenset({"Pending", "Unknown"})
"""Phases a lab, file server, fsadmin or migrator spawn waits through."""

PREPULL_PHASES = frozenset({"Pending", "Unknown", "Running"})
"""Phases a prepuller pod waits through."""


async def wait_for_pod_phase(
    pods: NamespacedResource[V1Pod],
    namespace: str,
    name: str,
    *,
    wait_through: Collection[str] = PENDING_PHASES,
) -> str | None:
    """Wait until the pod's phase leaves ``wait_through``; return it, or ``None`` if gone.

    Bounded only by the caller's deadline (``trio.fail_after``), as in the upstream spawn.
    """
    pod = await pods.read(namespace, name)
    if pod is None:
        return None
    phase = _phase(pod)
    if phase not in wait_through:
        return phase
    rv = pod.metadata.resource_version if pod.metadata else None
    async with pods.watch_one(namespace, name, resource_version=rv) as states:
        async for state in states:
            if state is None:
                return None
            phase = _phase(state)
            if phase not in wait_through:
                return phase
    raise AssertionError("unreachable: watches do not end")  # pragma: no cover


def _phase(pod: V1Pod) -> str:
    return (pod.status.phase if pod.status else None) or "Unknown"
