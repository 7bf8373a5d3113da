"""Shared informers: one label-selected watch per resource kind, fanned out by object key.

A controller with a watch per lab holds N HTTP watch connections (buffers, parser state, a
task each) and puts N watchers on the API server. An informer watches the whole kind once,
across namespaces and narrowed by a label selector, keeps a compact *digest* of each object
(only the fields the domain reads: a lab pod is its phase), and routes each change to whoever
watches that one object. It is what client-go's shared informers do.

Two parts, so that subscriptions survive a restart of the watch:

* :class:`InformerFeed` is the durable fan-out. It holds the index (object key → digest)
  and, for each key somebody watches, a :class:`KeyView`. Subscribing and unsubscribing are
  synchronous and never wait: a lab actor takes a view of its pod the way it would open a
  watch, but it costs one small object instead of a connection.
* :class:`Informer` is the actor that runs the watch (list, then watch with bookmarks,
  resume, ``410 Gone`` → relist, idle restart: :mod:`actors.kube.watch`) and writes what it
  sees into the feed. A restarted informer lists again; the feed turns the difference with
  its index into changes for the views, so no change is lost across a restart.

Delivery is level-triggered: a view holds the *latest* digest and a flag saying it changed
since its owner last read it. The first change after a read calls the owner's ``notify``
(for an actor: a ``tell`` of a small message into its own mailbox, so that only the owner
touches its state); further changes before the next read only update the digest. A
``notify`` that finds the mailbox full is retried shortly; one that finds the owner stopped
for good drops the view. A refused watch (403, 404: not transient) is reported to every
view as :attr:`KeyView.error`, so owners fail the way their own refused watch would have.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import structlog
import trio

from actors.runtime import Actor, ActorStopped, MailboxFull, describe_error

from .errors import KubernetesError
from .selectors import Selector
from .watch import DEFAULT_WATCH_RECONNECT_TIMEOUT, Watch, WatchSync

__all__ = ["Informer", "InformerFeed", "InformerSpec", "KeyView", "ObjectKey", "object_key"]

log = structlog.get_logger(__name__)

S = TypeVar("S")

ObjectKey = tuple[str, str]
"""``(namespace, name)`` of a namespaced object."""

NOTIFY_RETRY_INTERVAL = 0.1
"""Seconds between retries of notifications that met a full mailbox."""

REFUSED_RETRY_INTERVAL = 5.0
"""Seconds before a refused watch (403, 404) is tried again."""


def object_key(obj: Mapping[str, Any]) -> ObjectKey:
    """The key of an object in server JSON."""
    metadata = obj.get("metadata") or {}
    return (str(metadata.get("namespace") or ""), str(metadata.get("name") or ""))


class KeyView(Generic[S]):
    """One subscriber's view of one object: its latest digest, ``None`` when absent.

    ``known`` is false until the informer has listed the kind once: before that, ``None``
    means "not seen yet", not "absent". ``error`` is set while the watch is refused.
    """

    __slots__ = ("_notify", "_state", "_unread", "error", "key", "known")

    def __init__(self, key: ObjectKey, notify: Callable[[], None]) -> None:
        self.key = key
        self.known = False
        self.error: KubernetesError | None = None
        self._state: S | None = None
        self._unread = False
        self._notify = notify

    def read(self) -> S | None:
        """The latest digest; the next change notifies the owner again."""
        self._unread = False
        return self._state


class InformerFeed(Generic[S]):
    """The index of one kind and the views on it; outlives the informer's incarnations."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.ready = trio.Event()
        """Set once the first list has been applied (every view is ``known`` from then on)."""
        self._index: dict[ObjectKey, S] = {}
        self._views: dict[ObjectKey, KeyView[S]] = {}
        self._retry: set[KeyView[S]] = set()
        self._error: KubernetesError | None = None
        self.delivered = 0
        """Notifications sent (for inspection and tests)."""

    # -- subscribers -----------------------------------------------------------------------

    def watch(self, key: ObjectKey, notify: Callable[[], None]) -> KeyView[S]:
        """A view of ``key``; ``notify`` is called (without waiting) when it changes.

        One view per key: a new watch of the same key replaces the old view (a restarted
        actor watches again; its dead predecessor's view must not be notified).
        """
        view: KeyView[S] = KeyView(key, notify)
        view.known = self.ready.is_set()
        view.error = self._error
        view._state = self._index.get(key)
        self._views[key] = view
        return view

    def unwatch(self, view: KeyView[S]) -> None:
        """Stop notifying ``view`` (a no-op if it was already replaced)."""
        if self._views.get(view.key) is view:
            del self._views[view.key]
        self._retry.discard(view)

    @property
    def watched(self) -> int:
        return len(self._views)

    def __len__(self) -> int:
        return len(self._index)

    def get(self, key: ObjectKey) -> S | None:
        """The digest of ``key`` (``None``: absent, or not listed yet)."""
        return self._index.get(key)

    def items(self) -> list[tuple[ObjectKey, S]]:
        """Every object the informer knows, as ``(key, digest)`` (a copy)."""
        return list(self._index.items())

    # -- what the informer writes ------------------------------------------------------------

    def replace(self, index: dict[ObjectKey, S]) -> None:
        """A full list: the new index; every watched key whose digest differs changes."""
        old, self._index = self._index, index
        first = not self.ready.is_set()
        self.ready.set()
        self._error = None
        for key, view in list(self._views.items()):
            state = index.get(key)
            if first or view.error is not None or not view.known or old.get(key) != state:
                self._deliver(view, state)

    def put(self, key: ObjectKey, state: S | None) -> None:
        """One object changed (``None``: deleted)."""
        if state is None:
            if self._index.pop(key, None) is None:
                return
        else:
            if self._index.get(key) == state:
                return
            self._index[key] = state
        view = self._views.get(key)
        if view is not None:
            self._deliver(view, state)

    def refuse(self, error: KubernetesError) -> None:
        """The watch was refused: every view hears it (until the next successful list)."""
        self._error = error
        for view in list(self._views.values()):
            view.error = error
            self._notify(view)

    def retry_notifications(self) -> None:
        """Notify again the views whose owners' mailboxes were full."""
        pending, self._retry = self._retry, set()
        for view in pending:
            if self._views.get(view.key) is view and view._unread:
                view._unread = False
                self._notify(view)

    def _deliver(self, view: KeyView[S], state: S | None) -> None:
        view._state = state
        view.known = True
        view.error = None
        self._notify(view)

    def _notify(self, view: KeyView[S]) -> None:
        if view._unread:
            return
        view._unread = True
        try:
            view._notify()
        except MailboxFull:
            self._retry.add(view)
        except ActorStopped:
            self.unwatch(view)
        else:
            self.delivered += 1


@dataclass(frozen=True)
class InformerSpec(Generic[S]):
    """What to watch and what to keep of each object."""

    open_watch: Callable[[Selector, float], Watch[dict[str, Any]]]
    """Opens the cluster-wide raw watch: ``(label_selector, reconnect_timeout)``."""
    label_selector: dict[str, str]
    digest: Callable[[dict[str, Any]], S]
    reconnect_timeout: float = DEFAULT_WATCH_RECONNECT_TIMEOUT


class Informer(Actor, Generic[S]):
    """One incarnation of the shared watch of one kind, writing into its feed."""

    kind = "informer"

    def __init__(self, feed: InformerFeed[S], spec: InformerSpec[S]) -> None:
        self.feed = feed
        self.spec = spec
        self.events = 0
        self.lists = 0
        self.refusals = 0
        self._refused: str | None = None

    async def on_start(self) -> None:
        self.context.start_soon(self._watch_forever)
        self.context.start_soon(self._retry_notifications)

    @property
    def phase(self) -> str:
        if self._refused is not None:
            return "refused"
        return "watching" if self.feed.ready.is_set() else "listing"

    def inspect(self) -> dict[str, Any]:
        return {
            "objects": len(self.feed),
            "watched": self.feed.watched,
            "lists": self.lists,
            "events": self.events,
            "refusals": self.refusals,
            "refused": self._refused,
        }

    async def _watch_forever(self) -> None:
        while True:
            try:
                await self._watch()
            except KubernetesError as error:
                # Not transient (the watch retries those itself): tell the views, try later.
                self.refusals += 1
                self._refused = describe_error(error)
                log.warning(
                    "Watch refused; retrying later", informer=self.feed.name, error=self._refused
                )
                self.feed.refuse(error)
                self.context.changed()
                await trio.sleep(REFUSED_RETRY_INTERVAL)

    async def _watch(self) -> None:
        digest = self.spec.digest
        async with self.spec.open_watch(
            self.spec.label_selector, self.spec.reconnect_timeout
        ) as events:
            async for item in events:
                if isinstance(item, WatchSync):
                    self.lists += 1
                    self._refused = None
                    self.feed.replace({object_key(obj): digest(obj) for obj in item.objects})
                    self.context.changed()
                else:
                    self.events += 1
                    state = None if item.type == "DELETED" else digest(item.object)
                    self.feed.put(object_key(item.object), state)
                del item  # no whole object is kept while the watch idles

    async def _retry_notifications(self) -> None:
        while True:
            await trio.sleep(NOTIFY_RETRY_INTERVAL)
            self.feed.retry_notifications()
