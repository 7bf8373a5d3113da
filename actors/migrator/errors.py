"""Refusals of the migrator (``api.md`` §12.3), each with its own HTTP status.

The statuses are not in the shared §3.2 table (the migrator is a proposal); each class
carries its ``status``, as every controller error does, and the web layer's one
controller-error handler renders it.
"""

from __future__ import annotations

from actors.errors import ControllerError

__all__ = [
    "CopyFailedError",
    "CopyPermissionFailedError",
    "MigrationConflictError",
    "MigrationFailedError",
    "MigratorError",
    "NoSourceDirectoryError",
    "NoTargetDirectoryError",
    "refusal_for_exit_code",
]


class MigratorError(ControllerError):
    """Base of migrator refusals; a bare one is a failed migration, like exit code 3."""

    error_type = "migration_failed"
    status = 500


class NoSourceDirectoryError(MigratorError):
    error_type = "no_source_directory"
    status = 404


class NoTargetDirectoryError(MigratorError):
    error_type = "no_target_directory"
    status = 404


class CopyFailedError(MigratorError):
    error_type = "copy_failed"
    status = 406


class CopyPermissionFailedError(MigratorError):
    error_type = "copy_permission_failed"
    status = 403


class MigrationConflictError(MigratorError):
    """The reverse migration is running."""

    error_type = "operation_in_progress"
    status = 409


class MigrationFailedError(MigratorError):
    """Exit code 3 (unknown error) or any other unexpected code, or an inconsistent pod."""

    error_type = "migration_failed"
    status = 500


def refusal_for_exit_code(old_user: str, new_user: str, code: int) -> MigratorError | None:
    """The refusal a finished copy's exit code means (``None`` for success)."""
    pair = f"{old_user} -> {new_user}"
    match code:
        case 0:
            return None
        case 4:
            return NoSourceDirectoryError(old_user)
        case 5:
            return NoTargetDirectoryError(new_user)
        case 6:
            return CopyFailedError(pair)
        case 7:
            return CopyPermissionFailedError(pair)
    return MigrationFailedError(f"Migration {pair} failed with exit code {code}")
