"""The controller's refusals (``api.md`` §3.2), raised by actors and rendered by the web layer.

Each class names a machine-readable ``error_type`` that clients branch on and the HTTP
``status`` it is answered with, side by side, so that adding a refusal is adding one class
(the web layer only reads ``error.status``; it keeps no table of its own). They are
:class:`DomainError` subclasses: an actor that raises one has refused a request and is still
healthy. ``loc`` says where in the request the problem is (``["body", "options", "size"]``)
and is ``None`` when there is no location.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from actors.runtime import DomainError

__all__ = [
    "ControllerError",
    "DeleteFailedError",
    "FileServerCreateFailedError",
    "FileServerDeleteFailedError",
    "InsufficientQuotaError",
    "InvalidDockerReferenceError",
    "InvalidLabSizeError",
    "InvalidPodPhaseError",
    "InvalidTokenError",
    "LabExistsError",
    "LeaderChangedError",
    "NotConfiguredError",
    "OperationConflictError",
    "PermissionDeniedError",
    "PodNotFoundError",
    "UnknownDockerImageError",
    "UnknownUserError",
    "failure_text",
]


def failure_text(error: BaseException) -> str:
    """Text of a failure for users (events, error bodies): its own message, no traceback.

    Steps that run concurrently (a lab's objects are created at once) can fail together: when
    a second failure arrives before the first has cancelled its siblings, the nursery raises
    a group of several errors. Each distinct failure is named, never the group's own text
    ("Exceptions from Trio nursery (2 sub-exceptions)"), which tells the user nothing.
    """
    if isinstance(error, ControllerError):
        return error.msg
    if isinstance(error, BaseExceptionGroup):
        return "; ".join(dict.fromkeys(failure_text(inner) for inner in error.exceptions))
    return str(error) or type(error).__name__


class ControllerError(DomainError):
    """A refusal with a §3.2 error type, a message for people and an optional location."""

    error_type: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500
    """The HTTP status of the response; a server error unless the subclass says otherwise."""
    default_message: ClassVar[str] = "Internal Server Error"

    def __init__(self, msg: str | None = None, *, loc: Sequence[str | int] | None = None) -> None:
        self.msg = msg if msg is not None else self.default_message
        self.loc = list(loc) if loc is not None else None
        super().__init__(self.msg)


class InsufficientQuotaError(ControllerError):
    """The user's notebook quota forbids the requested lab size."""

    error_type = "insufficient_quota"
    status = 403
    default_message = "Insufficient quota to spawn requested lab"


class InvalidDockerReferenceError(ControllerError):
    """A Docker reference without a tag, or one that cannot be parsed."""

    error_type = "invalid_docker_reference"
    status = 422


class InvalidLabSizeError(ControllerError):
    """A size that is a valid word but not configured here."""

    error_type = "invalid_lab_size"
    status = 422


class InvalidPodPhaseError(ControllerError):
    """The pod exists but is not ``Running``."""

    error_type = "invalid_phase"
    status = 404


class InvalidTokenError(ControllerError):
    """Gafaelfawr rejected the caller's token."""

    error_type = "invalid_token"
    status = 401
    default_message = "User token is invalid"


class LabExistsError(ControllerError):
    """The user already has a live lab."""

    error_type = "lab_exists"
    status = 409


class OperationConflictError(ControllerError):
    """Another operation on the same lab is in progress."""

    error_type = "operation_in_progress"
    status = 409


class LeaderChangedError(ControllerError):
    """This replica stopped leading while the request was in progress (a hand-off, or a
    lost lease): the web layer sends the request on to the new leader."""

    error_type = "leader_changed"
    status = 503
    default_message = "The controller replica handling this request stopped leading; retry"


class NotConfiguredError(ControllerError):
    """The feature is disabled in the configuration."""

    error_type = "not_supported"
    status = 404


class PermissionDeniedError(ControllerError):
    """The caller may not act on this resource."""

    error_type = "permission_denied"
    status = 403
    default_message = "Permission denied"


class PodNotFoundError(ControllerError):
    """The pod does not exist."""

    error_type = "not_found"
    status = 404


class UnknownDockerImageError(ControllerError):
    """No image matches the request."""

    error_type = "unknown_image"
    status = 400


class UnknownUserError(ControllerError):
    """The controller holds no resource for this user."""

    error_type = "unknown_user"
    status = 404


class DeleteFailedError(ControllerError):
    """Deleting a lab failed."""

    error_type = "delete_failed"
    status = 500
    default_message = "Failed to delete lab"


class FileServerCreateFailedError(ControllerError):
    """Creating a file server failed."""

    error_type = "file_server_create_failed"
    status = 500
    default_message = "Failed to create file server"


class FileServerDeleteFailedError(ControllerError):
    """Deleting a file server failed."""

    error_type = "file_server_delete_failed"
    status = 500
    default_message = "Failed to delete file server"
