"""What an alert says: which operation failed, for whom, why and when."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from actors.runtime import describe_error

__all__ = ["Alert", "AlertKey", "Operation", "error_text"]


class Operation:
    """The operation names alerts use (free text is allowed; these are the usual ones)."""

    SPAWN = "lab spawn"
    DELETE = "lab delete"
    FILESERVER_CREATE = "file server create"
    FILESERVER_DELETE = "file server delete"
    FSADMIN = "fsadmin"
    MIGRATION = "migration"
    PREPULL = "prepull"
    REQUEST = "request"
    ACTOR = "actor supervision"
    KUBERNETES = "kubernetes"


AlertKey = tuple[str, str]
"""What makes two alerts "the same": the operation and the error with its variable parts
(user names, numbers) blanked, so that a thousand spawns failing for one reason are one."""

_NUMBERS = re.compile(r"\d+(\.\d+)?")
_OBJECT_NAMES = re.compile(r"\b([A-Z][A-Za-z]+) [^\s:;]+ in [^\s:;]+:")
"""``Kind name in namespace:`` as Kubernetes errors name objects: which of a lab's objects a
refusal hit first depends on timing, not on the cause."""


@dataclass(frozen=True)
class Alert:
    """One failure worth telling an operator about. ``error`` is already redacted."""

    operation: str
    error: str
    user: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    resolved: bool = False
    """A problem alerted earlier is over (``error`` then says what it was)."""

    @property
    def key(self) -> AlertKey:
        error = self.error
        if self.user:
            error = error.replace(self.user, "<user>")
        error = _NUMBERS.sub("#", _OBJECT_NAMES.sub(r"\1:", error))
        # Concurrent steps that fail together are listed (``error_text``); which of them
        # failed before the others were cancelled is timing too.
        error = "; ".join(sorted(set(error.split("; "))))
        return (self.operation, ("resolved: " if self.resolved else "") + error)


def error_text(error: BaseException) -> str:
    """What an alert says about ``error``: its type, message and causes, one line each.

    Steps that run concurrently fail together (a lab's objects are created at once): each
    distinct failure of a group is named, sorted so that the same failures always read (and
    de-duplicate) the same, instead of the group's own "3 sub-exceptions".
    """
    if isinstance(error, BaseExceptionGroup):
        return "; ".join(sorted({error_text(inner) for inner in error.exceptions}))
    return describe_error(error)
