"""The common shape of everything in the supervision tree, and the index that tracks the tree.

Both plain actors and supervisors are *nodes*: something a supervisor can run, restart and
describe. A node's ``run_once`` is one incarnation: it returns when the node stopped on
purpose and raises when it crashed, which is all a supervisor needs to apply its policy.
"""

from __future__ import annotations

import contextlib
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable

import trio

from actors.runtime.changes import ChangeCounter
from actors.runtime.snapshot import ActorSnapshot, ActorStatus, describe_error
from actors.runtime.terms import Terms


class TreeIndex(ChangeCounter):
    """Names every live node and counts changes so that observers can wait for them (every
    processed message is a change)."""

    __slots__ = ("_nodes", "give_up_observers", "given_up", "restarts", "terms")

    def __init__(self, terms: Terms | None = None) -> None:
        super().__init__()
        self.terms = terms if terms is not None else Terms()
        """When leader-only nodes may run (one endless term unless the system says
        otherwise)."""
        self._nodes: dict[str, Node] = {}
        self.give_up_observers: list[Callable[[str, str], None]] = []
        """Told ``(name, reason)`` when a supervisor abandons a node after its restart limit
        (alerts hook in here; the runtime knows nothing of them)."""
        self.restarts: Counter[str] = Counter()
        """Restarts by node kind since the tree was made (monotonic, unlike per-node counts,
        which vanish with the node: what a metrics counter needs)."""
        self.given_up: Counter[str] = Counter()
        """Nodes given up by their supervisor after too many restarts, by kind."""

    def gave_up(self, name: str, reason: str) -> None:
        """Tell the observers that ``name`` was abandoned; an observer's error is ignored."""
        for observer in self.give_up_observers:
            with contextlib.suppress(Exception):
                observer(name, reason)

    def add(self, node: Node) -> None:
        """Index a node under its name; a newer node of the same name replaces the older."""
        self._nodes[node.name] = node
        self.changed()

    def remove(self, node: Node) -> None:
        """Forget a node, unless its name already belongs to a newer incarnation."""
        if self._nodes.get(node.name) is node:
            del self._nodes[node.name]
        self.changed()

    def get(self, name: str) -> Node | None:
        """Look a node up by name."""
        return self._nodes.get(name)

    def nodes(self) -> list[Node]:
        """Every live node (a copy: safe to iterate while the tree changes)."""
        return list(self._nodes.values())

    def __len__(self) -> int:
        return len(self._nodes)


class Node(ABC):
    """Bookkeeping shared by actors and supervisors: status, restarts, errors, timestamps."""

    __slots__ = (
        "_finished",
        "_has_finished",
        "last_error",
        "last_error_at",
        "leader_only",
        "name",
        "restarts",
        "started_at",
        "status",
        "stop_requested",
        "tree",
    )
    # Slots, not a dictionary per instance: a controller has one node per lab, thousands.

    kind: str = "node"

    def __init__(self, name: str) -> None:
        self.name = name
        self.status = ActorStatus.STARTING
        self.restarts = 0
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.started_at: float | None = None
        self.stop_requested = False
        self.leader_only = False
        """Run only while this process leads (``terms``): a node that writes to the cluster.
        Its supervisor starts it in each term and cancels it when the term ends."""
        self._finished: trio.Event | None = None
        self._has_finished = False
        self.tree: TreeIndex = _DETACHED

    @property
    def finished(self) -> trio.Event:
        """Set once the node has ended for good. Made on demand: only a successor of the same
        name waits for it, and an event per idle actor is memory nobody reads."""
        if self._finished is None:
            self._finished = trio.Event()
            if self._has_finished:
                self._finished.set()
        return self._finished

    def mark_finished(self) -> None:
        """The node has ended for good (its supervisor says so)."""
        self._has_finished = True
        if self._finished is not None:
            self._finished.set()

    def attach(self, tree: TreeIndex) -> None:
        """Join a tree: from now on the node is findable by name and reports its changes."""
        self.tree = tree
        tree.add(self)

    def set_status(self, status: ActorStatus) -> None:
        """Change status and tell observers."""
        self.status = status
        if status is ActorStatus.RUNNING:
            self.started_at = time.time()
        self.tree.changed()

    def record_crash(self, error: BaseException) -> None:
        """Remember the last crash for inspection."""
        self.last_error = describe_error(error)
        self.last_error_at = time.time()
        self.tree.changed()

    @abstractmethod
    async def run_once(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Run one incarnation: return on a deliberate stop, raise on a crash."""

    @abstractmethod
    def request_stop(self) -> None:
        """Ask the node to stop for good; its supervisor will not restart it."""

    def close(self) -> None:  # noqa: B027 - an optional hook, not an abstract duty
        """Release what the node holds once it will never run again (default: nothing)."""

    @abstractmethod
    def snapshot(self) -> ActorSnapshot:
        """Describe the node without waiting for it."""


_DETACHED = TreeIndex()
"""A sink for the changes of nodes that are not (yet) part of a running system."""
