"""The actor system: the root supervisor plus the index that lets the web layer find actors.

The system runs in the process's own nursery (``await nursery.start(system.run)``), beside
the HTTP server rather than inside it, so the server can never outlive the actors it talks
to. If the root supervisor fails, :meth:`ActorSystem.run` raises
:class:`RootSupervisorFailed` and the process exits non-zero.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import trio

from actors.runtime.errors import ActorRuntimeError
from actors.runtime.node import Node, TreeIndex
from actors.runtime.ref import ActorRef
from actors.runtime.snapshot import ActorSnapshot, ActorStatus, describe_error
from actors.runtime.supervisor import Supervisor
from actors.runtime.terms import Terms


class RootSupervisorFailed(ActorRuntimeError):
    """The root supervisor gave up; nothing is left to keep the controller consistent."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(f"Root supervisor failed: {describe_error(error)}")


class ActorSystem:
    """Owns the tree: runs its root, names its nodes, and tells observers when it changes."""

    def __init__(self, root: Supervisor, *, terms: Terms | None = None) -> None:
        self.root = root
        self._tree = TreeIndex(terms)
        root.attach(self._tree)

    @property
    def version(self) -> int:
        """Changes whenever anything observable in the tree changes."""
        return self._tree.version

    async def wait_changed(self, version: int) -> int:
        """Wait until the tree differs from ``version``; return the new version."""
        return await self._tree.wait_changed(version)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the tree until cancelled; report started once the root supervises its children.

        Raises :class:`RootSupervisorFailed` if the root supervisor fails.
        """
        try:
            await self.root.run_once(task_status=task_status)
        except Exception as error:
            self.root.record_crash(error)
            self.root.set_status(ActorStatus.FAILED)
            raise RootSupervisorFailed(error) from error
        finally:
            if self.root.status is ActorStatus.RUNNING:
                self.root.set_status(ActorStatus.STOPPED)

    @property
    def terms(self) -> Terms:
        """When the leader-only nodes run (one endless term for a lone replica)."""
        return self._tree.terms

    def on_give_up(self, observer: Callable[[str, str], None]) -> None:
        """Call ``observer(name, reason)`` whenever a supervisor abandons a node for good
        after its restart limit (a per-user actor given up, or a supervisor escalating)."""
        self._tree.give_up_observers.append(observer)

    def stop(self) -> None:
        """Stop every actor; :meth:`run` then returns."""
        self.root.request_stop()

    def node(self, name: str) -> Node | None:
        """The node named ``name`` (an actor or a supervisor), if it is alive."""
        return self._tree.get(name)

    def ref(self, name: str) -> ActorRef | None:
        """The actor named ``name``, for sending it messages."""
        node = self._tree.get(name)
        return node if isinstance(node, ActorRef) else None

    def snapshot(self) -> ActorSnapshot:
        """The whole tree, described without waiting for any actor."""
        return self.root.snapshot()

    def find(self, name: str) -> ActorSnapshot | None:
        """One actor (and its subtree), described without waiting for it."""
        node = self._tree.get(name)
        return node.snapshot() if node is not None else None

    def nodes(self) -> list[Node]:
        """Every live node of the tree, in no particular order (for metrics)."""
        return self._tree.nodes()

    @property
    def restarts_by_kind(self) -> Mapping[str, int]:
        """Restarts since the system was made, by node kind (never decreases)."""
        return self._tree.restarts

    @property
    def given_up_by_kind(self) -> Mapping[str, int]:
        """Nodes given up after too many restarts, by node kind (never decreases)."""
        return self._tree.given_up

    def __len__(self) -> int:
        return len(self._tree)
