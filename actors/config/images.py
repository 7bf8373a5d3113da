"""The ``images`` and ``dropdownMenu`` sections: where lab images come from, which ones are
prepulled onto nodes, and which remote images the spawn form's dropdown lists.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from .base import ConfigModel, discriminate, tag_name
from .units import Duration, PositiveDuration, SemVer, UtcDatetime

__all__ = [
    "DockerSource",
    "DropdownMenuConfig",
    "GARSource",
    "ImageFilter",
    "ImageSource",
    "ImagesConfig",
]


class DockerSource(ConfigModel):
    """Images from a registry speaking the Docker Registry v2 API."""

    type: Literal["docker"] = "docker"
    registry: str = Field("docker.io", min_length=1)
    repository: str = Field(min_length=1)
    ca_bundle_path: Path | None = None
    """PEM file of extra certificate authorities the registry's TLS certificate may chain to
    (a private CA); trusted in addition to the usual public ones (extension)."""


class GARSource(ConfigModel):
    """Images from Google Artifact Registry (needs ambient Google credentials)."""

    type: Literal["google"] = "google"
    location: str = Field(min_length=1)
    project_id: str = Field(min_length=1)
    repository: str = Field(min_length=1)
    image: str = Field(min_length=1)

    @property
    def registry(self) -> str:
        """The registry host serving this location."""
        return f"{self.location}-docker.pkg.dev"


def _source_tag(value: Any) -> str | None:
    return tag_name(value) if value in ("docker", "google") else None


ImageSource = Annotated[
    Annotated[DockerSource, Tag(tag_name("docker"))]
    | Annotated[GARSource, Tag(tag_name("google"))],
    Discriminator(
        discriminate("type", _source_tag),
        custom_error_type="invalid_image_source",
        custom_error_message="type must be docker or google",
    ),
]
"""The image source, selected by ``type``."""


class ImagesConfig(ConfigModel):
    """Image source, prepull policy and menu composition (section ``images``)."""

    source: ImageSource
    docker_credentials_path: Path | None = Path("/etc/secrets/.dockerconfigjson")
    refresh_interval: PositiveDuration = timedelta(minutes=5)
    prepull_timeout: PositiveDuration = timedelta(minutes=10)
    recommended_tag: str = Field("recommended", min_length=1)
    num_releases: int = Field(1, ge=0)
    num_weeklies: int = Field(2, ge=0)
    num_dailies: int = Field(3, ge=0)
    cycle: int | None = Field(None, ge=0)
    pin: list[str] = Field(default_factory=list)
    alias_tags: list[str] = Field(default_factory=list)


class ImageFilter(ConfigModel):
    """Which images of one type the dropdown keeps; every criterion set must hold.

    ``number: 0`` means "no limit", exactly like leaving it unset (kept for compatibility
    with upstream configurations). Use ``limit`` to read it with that rule applied.
    """

    number: int | None = Field(None, ge=0)
    age: Duration | None = None
    cutoff_date: UtcDatetime | None = None
    cutoff_build: int | None = None
    cutoff_version: SemVer | None = None

    @property
    def limit(self) -> int | None:
        """Maximum number of images to keep, or ``None`` for no limit (0 counts as none)."""
        return self.number or None


class DropdownMenuConfig(ConfigModel):
    """Per image type filters for the spawn form's dropdown (section ``dropdownMenu``)."""

    release: ImageFilter = Field(default_factory=ImageFilter)
    weekly: ImageFilter = Field(default_factory=ImageFilter)
    daily: ImageFilter = Field(default_factory=ImageFilter)
    release_candidate: ImageFilter = Field(default_factory=ImageFilter)
    experimental: ImageFilter = Field(default_factory=ImageFilter)
