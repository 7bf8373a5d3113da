"""Errors raised by the actor runtime itself.

Callers branch on these types, never on messages: the web layer maps :class:`MailboxFull` to
503 with ``Retry-After`` and :class:`AskTimeout` to the controller-timeout 500 of the API spec.
"""

from __future__ import annotations


class ActorRuntimeError(Exception):
    """Base class of every error the runtime raises on its own behalf."""


class MailboxFull(ActorRuntimeError):
    """The actor's bounded mailbox has no room: the caller should back off and retry.

    The runtime never queues without bound; a full mailbox is back-pressure made visible.
    """

    def __init__(self, name: str, capacity: int, retry_after: float) -> None:
        super().__init__(f"Mailbox of {name} is full ({capacity} messages)")
        self.name = name
        self.capacity = capacity
        self.retry_after = retry_after


class AskTimeout(ActorRuntimeError):
    """No reply arrived within the caller's timeout.

    The message may still be processed later; its reply is then discarded.
    """

    def __init__(self, name: str, message_type: str, timeout: float) -> None:
        super().__init__(f"{name} did not answer {message_type} within {timeout:g}s")
        self.name = name
        self.message_type = message_type
        self.timeout = timeout


class ActorStopped(ActorRuntimeError):
    """The actor has stopped (or stopped before answering) and takes no more messages."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} is not running")
        self.name = name


class ActorCrashed(ActorRuntimeError):
    """The actor crashed while (or before) handling this caller's message.

    Raised to askers whose message was being handled, or was still queued, when an error
    that is not a :class:`DomainError` escaped the actor. The original error is the cause.
    """

    def __init__(self, name: str, error: BaseException) -> None:
        super().__init__(f"{name} crashed: {type(error).__name__}")
        self.name = name


class SupervisorEscalation(ActorRuntimeError):
    """A supervisor saw more restarts than its intensity allows and gives up.

    It fails with this error so that its own parent decides what happens next; at the root,
    the process exits.
    """

    def __init__(self, supervisor: str, child: str, restarts: int, window: float) -> None:
        super().__init__(
            f"{supervisor}: child {child} restarted more than {restarts} times "
            f"within {window:g}s; escalating"
        )
        self.supervisor = supervisor
        self.child = child


class DomainError(Exception):
    """An expected refusal that the handler reports to the asker.

    Raising a subclass from ``Actor.handle`` answers the ask with that error while the actor's
    state stays intact, so the actor keeps running. Any other exception is a crash: the
    asker still receives it, and the supervisor restarts the actor from a clean state.
    """
