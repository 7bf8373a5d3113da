"""A small LRU map whose entries also expire: the memory of recent Gafaelfawr answers.

JupyterHub calls the controller several times per spawn (create, events, status) with the
same token; asking Gafaelfawr each time would make it a bottleneck. The cache is bounded
(least recently used entries go first) and every entry has its own lifetime.

It is not an actor although request handlers share it: it memoises idempotent reads, every
operation is synchronous (no ``await``, so atomic under Trio's cooperative scheduling), and
no invariant spans two operations. Losing or duplicating an entry only costs one lookup.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["TtlLruCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlLruCache(Generic[K, V]):
    """At most ``max_entries`` values, each forgotten ``ttl`` seconds after it was stored.

    ``clock`` returns monotonic seconds (``trio.current_time`` in the client; a fake in
    tests).
    """

    def __init__(self, *, max_entries: int, clock: Callable[[], float]) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        # Keys are hashes of secrets: even so, only the size is shown.
        return f"<TtlLruCache {len(self._entries)}/{self._max_entries} entries>"

    def get(self, key: K) -> V | None:
        """The live value for ``key`` (now the most recently used), or ``None``."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if self._clock() >= expires_at:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V, ttl: float) -> None:
        """Remember ``value`` for ``ttl`` seconds; a ``ttl`` of zero or less forgets ``key``."""
        if ttl <= 0:
            self._entries.pop(key, None)
            return
        self._entries[key] = (self._clock() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
