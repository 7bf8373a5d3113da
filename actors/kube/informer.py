"""Shared informers: one label-selected watch per resource kind, fanned out by object key.

A controller with a watch per lab holds N HTTP watch connections (buffers, parser state, a
task each) and puts N watchers on the API server. An informer watches the whole kind once,
across namespaces (or in the one namespace its objects live in) and narrowed by a label
selector, keeps a compact *digest* of each object
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
view as :attr:`KeyView.error`; owners decide what it means for them (a lab or a file server
keeps its state and lets the operation waiting on the object wait within its own deadline).

Some owners cannot name their object: a file server's pod is made by its Job and gets a
generated name, and a Job may make more than one. For those the feed is built with a
``group`` function (object key and digest → the key of the owner's group, for instance
``(namespace, user)``), and the owner takes a :class:`GroupView` of its group instead: it
reads the digests of every object in the group, and any change to one of them notifies it.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import structlog
import trio

from actors.runtime import ActorStopped, MailboxFull

from .errors import KubernetesError
from .selectors import Selector
from .shared_watch import SharedWatchActor
from .watch import DEFAULT_WATCH_RECONNECT_TIMEOUT, Watch, WatchListEnd, WatchListStart, WatchSync

__all__ = [
    "GroupView",
    "Informer",
    "InformerFeed",
    "InformerSpec",
    "KeyView",
    "ObjectKey",
    "object_key",
]

log = structlog.get_logger(__name__)

S = TypeVar("S")

ObjectKey = tuple[str, str]
"""``(namespace, name)`` of a namespaced object."""

NOTIFY_RETRY_INTERVAL = 0.1
"""Seconds between retries of notifications that met a full mailbox."""


def object_key(obj: Mapping[str, Any]) -> ObjectKey:
    """The key of an object in server JSON.

    Names are interned: every informer of a lab's objects keys them by the same namespace,
    and each decoded event would otherwise bring its own copy of the strings into an index.
    """
    metadata = obj.get("metadata") or {}
    return (
        sys.intern(str(metadata.get("namespace") or "")),
        sys.intern(str(metadata.get("name") or "")),
    )


class _View:
    """What every view has: its key, whether the kind was listed, the refusal, the owner."""

    __slots__ = ("_notify", "_unread", "error", "key", "known")

    def __init__(self, key: ObjectKey, notify: Callable[[], None]) -> None:
        self.key = key
        self.known = False
        self.error: KubernetesError | None = None
        self._unread = False
        self._notify = notify


class KeyView(_View, Generic[S]):
    """One subscriber's view of one object: its latest digest, ``None`` when absent.

    ``known`` is false until the informer has listed the kind once: before that, ``None``
    means "not seen yet", not "absent". ``error`` is set while the watch is refused.
    """

    __slots__ = ("_state",)

    def __init__(self, key: ObjectKey, notify: Callable[[], None]) -> None:
        super().__init__(key, notify)
        self._state: S | None = None

    def read(self) -> S | None:
        """The latest digest; the next change notifies the owner again."""
        self._unread = False
        return self._state


class GroupView(_View, Generic[S]):
    """One subscriber's view of a group of objects (say, every pod of one user's Job).

    ``key`` is the group's key; ``known`` and ``error`` mean what they mean for a
    :class:`KeyView`. An empty group is one without objects (or, before ``known``, not seen).
    """

    __slots__ = ("_members",)

    def __init__(self, key: ObjectKey, notify: Callable[[], None]) -> None:
        super().__init__(key, notify)
        self._members: dict[ObjectKey, S] = {}

    def read(self) -> dict[ObjectKey, S]:
        """The latest digest of each object in the group (a copy); the next change notifies
        the owner again."""
        self._unread = False
        return dict(self._members)


Group = Callable[[ObjectKey, S], ObjectKey | None]
"""The group of an object, from its key and digest (``None``: in no group)."""


class InformerFeed(Generic[S]):
    """The index of one kind and the views on it; outlives the informer's incarnations."""

    def __init__(self, name: str, *, group: Group[S] | None = None) -> None:
        self.name = name
        self.ready = trio.Event()
        """Set once the first list has been applied (every view is ``known`` from then on)."""
        self.freshness: Callable[[], float] = lambda: -math.inf
        """Set by the informer: see :attr:`synced_at`."""
        self._index: dict[ObjectKey, S] = {}
        self._views: dict[ObjectKey, KeyView[S]] = {}
        self._group = group
        self._members: dict[ObjectKey, dict[ObjectKey, S]] = {}
        """Group key → the digests of its objects (only with ``group``)."""
        self._group_views: dict[ObjectKey, GroupView[S]] = {}
        self._retry: set[_View] = set()
        self._error: KubernetesError | None = None
        self.delivered = 0
        """Notifications sent (for inspection and tests)."""
        self.resync_requested = trio.Event()
        """Set to ask the informer for a fresh list (:meth:`resync`)."""
        self.next_list = trio.Event()
        """Set when the next full list is in the index."""

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

    def watch_group(self, key: ObjectKey, notify: Callable[[], None]) -> GroupView[S]:
        """A view of the group ``key`` (see :class:`GroupView`); one per group, as for
        :meth:`watch`. Only for a feed built with ``group``."""
        if self._group is None:
            raise ValueError(f"informer feed {self.name} has no groups")
        view: GroupView[S] = GroupView(key, notify)
        view.known = self.ready.is_set()
        view.error = self._error
        view._members = dict(self._members.get(key, {}))
        self._group_views[key] = view
        return view

    def unwatch(self, view: KeyView[S] | GroupView[S]) -> None:
        """Stop notifying ``view`` (a no-op if it was already replaced)."""
        self._drop(view)

    @property
    def synced_at(self) -> float:
        """Up to when the index is known to hold every change the API server made.

        "Now" while the informer's watch is connected past its list (changes arrive within
        the server's delivery lag); while it reconnects, when the server last showed it
        current (an event or a bookmark); ``-inf`` before the first list. Whoever judges
        objects by their absence from the index should only judge what changed before.
        """
        return self.freshness()

    @property
    def watched(self) -> int:
        return len(self._views) + len(self._group_views)

    def __len__(self) -> int:
        return len(self._index)

    def get(self, key: ObjectKey) -> S | None:
        """The digest of ``key`` (``None``: absent, or not listed yet)."""
        return self._index.get(key)

    def items(self) -> list[tuple[ObjectKey, S]]:
        """Every object the informer knows, as ``(key, digest)`` (a copy)."""
        return list(self._index.items())

    # -- what the informer writes ------------------------------------------------------------

    async def resync(self) -> None:
        """Have the informer list again, and return once that list is in the index.

        A replica that becomes leader does this before it acts: its watch may still be
        delivering the last writes of the leader before it (watch events arrive a little
        after the write), and a directory that reconciled from such an index would take a
        spawn in progress for debris. A list is a consistent read: it holds every write
        made before it. The caller bounds the wait.
        """
        listed = self.next_list
        self.resync_requested.set()
        await listed.wait()

    def replace(self, index: dict[ObjectKey, S]) -> None:
        """A full list: the new index; every watched key whose digest differs changes."""
        self.next_list.set()
        self.next_list = trio.Event()
        old, self._index = self._index, index
        first = not self.ready.is_set()
        self.ready.set()
        self._error = None
        for key, view in list(self._views.items()):
            state = index.get(key)
            if first or view.error is not None or not view.known or old.get(key) != state:
                self._deliver(view, state)
        if self._group is None:
            return
        old_members, self._members = self._members, self._grouped(index, self._group)
        for key, group_view in list(self._group_views.items()):
            members = self._members.get(key, {})
            if (
                first
                or group_view.error is not None
                or not group_view.known
                or old_members.get(key, {}) != members
            ):
                self._deliver_group(group_view, members)

    def put(self, key: ObjectKey, state: S | None) -> None:
        """One object changed (``None``: deleted)."""
        old = self._index.get(key)
        if state is None:
            if old is None:
                return
            del self._index[key]
        else:
            if old == state:
                return
            self._index[key] = state
        view = self._views.get(key)
        if view is not None:
            self._deliver(view, state)
        if self._group is not None:
            self._regroup(key, old, state, self._group)

    def refuse(self, error: KubernetesError) -> None:
        """The watch was refused: every view hears it (until the next successful list)."""
        self._error = error
        views: list[_View] = [*self._views.values(), *self._group_views.values()]
        for view in views:
            view.error = error
            self._notify(view)

    def retry_notifications(self) -> None:
        """Notify again the views whose owners' mailboxes were full."""
        pending, self._retry = self._retry, set()
        for view in pending:
            if self._current(view) and view._unread:
                view._unread = False
                self._notify(view)

    def _current(self, view: _View) -> bool:
        """Whether ``view`` is still the one taken for its key."""
        if isinstance(view, GroupView):
            return self._group_views.get(view.key) is view
        return self._views.get(view.key) is view

    @staticmethod
    def _grouped(index: dict[ObjectKey, S], group: Group[S]) -> dict[ObjectKey, dict[ObjectKey, S]]:
        members: dict[ObjectKey, dict[ObjectKey, S]] = {}
        for key, state in index.items():
            group_key = group(key, state)
            if group_key is not None:
                members.setdefault(group_key, {})[key] = state
        return members

    def _regroup(self, key: ObjectKey, old: S | None, state: S | None, group: Group[S]) -> None:
        """Move ``key`` between groups after a change, and tell the groups concerned."""
        before = group(key, old) if old is not None else None
        after = None
        if before is not None:
            members = self._members.get(before)
            if members is not None:
                members.pop(key, None)
                if not members:
                    del self._members[before]
        if state is not None:
            after = group(key, state)
            if after is not None:
                self._members.setdefault(after, {})[key] = state
        for group_key in {before, after}:
            if group_key is None:
                continue
            view = self._group_views.get(group_key)
            if view is not None:
                self._deliver_group(view, self._members.get(group_key, {}))

    def _deliver(self, view: KeyView[S], state: S | None) -> None:
        view._state = state
        view.known = True
        view.error = None
        self._notify(view)

    def _deliver_group(self, view: GroupView[S], members: dict[ObjectKey, S]) -> None:
        view._members = dict(members)
        view.known = True
        view.error = None
        self._notify(view)

    def _notify(self, view: _View) -> None:
        if view._unread:
            return
        view._unread = True
        try:
            view._notify()
        except MailboxFull:
            self._retry.add(view)
        except ActorStopped:
            self._drop(view)
        else:
            self.delivered += 1

    def _drop(self, view: _View) -> None:
        if isinstance(view, GroupView):
            if self._group_views.get(view.key) is view:
                del self._group_views[view.key]
        elif self._views.get(view.key) is view:
            del self._views[view.key]
        self._retry.discard(view)


@dataclass(frozen=True)
class InformerSpec(Generic[S]):
    """What to watch and what to keep of each object."""

    open_watch: Callable[[Selector, float], Watch[dict[str, Any]]]
    """Opens the cluster-wide raw watch: ``(label_selector, reconnect_timeout)``."""
    label_selector: dict[str, str] | None
    digest: Callable[[dict[str, Any]], S | None]
    """What to keep of an object; ``None``: the object is not one of ours (not indexed)."""
    reconnect_timeout: float = DEFAULT_WATCH_RECONNECT_TIMEOUT

    @classmethod
    def of(
        cls,
        resource: RawWatchable,
        namespace: str | None,
        *,
        label_selector: dict[str, str] | None,
        digest: Callable[[dict[str, Any]], S | None],
        reconnect_timeout: float = DEFAULT_WATCH_RECONNECT_TIMEOUT,
    ) -> InformerSpec[S]:
        """The spec of a raw watch of ``resource`` in ``namespace`` (``None``: all of them)."""

        def open_watch(selector: Selector, reconnect: float) -> Watch[dict[str, Any]]:
            return resource.watch_raw_in(
                namespace, label_selector=selector, reconnect_timeout=reconnect, streaming_list=True
            )

        return cls(open_watch, label_selector, digest, reconnect_timeout)


class RawWatchable(Protocol):
    """A kind of the Kubernetes client that can watch as server JSON."""

    def watch_raw_in(
        self,
        namespace: str | None,
        *,
        label_selector: Selector,
        reconnect_timeout: float,
        streaming_list: bool,
    ) -> Watch[dict[str, Any]]: ...


class Informer(SharedWatchActor, Generic[S]):
    """One incarnation of the shared watch of one kind, writing into its feed."""

    kind = "informer"

    def __init__(self, feed: InformerFeed[S], spec: InformerSpec[S]) -> None:
        super().__init__()
        self.feed = feed
        self.spec = spec
        self._watch: Watch[dict[str, Any]] | None = None
        self._watch_scope = trio.CancelScope()
        self._listed_once = False
        self._last_progress = -math.inf
        self.events = 0
        self.lists = 0

    async def on_start(self) -> None:
        await super().on_start()
        self.feed.freshness = self._freshness
        self.context.start_soon(self._retry_notifications)
        self.context.start_soon(self._serve_resyncs)

    async def _serve_resyncs(self) -> None:
        """End the current watch when a fresh list is asked for; the next one lists."""
        while True:
            await self.feed.resync_requested.wait()
            self.feed.resync_requested = trio.Event()
            listed = self.feed.next_list
            self._watch_scope.cancel()
            # Only then look at requests again, or one request would cut the new list too.
            await listed.wait()

    @property
    def phase(self) -> str:
        if self.refused is not None:
            return "refused"
        return "watching" if self.feed.ready.is_set() else "listing"

    def inspect(self) -> dict[str, Any]:
        return {
            "objects": len(self.feed),
            "watched": self.feed.watched,
            "lists": self.lists,
            "events": self.events,
            **super().inspect(),
        }

    def on_refused(self, error: KubernetesError) -> None:
        self.feed.refuse(error)

    async def watch(self) -> None:
        with trio.CancelScope() as self._watch_scope:
            await self._watch_once()

    async def _watch_once(self) -> None:
        digest = self.spec.digest
        self._listed_once = False
        async with self.spec.open_watch(
            self.spec.label_selector, self.spec.reconnect_timeout
        ) as events:
            self._watch = events
            try:
                listing: dict[ObjectKey, S] = {}
                async for item in events:
                    if isinstance(item, WatchSync):
                        index = {}
                        for obj in item.objects:
                            if (state := digest(obj)) is not None:
                                index[object_key(obj)] = state
                        self._listed(index)
                    elif isinstance(item, WatchListStart):
                        listing = {}
                    elif isinstance(item, WatchListEnd):
                        listing, complete = {}, listing
                        self._listed(complete)
                    elif item.initial:
                        if (state := digest(item.object)) is not None:
                            listing[object_key(item.object)] = state
                    else:
                        self.events += 1
                        state = None if item.type == "DELETED" else digest(item.object)
                        self.feed.put(object_key(item.object), state)
                    del item  # no whole object is kept while the watch idles
            finally:
                self._last_progress = events.last_progress if self._listed_once else -math.inf
                self._watch = None

    def _listed(self, index: dict[ObjectKey, S]) -> None:
        self.lists += 1
        self.listed()
        self.feed.replace(index)
        self._listed_once = True
        self.context.changed()

    def _freshness(self) -> float:
        """See :attr:`InformerFeed.synced_at`."""
        watch = self._watch
        if watch is None or not self._listed_once:
            return self._last_progress
        return trio.current_time() if watch.connected else watch.last_progress

    async def _retry_notifications(self) -> None:
        while True:
            await trio.sleep(NOTIFY_RETRY_INTERVAL)
            self.feed.retry_notifications()
