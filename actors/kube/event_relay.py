"""One watch of every pod's Kubernetes events, relayed to whoever follows that pod.

A spawn tells its user what Kubernetes is doing with the pod ("Pulling image ...") by
relaying the pod's Events. Watching them per spawn meant one more watch request, and one more
watcher on the API server, for every spawn in flight: a storm of 1,000 spawns opened 1,000.
Here one cluster-wide watch of Events about pods (``involvedObject.kind=Pod``) serves every
spawn: an owner *follows* a pod, and the message of each Event about that pod is handed to it.

Unlike an informer's digests, Events are a story, not a state: each message is delivered
once, in order, to the follower present when it arrives; nothing is kept for later. A spawn
follows its pod before creating it, so no message of its own pod is missed while the relay's
watch runs; while the watch is cut (a restart, a refusal), messages are lost, which progress
messages may be (the spawn itself follows the pod's phase through its informer).

Two parts, as for informers: :class:`PodEventRelay` is the routing table, which outlives the
watch's incarnations; :class:`EventRelay` is the actor that runs the watch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog

from actors.runtime import ActorStopped, MailboxFull

from .informer import ObjectKey
from .selectors import Selector
from .shared_watch import SharedWatchActor
from .watch import DEFAULT_WATCH_RECONNECT_TIMEOUT, Watch, WatchEvent, WatchSync

__all__ = ["POD_EVENTS_SELECTOR", "EventRelay", "Following", "PodEventRelay"]

log = structlog.get_logger(__name__)

POD_EVENTS_SELECTOR = {"involvedObject.kind": "Pod"}
"""The field selector of the relay's watch: Events about pods, in every namespace."""


class Following:
    """One owner following one pod's Events (give it back with :meth:`PodEventRelay.unfollow`)."""

    __slots__ = ("deliver", "key")

    def __init__(self, key: ObjectKey, deliver: Callable[[str], None]) -> None:
        self.key = key
        self.deliver = deliver


class PodEventRelay:
    """Who follows which pod; the relay actor hands each Event's message to its follower."""

    def __init__(self, namespace_prefix: str = "") -> None:
        """``namespace_prefix``: only pods in namespaces starting with it can be followed
        (Events of other pods are dropped before any look-up)."""
        self.namespace_prefix = namespace_prefix
        self._following: dict[ObjectKey, Following] = {}
        self.relayed = 0
        self.dropped = 0
        self.on_reason: Callable[[ObjectKey, str], None] | None = None
        """Told the ``reason`` of every Event about a followed pod (metrics: when a spawn's
        pod was scheduled, its image pulled)."""

    def follow(self, key: ObjectKey, deliver: Callable[[str], None]) -> Following:
        """Deliver the message of every later Event about the pod ``key``; one follower per pod
        (a new one replaces the old)."""
        following = Following(key, deliver)
        self._following[key] = following
        return following

    def unfollow(self, following: Following) -> None:
        if self._following.get(following.key) is following:
            del self._following[following.key]

    @property
    def followed(self) -> int:
        return len(self._following)

    def relay(self, event: Mapping[str, Any]) -> None:
        """Hand ``event``'s message to the follower of its pod, if there is one."""
        involved = event.get("involvedObject") or {}
        namespace = involved.get("namespace") or (event.get("metadata") or {}).get("namespace")
        if not isinstance(namespace, str) or not namespace.startswith(self.namespace_prefix):
            return
        following = self._following.get((namespace, str(involved.get("name") or "")))
        reason = event.get("reason")
        if following is not None and self.on_reason is not None and isinstance(reason, str):
            self.on_reason(following.key, reason)
        message = event.get("message")
        if following is None or not isinstance(message, str) or not message:
            return
        try:
            following.deliver(message)
        except MailboxFull:
            self.dropped += 1  # progress is best effort; the spawn follows the phase anyway
        except ActorStopped:
            self.unfollow(following)
        else:
            self.relayed += 1


class EventRelay(SharedWatchActor):
    """One incarnation of the watch of pod Events, writing into the relay."""

    kind = "relay"

    def __init__(
        self,
        relay: PodEventRelay,
        open_watch: Callable[[Selector, str | None, float], Watch[dict[str, Any]]],
        current_version: Callable[[Selector], Awaitable[str]],
        *,
        reconnect_timeout: float = DEFAULT_WATCH_RECONNECT_TIMEOUT,
    ) -> None:
        """``open_watch(selector, resource_version, reconnect_timeout)`` opens the raw watch
        of Events; ``current_version(selector)`` reads where "now" is, so that the watch
        starts there instead of listing every Event of the cluster first."""
        super().__init__()
        self.relay = relay
        self.open_watch = open_watch
        self.current_version = current_version
        self.reconnect_timeout = reconnect_timeout
        self.events = 0
        self._listed = False

    @property
    def phase(self) -> str:
        if self.refused is not None:
            return "refused"
        return "watching" if self._listed else "listing"

    def inspect(self) -> dict[str, Any]:
        return {
            "followed": self.relay.followed,
            "events": self.events,
            "relayed": self.relay.relayed,
            "dropped": self.relay.dropped,
            **super().inspect(),
        }

    async def watch(self) -> None:
        # History is told to nobody: start from now (a relist after 410 is history too).
        now = await self.current_version(POD_EVENTS_SELECTOR)
        self.listed()
        if not self._listed:
            self._listed = True
            self.context.changed()
        async with self.open_watch(
            POD_EVENTS_SELECTOR, now or None, self.reconnect_timeout
        ) as events:
            async for item in events:
                if isinstance(item, WatchSync):
                    pass  # a relist after the version expired: history, told already
                elif isinstance(item, WatchEvent) and item.type != "DELETED":
                    self.events += 1
                    self.relay.relay(item.object)
                del item
