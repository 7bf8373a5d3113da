"""The in-memory object store: etcd plus the generic parts of the API server's registry.

Objects are plain JSON dicts keyed by (resource, namespace, name). Invariants:

* One global ``resourceVersion`` counter, bumped by every write (as etcd's revision); an
  object's ``metadata.resourceVersion`` is the revision of its last write and a list's is the
  current revision. RVs are decimal strings; clients must treat them as opaque.
* Stored dicts are never mutated after they are published: every write stores a new dict.
  Public readers get deep copies unless they pass ``copy_=False`` (then they must not
  mutate). Writers copy the object they are given unless they pass ``copy_=False``: then
  the caller hands the object over (the store may keep it; the caller must not touch it
  again) and gets the stored object back uncopied. The HTTP layer does this (each request
  body is freshly parsed, each result serialised at once), and so do the in-process
  controllers that only read what they get.
* Every write appends a change to a history kept for ``history_seconds`` (default 300 s, like
  etcd compaction on a real cluster). A watch or a continue token older than the history
  gets 410. :meth:`compact` drops the whole history at once (fault injection).
* Deletion follows Kubernetes: pods get a grace period (``deletionTimestamp`` +
  ``deletionGracePeriodSeconds``, a MODIFIED event, removal when the grace ends), objects
  with ``metadata.finalizers`` wait until the list is empty, owners cascade to dependents
  (see :mod:`kubesim.lifecycle`), namespaces terminate.
* Timed work (grace periods, namespace removal) is scheduled with :meth:`call_later` and
  run by :meth:`run_timers`, which the :class:`~kubesim.site.Site` runs for its lifetime.

All methods are synchronous (the store is only touched from the Trio thread, so every
method is atomic); only waiting for watch events is async.
"""

from __future__ import annotations

import base64
import contextlib
import heapq
import itertools
import json
import random
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import trio

from kubesim import lifecycle
from kubesim.errors import (
    ApiError,
    already_exists,
    bad_request,
    conflict,
    expired,
    invalid,
    not_found,
)
from kubesim.jsoncopy import json_copy
from kubesim.patches import apply_json_patch, json_merge_patch
from kubesim.resources import RESOURCES, ResourceType, lookup
from kubesim.schemas import model_for
from kubesim.selectors import FieldSelector, LabelSelector
from kubesim.strategic import strategic_merge
from kubesim.validation import (
    apply_defaults,
    check_type,
    decode,
    fold_string_data,
    validate,
    validate_update,
)

__all__ = [
    "Change",
    "Store",
    "StoreConfig",
    "WatchEvent",
    "Watcher",
    "now_timestamp",
    "timestamp_in",
]

_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_ObjKey = tuple[str, str]  # (namespace or "", name)


@dataclass
class StoreConfig:
    #: Seconds of change history retained for watch resumption and continue tokens.
    history_seconds: float = 300.0
    #: Upper bound on retained changes, whatever their age (bounds memory).
    history_max_events: int = 100_000
    #: ``terminationGracePeriodSeconds`` given to pods that do not set it.
    default_pod_grace_seconds: int = 30
    #: Seconds an emptied terminating namespace lingers before it disappears.
    namespace_delete_delay: float = 0.2
    #: Seconds after a namespace's creation before its ``default`` service account exists
    #: (a real cluster's service-account controller takes a moment; pods are refused until).
    service_account_delay: float = 0.0
    #: Events a watcher may have queued before it is considered too slow and closed.
    watch_buffer: int = 10_000
    #: Whether watches accept ``sendInitialEvents`` (Kubernetes' WatchList feature, streaming
    #: lists); ``False`` answers such a watch 422, as a server with the feature off does.
    streaming_lists: bool = True


@dataclass(frozen=True)
class WatchEvent:
    type: str
    object: dict[str, Any]


@dataclass(frozen=True)
class Change:
    """One write, as recorded in the history (``old`` is the previous version, if any)."""

    rv: int
    time: float
    res_key: str
    namespace: str
    type: str
    obj: dict[str, Any]
    old: dict[str, Any] | None


_last_stamp: tuple[int, str] = (-1, "")


def now_timestamp() -> str:
    """The current UTC time as Kubernetes writes timestamps (RFC 3339, whole seconds).

    The string only changes once a second and every write asks for it, so it is formatted
    once per second (the same wall clock ``datetime.now`` reads).
    """
    global _last_stamp
    second = int(time.time())
    if second != _last_stamp[0]:
        _last_stamp = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
    return _last_stamp[1]


def timestamp_in(seconds: float) -> str:
    """The UTC time ``seconds`` from now, as Kubernetes writes it (a deletion's deadline)."""
    return datetime.fromtimestamp(datetime.now(UTC).timestamp() + seconds, UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def encode_continue(rv: int, after: _ObjKey) -> str:
    raw = json.dumps({"rv": rv, "after": list(after)}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_continue(token: str) -> tuple[int, _ObjKey]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), (str(data["after"][0]), str(data["after"][1]))
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise bad_request(f"invalid continue token: {exc}") from None


def _spec_of(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


class Watcher:
    """One open watch: a filtered, bounded queue of events fed synchronously by the store.

    Iterating yields :class:`WatchEvent`; the iteration ends when the watcher is closed
    (by the consumer, by :meth:`Store.drop_watches`, or because it fell ``watch_buffer``
    events behind). ``dropped`` tells a clean end from an injected drop.
    """

    def __init__(
        self,
        store: Store,
        res: ResourceType,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        *,
        external: bool,
        buffer: int,
        copy_events: bool = True,
    ) -> None:
        self.store = store
        self.res = res
        self.namespace = namespace
        #: Where the store files this watcher: changes are only offered to the watchers of
        #: their own resource and namespace, plus the cluster-wide ones of that resource.
        self.index_key: tuple[str, str | None] = (res.key, namespace)
        self.labels = labels
        self.fields = fields
        self.external = external
        #: In-process consumers get copies unless they promised not to mutate the events.
        self._copy_events = copy_events and not external
        self.closed = False
        self.dropped = False
        #: The ``User-Agent`` of the HTTP request this watcher serves (``None`` in-process):
        #: the partition fault cuts a client's watchers by it.
        self.client: str | None = None
        self._limit = buffer
        self._queue: deque[WatchEvent] = deque()
        self._wakeup = trio.Event()

    def _matches(self, obj: dict[str, Any] | None) -> bool:
        if obj is None:
            return False
        metadata = obj.get("metadata", {})
        return self.labels.matches(metadata.get("labels")) and self.fields.matches(obj)

    def offer(self, change: Change) -> None:
        if self.closed or change.res_key != self.index_key[0]:
            return
        if self.namespace is not None and change.namespace != self.namespace:
            return
        new_match = self._matches(change.obj)
        if change.type == "MODIFIED":
            old_match = self._matches(change.old)
            if new_match and old_match:
                kind = "MODIFIED"
            elif new_match:
                kind = "ADDED"
            elif old_match:
                kind = "DELETED"
            else:
                return
        elif new_match:
            kind = change.type
        else:
            return
        self.push(WatchEvent(kind, change.obj))

    def push(self, event: WatchEvent) -> None:
        if len(self._queue) >= self._limit:
            self.close(dropped=True)
            return
        self._queue.append(event)
        self._wakeup.set()

    @property
    def pending(self) -> int:
        return len(self._queue)

    def close(self, *, dropped: bool = False) -> None:
        if not self.closed:
            self.closed = True
            self.dropped = dropped
            self.store._unregister(self)
            self._wakeup.set()

    async def next(self, within: float | None = None) -> WatchEvent | None:
        """The next event; ``None`` if ``within`` seconds pass first; raises StopAsyncIteration
        once closed and drained (a dropped watcher stops at once, losing queued events)."""
        if not self._queue:
            # Only an empty queue needs waiting (and a cancel scope for ``within``); a busy
            # consumer takes queued events without that overhead, as it did without waiting.
            if within is None:
                await self._wait_for_events()
            else:
                with trio.move_on_after(within):
                    await self._wait_for_events()
        if self.dropped:
            raise StopAsyncIteration
        if not self._queue:
            return None
        return self._queue.popleft()

    async def _wait_for_events(self) -> None:
        while not self._queue:
            if self.closed:
                raise StopAsyncIteration
            await self._wakeup.wait()
            self._wakeup = trio.Event()

    def __aiter__(self) -> Watcher:
        return self

    async def __anext__(self) -> WatchEvent:
        event = await self.next()
        assert event is not None
        if self._copy_events:
            return WatchEvent(event.type, json_copy(event.object))
        return event


class Store:
    """See the module docstring. ``seed`` makes uids and generated names deterministic."""

    def __init__(self, config: StoreConfig | None = None, *, seed: int = 0) -> None:
        self.config = config or StoreConfig()
        self._rng = random.Random(seed)
        self._last_event_stamp = 0
        self._rv = 1
        self._objects: dict[str, dict[_ObjKey, dict[str, Any]]] = {r.key: {} for r in RESOURCES}
        self._by_uid: dict[str, tuple[ResourceType, _ObjKey]] = {}
        self._history: deque[Change] = deque()
        self._compacted_rv = 0
        #: Every open watcher, and the same watchers by ``Watcher.index_key``.
        self._watchers: set[Watcher] = set()
        self._watch_index: dict[tuple[str, str | None], set[Watcher]] = {}
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._timer_seq = itertools.count()
        self._timer_wakeup = trio.Event()
        self._grace_pending: set[tuple[str, _ObjKey]] = set()
        self._next_ip = itertools.count(10)

    # ----------------------------------------------------------------- lookup helpers
    def resource(self, plural_or_kind: str, group: str | None = "") -> ResourceType:
        """The :class:`ResourceType` for a plural/kind/short name; ``group=None``: any group."""
        res = lookup(plural_or_kind, group)
        if res is None:
            res = lookup(plural_or_kind, None)
        if res is None:
            raise KeyError(f"kubesim does not serve {plural_or_kind!r}")
        return res

    @property
    def resource_version(self) -> str:
        """The current global revision (what a list at this instant reports)."""
        return str(self._rv)

    @property
    def oldest_resource_version(self) -> int:
        """Watches may resume from this revision or later; older ones get 410."""
        return self._compacted_rv

    def _ns(self, res: ResourceType, namespace: str | None) -> str:
        return (namespace or "") if res.namespaced else ""

    def _lookup(self, res: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        obj = self._objects[res.key].get((self._ns(res, namespace), name))
        if obj is None:
            raise not_found(res.plural, name, res.group)
        return obj

    def find_by_uid(self, uid: str) -> tuple[ResourceType, dict[str, Any]] | None:
        entry = self._by_uid.get(uid)
        if entry is None:
            return None
        res, key = entry
        obj = self._objects[res.key].get(key)
        return (res, obj) if obj is not None else None

    def iter_objects(
        self, res: ResourceType | None = None, namespace: str | None = None
    ) -> list[tuple[ResourceType, dict[str, Any]]]:
        """Every stored object (uncopied; do not mutate), optionally by kind/namespace."""
        kinds = [res] if res is not None else list(RESOURCES)
        result = []
        for kind in kinds:
            for (ns, _), obj in self._objects[kind.key].items():
                if namespace is None or ns == namespace:
                    result.append((kind, obj))
        return result

    # ----------------------------------------------------------------- history + watchers
    def _next_rv(self) -> int:
        self._rv += 1
        return self._rv

    def _record(
        self, type_: str, res: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None
    ) -> None:
        now = trio.current_time()
        change = Change(
            int(obj["metadata"]["resourceVersion"]),
            now,
            res.key,
            obj["metadata"].get("namespace", ""),
            type_,
            obj,
            old,
        )
        history = self._history
        history.append(change)
        horizon = now - self.config.history_seconds
        while history and (
            history[0].time < horizon or len(history) > self.config.history_max_events
        ):
            self._compacted_rv = history.popleft().rv
        # Only the watchers that can match: cluster-wide ones of this resource and, for a
        # namespaced object, those of its namespace (copied: a watcher may close on offer).
        index = self._watch_index
        cluster_wide = index.get((change.res_key, None))
        if cluster_wide:
            for watcher in list(cluster_wide):
                watcher.offer(change)
        if change.namespace:
            in_namespace = index.get((change.res_key, change.namespace))
            if in_namespace:
                for watcher in list(in_namespace):
                    watcher.offer(change)

    def _register(self, watcher: Watcher) -> None:
        self._watchers.add(watcher)
        self._watch_index.setdefault(watcher.index_key, set()).add(watcher)

    def _unregister(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)
        bucket = self._watch_index.get(watcher.index_key)
        if bucket is not None:
            bucket.discard(watcher)
            if not bucket:
                del self._watch_index[watcher.index_key]

    def compact(self) -> int:
        """Forget all history: every older resourceVersion now gets 410. Returns the new floor."""
        self._history.clear()
        self._compacted_rv = self._rv
        return self._compacted_rv

    def drop_watches(self, namespace: str | None = None, *, client: str | None = None) -> int:
        """Cut every open HTTP watch, or only those on ``namespace`` (in-process controller
        watches are kept); with ``client``, every stream served to a client whose
        ``User-Agent`` contains it (watches, and the watchers behind followed logs)."""
        if client is not None:
            victims = [
                w
                for w in self._watchers
                if w.client is not None
                and client in w.client
                and (namespace is None or w.namespace == namespace)
            ]
        else:
            victims = [
                w
                for w in self._watchers
                if w.external and (namespace is None or w.namespace == namespace)
            ]
        for watcher in victims:
            watcher.close(dropped=True)
        return len(victims)

    def open_watcher(
        self,
        res: ResourceType,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        external: bool = False,
        copy_events: bool = True,
        initial_events_end: bool = False,
    ) -> Watcher:
        """Register a watcher primed with its initial events.

        ``resource_version`` absent or ``"0"``: synthetic ADDED events for the current
        matching objects, then live changes. Otherwise the changes after that revision;
        a revision older than the retained history, or with more matching changes since than
        a watcher may queue (``watch_buffer``), raises ``ApiError`` 410 ``Expired``.
        ``initial_events_end`` (a streaming list): the synthetic ADDED events are followed by
        a bookmark annotated ``k8s.io/initial-events-end`` carrying the current revision.
        """
        labels = LabelSelector.parse(label_selector)
        fields = FieldSelector.parse(field_selector, res.field_selectors)
        namespace = namespace if res.namespaced else None
        watcher = Watcher(
            self,
            res,
            namespace,
            labels,
            fields,
            external=external,
            buffer=self.config.watch_buffer,
            copy_events=copy_events,
        )
        if resource_version in (None, "", "0"):
            objects = self._objects[res.key]
            # Keys are (namespace, name): filter on the namespace before sorting.
            keys = [key for key in objects if namespace is None or key[0] == namespace]
            keys.sort()
            for key in keys:
                obj = objects[key]
                if watcher._matches(obj):
                    watcher._queue.append(WatchEvent("ADDED", obj))
            if initial_events_end:
                end = {
                    "kind": res.kind,
                    "apiVersion": res.api_version,
                    "metadata": {
                        "resourceVersion": self.resource_version,
                        "annotations": {"k8s.io/initial-events-end": "true"},
                    },
                }
                watcher._queue.append(WatchEvent("BOOKMARK", end))
        else:
            try:
                since = int(resource_version)
            except ValueError:
                raise bad_request(f"invalid resourceVersion {resource_version!r}") from None
            if since < self._compacted_rv:
                raise expired(f"too old resource version: {since} ({self._compacted_rv})")
            # History rvs strictly increase (each write takes the next rv and records at
            # once), so the changes after ``since`` are a suffix: find it from the newest end
            # instead of scanning the whole retained history, then replay it in order.
            newer = []
            for change in reversed(self._history):
                if change.rv <= since:
                    break
                newer.append(change)
            for change in reversed(newer):
                watcher.offer(change)
            if watcher.closed:
                # More changes since that revision than a watcher may have queued: a real
                # API server's watch cache holds a bounded window of changes too, and a
                # revision older than the window is "too old" (410), which makes the client
                # list again. Answering with a watch that is dropped before its first event
                # would make it resume from the same revision forever.
                raise expired(
                    f"too old resource version: {since} (more changes since than the watch"
                    f" cache holds, {self.config.watch_buffer})"
                )
        self._register(watcher)
        return watcher

    @asynccontextmanager
    async def watch(
        self,
        res: ResourceType,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        copy_: bool = True,
    ) -> AsyncIterator[Watcher]:
        """In-process watch for controllers: ``async with store.watch(res) as events:``.

        Iterate ``events`` for :class:`WatchEvent` (objects are deep copies, or the stored
        objects themselves with ``copy_=False``: then never mutate them). Not affected by
        the drop-watches fault. Raises ``ApiError`` 410 for a compacted revision.
        """
        watcher = self.open_watcher(
            res,
            namespace,
            resource_version=resource_version,
            label_selector=label_selector,
            field_selector=field_selector,
            copy_events=copy_,
        )
        try:
            yield watcher
        finally:
            watcher.close()

    # ----------------------------------------------------------------- timers
    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        """Run ``fn`` (synchronously, on the Trio thread) after ``delay`` seconds."""
        heapq.heappush(self._timers, (trio.current_time() + delay, next(self._timer_seq), fn))
        self._timer_wakeup.set()

    async def run_timers(self) -> None:
        """Run scheduled callbacks forever (the Site runs this for its lifetime)."""
        while True:
            now = trio.current_time()
            while self._timers and self._timers[0][0] <= now:
                _, _, fn = heapq.heappop(self._timers)
                fn()
            delay = self._timers[0][0] - now if self._timers else float("inf")
            with trio.move_on_after(delay):
                await self._timer_wakeup.wait()
            self._timer_wakeup = trio.Event()

    # ----------------------------------------------------------------- reads
    def get(
        self, res: ResourceType, namespace: str | None, name: str, *, copy_: bool = True
    ) -> dict[str, Any]:
        obj = self._lookup(res, namespace, name)
        return json_copy(obj) if copy_ else obj

    def list_page(
        self,
        res: ResourceType,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> tuple[list[dict[str, Any]], str, str | None, int | None]:
        """One page of a list: ``(items, list RV, continue token or None, remaining count)``.

        Items are uncopied (do not mutate). Order is (namespace, name), as etcd keys sort.
        A continued page reads the current state of the remaining keys (a real server reads
        a snapshot at the first page's revision; see docs/kubesim.md). A token older than the
        retained history raises 410 ``Expired``.
        """
        labels = LabelSelector.parse(label_selector)
        fields = FieldSelector.parse(field_selector, res.field_selectors)
        list_rv = self._rv
        after: _ObjKey | None = None
        if continue_token:
            token_rv, after = decode_continue(continue_token)
            if token_rv < self._compacted_rv:
                raise expired(
                    "the provided continue parameter is too old to display a consistent list"
                    " result; start a new list without the continue parameter"
                )
            list_rv = token_rv
        ns = self._ns(res, namespace) if namespace else None
        store = self._objects[res.key]
        # Keys are (namespace, name): filter on the namespace before sorting.
        keys = list(store) if ns is None else [key for key in store if key[0] == ns]
        keys.sort()
        matched: list[tuple[_ObjKey, dict[str, Any]]] = []
        for key in keys:
            if after is not None and key <= after:
                continue
            obj = store[key]
            if (labels.empty or labels.matches(obj["metadata"].get("labels"))) and (
                fields.empty or fields.matches(obj)
            ):
                matched.append((key, obj))
        if limit and limit > 0 and len(matched) > limit:
            page = matched[:limit]
            token = encode_continue(list_rv, page[-1][0])
            return [obj for _, obj in page], str(list_rv), token, len(matched) - limit
        return [obj for _, obj in matched], str(list_rv), None, None

    def list(
        self,
        res: ResourceType,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[list[dict[str, Any]], str]:
        """All matching objects (deep copies) and the list resourceVersion."""
        items, rv, _, _ = self.list_page(
            res, namespace, label_selector=label_selector, field_selector=field_selector
        )
        return json_copy(items), rv

    # ----------------------------------------------------------------- writes
    def _uid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _cluster_ip(self) -> str:
        n = next(self._next_ip)
        return f"10.96.{n // 250 % 250}.{n % 250 + 1}"

    def check_namespace_open(self, res: ResourceType, namespace: str, name: str) -> None:
        """404 if ``namespace`` is missing, 403 if it is terminating (as admission does)."""
        ns_res = self.resource("namespaces")
        ns_obj = self._objects[ns_res.key].get(("", namespace))
        if ns_obj is None:
            raise not_found("namespaces", namespace)
        if ns_obj["metadata"].get("deletionTimestamp"):
            err = ApiError(
                403,
                "Forbidden",
                f'{res.plural} "{name}" is forbidden: unable to create new content in'
                f" namespace {namespace} because it is being terminated",
                {
                    "name": name,
                    "kind": res.plural,
                    "causes": [
                        {
                            "reason": "NamespaceTerminating",
                            "message": f"namespace {namespace} is being terminated",
                            "field": "metadata.namespace",
                        }
                    ],
                },
            )
            if res.group:
                assert err.details is not None
                err.details["group"] = res.group
            raise err

    def create(
        self, res: ResourceType, namespace: str | None, obj: dict[str, Any], *, copy_: bool = True
    ) -> dict[str, Any]:
        """Create ``obj`` (POST semantics); returns a copy of the stored object.

        ``copy_=False``: ``obj`` is handed over and the stored object is returned (see the
        module docstring).
        """
        if not copy_:
            return self._create(res, namespace, obj, owned=True)
        return json_copy(self._create(res, namespace, obj))

    def _create(
        self,
        res: ResourceType,
        namespace: str | None,
        obj: dict[str, Any],
        *,
        owned: bool = False,
    ) -> dict[str, Any]:
        """Create and return the stored object; ``owned``: ``obj`` may be stored as is."""
        obj = check_type(res, obj)
        if not owned:
            obj = json_copy(obj)
        metadata = obj.setdefault("metadata", {})
        if res.namespaced:
            body_ns = metadata.get("namespace")
            if namespace and body_ns and body_ns != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent"
                    " on the request"
                )
            namespace = namespace or body_ns
            if not namespace:
                raise bad_request("a namespace is required to create a namespaced object")
            metadata["namespace"] = namespace
        else:
            metadata.pop("namespace", None)
            namespace = ""
        if not metadata.get("name") and metadata.get("generateName"):
            suffix = "".join(self._rng.choice(_GENERATE_ALPHABET) for _ in range(5))
            metadata["name"] = f"{metadata['generateName']}{suffix}"
        decode(res, obj)
        validate(res, obj)
        name = metadata["name"]
        if res.namespaced:
            self.check_namespace_open(res, namespace, name)
        if res.plural == "pods" and not res.group:
            self._check_service_account(namespace, name, obj)
        key = (namespace, name)
        if key in self._objects[res.key]:
            raise already_exists(res.plural, name, res.group)
        uid = self._uid()
        obj["kind"] = res.kind
        obj["apiVersion"] = res.api_version
        for transient in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion"):
            metadata.pop(transient, None)
        metadata["uid"] = uid
        metadata["creationTimestamp"] = now_timestamp()
        if res.has_generation:
            metadata["generation"] = 1
        apply_defaults(
            res,
            obj,
            uid=uid,
            cluster_ip=self._cluster_ip(),
            default_grace=self.config.default_pod_grace_seconds,
        )
        metadata["resourceVersion"] = str(self._next_rv())
        self._objects[res.key][key] = obj
        self._by_uid[uid] = (res, key)
        self._record("ADDED", res, obj, None)
        if res.plural == "namespaces" and not res.group:
            self.call_later(
                self.config.service_account_delay,
                lambda: self._create_default_service_account(name),
            )
        return obj

    def _check_service_account(self, namespace: str, name: str, pod: dict[str, Any]) -> None:
        """Refuse a pod whose service account does not exist, as the admission plugin does."""
        account = pod.get("spec", {}).get("serviceAccountName") or "default"
        if (namespace, account) not in self._objects[self.resource("serviceaccounts").key]:
            raise ApiError(
                403,
                "Forbidden",
                f'pods "{name}" is forbidden: error looking up service account'
                f' {namespace}/{account}: serviceaccount "{account}" not found',
                {"name": name, "kind": "pods"},
            )

    def _create_default_service_account(self, namespace: str) -> None:
        """Play the service-account controller: every new namespace soon gets ``default``.

        Real clusters do this asynchronously, and the API server refuses pods that use a
        service account that does not exist yet; clients therefore wait for it.
        """
        res = self.resource("serviceaccounts")
        if (namespace, "default") in self._objects[res.key]:
            return
        body = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}}
        # The namespace may have gone (or be terminating) before the controller ran.
        with contextlib.suppress(ApiError):
            self._create(res, namespace, body, owned=True)

    def _store_update(
        self, res: ResourceType, old: dict[str, Any], new: dict[str, Any]
    ) -> dict[str, Any]:
        """Publish ``new`` as the next version of ``old`` (no-op when nothing changed)."""
        metadata = new["metadata"]
        old_meta = old["metadata"]
        for frozen in (
            "uid",
            "creationTimestamp",
            "namespace",
            "name",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ):
            if frozen in old_meta:
                metadata[frozen] = old_meta[frozen]
            else:
                metadata.pop(frozen, None)
        new["kind"] = res.kind
        new["apiVersion"] = res.api_version
        if res.has_generation:
            generation = old_meta.get("generation", 1)
            if _spec_of(new) != _spec_of(old):
                generation += 1
            metadata["generation"] = generation
        metadata["resourceVersion"] = old_meta["resourceVersion"]
        decode(res, new)
        if new == old:
            return old
        validate(res, new)
        validate_update(res, old, new)
        metadata["resourceVersion"] = str(self._next_rv())
        key = (old_meta.get("namespace", ""), old_meta["name"])
        self._objects[res.key][key] = new
        self._record("MODIFIED", res, new, old)
        if metadata.get("deletionTimestamp") and not metadata.get("finalizers"):
            lifecycle.maybe_finish_deletion(self, res, new)
        return self._objects[res.key].get(key, new)

    def _check_precondition(
        self, res: ResourceType, current: dict[str, Any], wanted_rv: Any
    ) -> None:
        """409 when a write names a resourceVersion that is no longer the stored one (the
        message is the one every Kubernetes client shows for an optimistic-lock failure)."""
        if wanted_rv and str(wanted_rv) != current["metadata"]["resourceVersion"]:
            raise conflict(
                res.plural,
                current["metadata"]["name"],
                "the object has been modified; please apply your changes to the latest"
                " version and try again",
                res.group,
            )

    def _merge_subresource(
        self,
        current: dict[str, Any],
        proposed: dict[str, Any],
        res: ResourceType,
        subresource: str | None,
    ) -> dict[str, Any]:
        if subresource == "status":
            merged = json_copy(current)
            if "status" in proposed:
                merged["status"] = proposed["status"]
            else:
                merged.pop("status", None)
            return merged
        if res.status_subresource:
            if "status" in current:
                proposed["status"] = json_copy(current["status"])
            else:
                proposed.pop("status", None)
        return proposed

    def replace(
        self,
        res: ResourceType,
        namespace: str | None,
        name: str,
        obj: dict[str, Any],
        *,
        subresource: str | None = None,
        copy_: bool = True,
    ) -> dict[str, Any]:
        """PUT semantics: optimistic concurrency on ``metadata.resourceVersion`` (409).

        Without a resourceVersion the update is unconditional for most kinds; a kind with
        ``unconditional_update=False`` answers 422 instead.

        ``copy_=False``: ``obj`` is handed over and the stored object is returned.
        """
        proposed = check_type(res, obj)
        if copy_:
            proposed = json_copy(proposed)
        metadata = proposed.setdefault("metadata", {})
        if metadata.get("name") and metadata["name"] != name:
            raise bad_request(
                f"the name of the object ({metadata['name']}) does not match the name on the"
                f" URL ({name})"
            )
        if res.namespaced and metadata.get("namespace") and metadata["namespace"] != namespace:
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on"
                " the request"
            )
        metadata["name"] = name
        current = self._lookup(res, namespace, name)
        wanted = metadata.get("resourceVersion")
        if not wanted and not res.unconditional_update:
            # The kind's registry names the resource, not the kind, in this one message.
            raise invalid(
                res.plural,
                name,
                [
                    (
                        "metadata.resourceVersion",
                        "Invalid value: 0x0: must be specified for an update",
                    )
                ],
                res.group,
            )
        self._check_precondition(res, current, wanted)
        return self._write(res, current, proposed, subresource, copy_=copy_)

    def patch(
        self,
        res: ResourceType,
        namespace: str | None,
        name: str,
        patch: Any,
        *,
        patch_type: str = "merge",
        subresource: str | None = None,
        copy_: bool = True,
    ) -> dict[str, Any]:
        """PATCH: ``patch_type`` "merge" (RFC 7386), "strategic" (strategic merge patch, see
        :mod:`kubesim.strategic`; 415 for custom resources) or "json" (RFC 6902). A
        ``metadata.resourceVersion`` in a merge patch is a precondition.
        ``copy_=False`` returns the stored object itself (do not mutate it)."""
        current = self._lookup(res, namespace, name)
        if patch_type == "json":
            # A new document: a deep copy of ``current`` with copies of the patch's values.
            patched = apply_json_patch(current, patch)
        elif patch_type == "strategic":
            model = model_for(res.kind)
            if model is None:
                raise ApiError(
                    415,
                    "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types"
                    " include: application/json-patch+json, application/merge-patch+json,"
                    " application/apply-patch+yaml",
                )
            if not isinstance(patch, dict):
                raise bad_request("a strategic merge patch must be a JSON object")
            wanted = (patch.get("metadata") or {}).get("resourceVersion")
            self._check_precondition(res, current, wanted)
            patched = json_copy(strategic_merge(current, patch, model))
        else:
            if not isinstance(patch, dict):
                raise bad_request("a merge patch must be a JSON object")
            wanted = (patch.get("metadata") or {}).get("resourceVersion")
            self._check_precondition(res, current, wanted)
            # The merge shares every part the patch does not touch with the stored object.
            patched = json_copy(json_merge_patch(current, patch))
        patched = check_type(res, patched)
        patched.setdefault("metadata", {})["name"] = name
        return self._write(res, current, patched, subresource, copy_=copy_)

    def _write(
        self,
        res: ResourceType,
        current: dict[str, Any],
        proposed: dict[str, Any],
        subresource: str | None,
        *,
        copy_: bool,
    ) -> dict[str, Any]:
        """The common end of replace and patch: fold Secret ``stringData``, keep the half of
        the object the (sub)resource does not own, publish the new version."""
        if res.kind == "Secret":
            fold_string_data(proposed)
        new = self._merge_subresource(current, proposed, res, subresource)
        stored = self._store_update(res, current, new)
        return json_copy(stored) if copy_ else stored

    def mutate(
        self,
        res: ResourceType,
        namespace: str | None,
        name: str,
        fn: Callable[[dict[str, Any]], None],
        *,
        copy_: bool = True,
    ) -> dict[str, Any]:
        """Apply ``fn`` to a copy of the object and store it (status included); one MODIFIED
        event if anything changed. For controllers (kubelet, job controller, ...).
        Returns a copy of the result, or the stored object itself with ``copy_=False``."""
        current = self._lookup(res, namespace, name)
        new = json_copy(current)
        fn(new)
        stored = self._store_update(res, current, new)
        return json_copy(stored) if copy_ else stored

    def delete(
        self,
        res: ResourceType,
        namespace: str | None,
        name: str,
        *,
        grace_period_seconds: int | None = None,
        propagation_policy: str | None = None,
        preconditions: dict[str, Any] | None = None,
        copy_: bool = True,
    ) -> dict[str, Any]:
        """DELETE semantics (see :func:`kubesim.lifecycle.delete`). Returns a copy of the
        object as it stands after the call (carrying ``deletionTimestamp`` if it lingers),
        or with ``copy_=False`` that object itself (do not mutate it)."""
        obj = self._lookup(res, namespace, name)
        if preconditions:
            # The storage layer's words (a real server also wraps them in a StorageError).
            if preconditions.get("uid") and preconditions["uid"] != obj["metadata"]["uid"]:
                raise conflict(
                    res.plural,
                    name,
                    f"Precondition failed: UID in precondition: {preconditions['uid']}, UID in"
                    f" object meta: {obj['metadata']['uid']}",
                    res.group,
                )
            wanted = preconditions.get("resourceVersion")
            current = obj["metadata"]["resourceVersion"]
            if wanted and str(wanted) != current:
                raise conflict(
                    res.plural,
                    name,
                    f"Precondition failed: ResourceVersion in precondition: {wanted},"
                    f" ResourceVersion in object meta: {current}",
                    res.group,
                )
        if propagation_policy not in (None, "Orphan", "Background", "Foreground"):
            raise bad_request(f"unsupported propagation policy {propagation_policy!r}")
        if grace_period_seconds is not None and grace_period_seconds < 0:
            grace_period_seconds = 0
        result = lifecycle.delete(self, res, obj, grace_period_seconds, propagation_policy)
        return json_copy(result) if copy_ else result

    def finalize_delete(self, res: ResourceType, namespace: str | None, name: str) -> None:
        """Remove the object now, whatever its grace or finalizers (emits DELETED)."""
        obj = self.find(res, namespace, name)
        if obj is not None:
            self.remove(res, obj)

    # ----------------------------------------------------------------- lifecycle steps
    # What :mod:`kubesim.lifecycle` does to the store, as methods: its rules (grace, finalizers,
    # cascade, namespace termination) stay there, while the store alone touches its tables.
    def find(self, res: ResourceType, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The stored object (uncopied; do not mutate), or ``None`` when there is none.

        A lifecycle step re-reads an object this way because an earlier step of the same
        deletion may have replaced it with a newer version or removed it.
        """
        return self._objects[res.key].get((self._ns(res, namespace), name))

    def remove(self, res: ResourceType, obj: dict[str, Any]) -> None:
        """Remove ``obj`` now (one DELETED event), then collect what its removal frees.

        Nothing happens unless ``obj`` is still the stored version: a cascade may reach an
        object that an earlier step already replaced or removed.
        """
        metadata = obj["metadata"]
        key = (metadata.get("namespace", ""), metadata["name"])
        if self._objects[res.key].get(key) is not obj:
            return
        del self._objects[res.key][key]
        self._by_uid.pop(metadata["uid"], None)
        self._grace_pending.discard((res.key, key))
        final = dict(obj)
        final["metadata"] = {**metadata, "resourceVersion": str(self._next_rv())}
        self._record("DELETED", res, final, obj)
        lifecycle.after_removal(self, res, final)

    def publish(
        self, res: ResourceType, obj: dict[str, Any], new: dict[str, Any]
    ) -> dict[str, Any]:
        """Publish ``new`` as ``obj``'s next version (one MODIFIED event) and return it.

        None of an update's rules apply (frozen metadata, generation, validation, the no-op
        check): these are the system's own writes, which must set what a client may not,
        such as ``deletionTimestamp``, or drop an owner reference. ``new`` is kept as it is,
        not copied.
        """
        metadata = new["metadata"]
        metadata["resourceVersion"] = str(self._next_rv())
        key = (metadata.get("namespace", ""), metadata["name"])
        self._objects[res.key][key] = new
        self._record("MODIFIED", res, new, obj)
        return new

    def deleted_version(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        """``obj`` as the DELETED event that removed it carried it (with the deletion's
        ``resourceVersion``), which is what a DELETE answers; ``None`` when no such event is
        in the history (``obj`` was not removed, or the history no longer holds it)."""
        for change in reversed(self._history):
            if change.type == "DELETED" and change.old is obj:
                return change.obj
        return None

    def begin_grace(self, res: ResourceType, namespace: str | None, name: str) -> None:
        """Hold the object until :meth:`end_grace`: its grace period has started.

        Kept here rather than in the lifecycle because removing the object (for whatever
        reason) must also forget its grace.
        """
        self._grace_pending.add((res.key, (self._ns(res, namespace), name)))

    def in_grace(self, res: ResourceType, namespace: str | None, name: str) -> bool:
        """Whether the object's grace period is still running (it must not be removed yet)."""
        return (res.key, (self._ns(res, namespace), name)) in self._grace_pending

    def end_grace(self, res: ResourceType, namespace: str | None, name: str) -> bool:
        """End the object's grace period; ``False`` if none was running (already ended or
        cut short by a later delete with no grace, or the object is gone)."""
        key = (res.key, (self._ns(res, namespace), name))
        if key not in self._grace_pending:
            return False
        self._grace_pending.discard(key)
        return True

    # ----------------------------------------------------------------- events
    def _event_stamp(self) -> int:
        """A strictly increasing wall-clock nanosecond stamp for event names."""
        stamp = max(time.time_ns(), self._last_event_stamp + 1)
        self._last_event_stamp = stamp
        return stamp

    def record_event(
        self,
        namespace: str,
        involved: dict[str, Any],
        reason: str,
        message: str,
        type: str = "Normal",
        *,
        component: str = "kubesim",
        copy_: bool = True,
    ) -> dict[str, Any]:
        """Create a core/v1 Event about ``involved`` (an object dict or an ObjectReference).

        Like a real cluster's event recorders this is best effort: in a missing or
        terminating namespace the event is returned but not stored. Returns a copy of the
        stored Event, or with ``copy_=False`` the stored Event itself (do not mutate it).
        """
        meta = involved.get("metadata", involved)
        ref = {
            "kind": involved.get("kind", ""),
            "namespace": meta.get("namespace", namespace),
            "name": meta.get("name", ""),
            "uid": meta.get("uid", ""),
            "apiVersion": involved.get("apiVersion", "v1"),
            "resourceVersion": meta.get("resourceVersion", ""),
        }
        if involved.get("fieldPath"):
            ref["fieldPath"] = involved["fieldPath"]
        now = now_timestamp()
        event = {
            "kind": "Event",
            "apiVersion": "v1",
            "metadata": {
                # As real recorders do: the object's name and the time in hexadecimal
                # nanoseconds, so that name order (the order of a list) is time order.
                "name": f"{ref['name']}.{self._event_stamp():x}",
                "namespace": namespace,
            },
            "involvedObject": ref,
            "reason": reason,
            "message": message,
            "type": type,
            "source": {"component": component},
            "reportingComponent": component,
            "reportingInstance": "",
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            # ``event`` is a new dict whose leaves are the reference's scalar fields, so
            # the store may keep it as it is.
            stored = self.create(self.resource("events"), namespace, event, copy_=False)
        except ApiError as exc:
            if exc.status in (403, 404):
                return event
            raise
        return json_copy(stored) if copy_ else stored
