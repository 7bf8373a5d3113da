"""Errors raised while building a lab's objects.

They describe configuration or input problems, never secret values: messages name secrets,
keys and annotation keys only, so they are safe to log and to return to the hub.
"""

from __future__ import annotations

__all__ = [
    "FileKeyError",
    "LabBuildError",
    "MissingSecretError",
    "NamespaceAnnotationError",
    "UserIdentityError",
]


class LabBuildError(Exception):
    """The lab objects cannot be built from this configuration and request."""


class MissingSecretError(LabBuildError):
    """A source secret (or one of its keys) that the lab copies does not exist.

    ``key`` is ``None`` when the whole secret is missing.
    """

    def __init__(self, secret_name: str, key: str | None = None) -> None:
        self.secret_name = secret_name
        self.key = key
        if key is None:
            message = f"secret {secret_name} not found in the controller namespace"
        else:
            message = f"secret {secret_name} has no key {key}"
        super().__init__(message)


class NamespaceAnnotationError(LabBuildError, ValueError):
    """A ``lab.namespaceAnnotations`` value is not a template this controller supports."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"lab.namespaceAnnotations[{key}]: {problem}")


class FileKeyError(LabBuildError, ValueError):
    """``lab.files`` paths whose derived ConfigMap keys are invalid or collide (quirk Q11)."""


class UserIdentityError(LabBuildError):
    """The user record lacks the UID or primary GID every lab runs as."""
