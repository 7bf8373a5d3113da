"""Models of response bodies that the routes build from these models, and of error bodies.

Request bodies and most responses already have models where they are validated or built
(``LabSpecification``, ``LabState``, ``SpawnerImages`` ...); these are the rest.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from web.metadata import Metadata

__all__ = [
    "ErrorBody",
    "ErrorItem",
    "FSAdminStarted",
    "FileServerRunning",
    "FrameworkError",
    "IndexBody",
    "MigrationStatusBody",
]


class ErrorItem(BaseModel):
    """One problem: where (``loc``, omitted when there is no location), what and its type.

    Validation errors add pydantic's ``input`` and ``ctx``."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int] | None = Field(
        default=None, description='Where the problem is: `["body", "options", ...]`'
    )
    msg: str
    type: str = Field(description="Machine-readable error type, e.g. `unknown_user`")


class ErrorBody(BaseModel):
    """Controller and validation errors."""

    detail: list[ErrorItem]


class FrameworkError(BaseModel):
    """Unknown routes (404) and wrong methods (405)."""

    detail: Literal["Not Found", "Method Not Allowed"]


class IndexBody(BaseModel):
    """``GET {prefix}``."""

    metadata: Metadata


class FileServerRunning(BaseModel):
    """A file server that is running."""

    running: Literal[True]


class FSAdminStarted(BaseModel):
    """When the running fsadmin pod started (UTC, ``Z`` suffix)."""

    start_time: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


class MigrationStatusBody(BaseModel):
    """A migration: running while ``exit_code`` and ``end_time`` are null."""

    old_user: str
    new_user: str
    start_time: str | None
    end_time: str | None
    running: bool
    exit_code: int | None
