"""Pod-specific waits: a pod's phase (spec §10.4) and its progress events (§10.5)."""

from __future__ import annotations

from collections.abc import Collection
from types import TracebackType

import trio
from kubernetes.client import CoreV1Event, V1Pod

from .operations import NamespacedResource
from .watch import Watch, WatchEvent

__all__ = ["PENDING_PHASES", "PREPULL_PHASES", "PodEventMessages", "wait_for_pod_phase"]

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


class PodEventMessages:
    """The ``message`` of every Event about one pod, until a deadline, each exactly once.

    Use as ``async with PodEventMessages(events_api, ns, pod, until=deadline) as messages:
    async for message in messages: ...``. Iteration ends silently at ``until`` (the spawn's
    deadline; spec §10.5). Events that existed before the watch began are included (they are
    the start of the progress story), and an Event already reported is not reported again
    after a relist (tracked by uid and resourceVersion). With ``resource_version`` (for
    instance that of the namespace the pod lives in) the watch starts there instead of with a
    list: every Event since is still delivered, for one request less.
    """

    def __init__(
        self,
        events: NamespacedResource[CoreV1Event],
        namespace: str,
        pod: str,
        *,
        until: float | None = None,
        resource_version: str | None = None,
    ) -> None:
        self._until = until if until is not None else trio.current_effective_deadline()
        self._watch: Watch[CoreV1Event] = events.watch(
            namespace,
            field_selector={"involvedObject.name": pod},
            resource_version=resource_version,
        )
        self._pending: list[str] = []
        self._seen: set[tuple[str, str]] = set()
        self._done = False

    async def __aenter__(self) -> PodEventMessages:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._watch.aclose()

    def __aiter__(self) -> PodEventMessages:
        return self

    async def __anext__(self) -> str:
        while not self._pending:
            if self._done:
                raise StopAsyncIteration
            item = None
            with trio.move_on_at(self._until):
                item = await anext(self._watch)
            if item is None:
                self._done = True
                await self._watch.aclose()
                raise StopAsyncIteration
            if isinstance(item, WatchEvent):
                self._note(item.object)
            else:
                for event in item.objects:
                    self._note(event)
        return self._pending.pop(0)

    def _note(self, event: CoreV1Event) -> None:
        metadata = event.metadata
        key = (
            (metadata.uid or metadata.name or "") if metadata else "",
            (metadata.resource_version or "") if metadata else "",
        )
        if key in self._seen:
            return
        self._seen.add(key)
        if event.message:
            self._pending.append(event.message)


def _phase(pod: V1Pod) -> str:
    return (pod.status.phase if pod.status else None) or "Unknown"
