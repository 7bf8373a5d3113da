"""Named per-key actors (``lab/<user>``, ``fileserver/<user>``) started on demand.

A registry sits on a supervisor and owns the mapping from key to actor. Its invariants:

* ``get_or_start`` is synchronous, so two concurrent callers for one key cannot both start an
  actor: exactly one exists per key at any time.
* Retiring an actor forgets it at once; the next ``get_or_start`` makes a fresh one, which
  waits until the retiring one has finished so that two incarnations never overlap.
* An actor that stops on its own (for example after going idle) is forgotten as well.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from actors.runtime.actor import Actor
from actors.runtime.node import Node
from actors.runtime.ref import DEFAULT_MAILBOX_SIZE, ActorRef
from actors.runtime.supervisor import RestartPolicy, Supervisor


class Registry:
    """Creates, finds and retires the actors of one family under one supervisor."""

    def __init__(
        self,
        supervisor: Supervisor,
        prefix: str,
        factory: Callable[[str], Actor],
        *,
        policy: RestartPolicy = RestartPolicy.TRANSIENT,
        mailbox_size: int = DEFAULT_MAILBOX_SIZE,
        on_exit: Callable[[str, Node], None] | None = None,
    ) -> None:
        """``on_exit(key, node)`` runs when an actor of this family ends for good (stopped,
        given up, or dropped with its supervisor); ``node.status`` says which."""
        self._supervisor = supervisor
        self._prefix = prefix
        self._factory = factory
        self._policy = policy
        self._mailbox_size = mailbox_size
        self._on_exit_hook = on_exit
        self._live: dict[str, ActorRef] = {}
        self._retiring: dict[str, ActorRef] = {}

    def name_of(self, key: str) -> str:
        """The tree name of the actor for ``key``."""
        return f"{self._prefix}/{key}"

    def get(self, key: str) -> ActorRef | None:
        """The live actor for ``key``, or ``None`` (never starts one)."""
        return self._live.get(key)

    def get_or_start(self, key: str) -> ActorRef:
        """The actor for ``key``, started now if there is none."""
        ref = self._live.get(key)
        if ref is not None and not ref.ending:
            return ref
        if ref is not None:
            self._retire_ref(key, ref)
        previous = self._retiring.get(key)
        ref = ActorRef(
            self.name_of(key),
            lambda: self._factory(key),
            mailbox_size=self._mailbox_size,
            after=previous.finished if previous is not None else None,
        )
        self._live[key] = ref
        self._supervisor.start_child(ref, self._policy, on_exit=self._on_exit)
        return ref

    def retire(self, key: str) -> bool:
        """Stop the actor for ``key`` once its queued messages are handled.

        Returns whether there was one. Callers holding the old reference get
        :class:`~actors.runtime.errors.ActorStopped` for new messages.
        """
        ref = self._live.get(key)
        if ref is None:
            return False
        self._retire_ref(key, ref)
        return True

    def _retire_ref(self, key: str, ref: ActorRef) -> None:
        del self._live[key]
        self._retiring[key] = ref
        if not ref.stop_requested:
            ref.request_stop()

    def _on_exit(self, node: Node) -> None:
        key = node.name.removeprefix(f"{self._prefix}/")
        if self._live.get(key) is node:
            del self._live[key]
        if self._retiring.get(key) is node:
            del self._retiring[key]
        if self._on_exit_hook is not None:
            self._on_exit_hook(key, node)

    def keys(self) -> Iterator[str]:
        """Keys of the live actors, in start order."""
        return iter(list(self._live))

    def __iter__(self) -> Iterator[str]:
        return self.keys()

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, key: str) -> bool:
        return key in self._live
