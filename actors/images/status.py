"""The image routes' reply models (``api.md`` §10), built by the image service.

``SpawnerImages`` is sent with null fields omitted at every level (§10.1);
``PrepullerStatus`` is sent with nulls (§10.2). The models carry no secrets: the
credentials path of the configuration is never echoed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from actors.config.images import DockerSource, GARSource, ImagesConfig

__all__ = [
    "DockerSourceStatus",
    "GoogleSourceStatus",
    "NodeImage",
    "NodeStatus",
    "PrepulledImage",
    "PrepullerImages",
    "PrepullerOptions",
    "PrepullerStatus",
    "SpawnerImages",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class PrepulledImage(_Model):
    """One image offered for spawning: ``digest`` is ``None`` for tags not yet resolved."""

    reference: str
    tag: str
    name: str
    digest: str | None = None
    aliases: list[str]
    prepulled: bool


class SpawnerImages(_Model):
    """``GET {prefix}/spawner/v1/images``."""

    recommended: PrepulledImage | None = None
    latest_weekly: PrepulledImage | None = None
    latest_daily: PrepulledImage | None = None
    latest_release: PrepulledImage | None = None
    all: list[PrepulledImage]


class DockerSourceStatus(_Model):
    type: Literal["docker"] = "docker"
    registry: str
    repository: str


class GoogleSourceStatus(_Model):
    type: Literal["google"] = "google"
    location: str
    project_id: str
    repository: str
    image: str


class PrepullerOptions(_Model):
    """The effective ``images`` configuration, durations in seconds."""

    source: DockerSourceStatus | GoogleSourceStatus
    refresh_interval: float
    prepull_timeout: float
    recommended_tag: str
    num_releases: int
    num_weeklies: int
    num_dailies: int
    cycle: int | None
    pin: list[str]
    alias_tags: list[str]

    @classmethod
    def from_config(cls, config: ImagesConfig) -> PrepullerOptions:
        source = config.source
        status: DockerSourceStatus | GoogleSourceStatus
        if isinstance(source, DockerSource):
            status = DockerSourceStatus(registry=source.registry, repository=source.repository)
        else:
            assert isinstance(source, GARSource)
            status = GoogleSourceStatus(
                location=source.location,
                project_id=source.project_id,
                repository=source.repository,
                image=source.image,
            )
        return cls(
            source=status,
            refresh_interval=config.refresh_interval.total_seconds(),
            prepull_timeout=config.prepull_timeout.total_seconds(),
            recommended_tag=config.recommended_tag,
            num_releases=config.num_releases,
            num_weeklies=config.num_weeklies,
            num_dailies=config.num_dailies,
            cycle=config.cycle,
            pin=list(config.pin),
            alias_tags=list(config.alias_tags),
        )


class NodeImage(_Model):
    """One prepull-set image and where it is (``missing``: eligible nodes lacking it)."""

    reference: str
    tag: str
    name: str
    digest: str | None
    size: int | None
    nodes: list[str]
    missing: list[str]


class PrepullerImages(_Model):
    prepulled: list[NodeImage]
    pending: list[NodeImage]


class NodeStatus(_Model):
    """One node matched by ``lab.nodeSelector``."""

    name: str
    eligible: bool
    comment: str | None
    cached: list[str]


class PrepullerStatus(_Model):
    """``GET {prefix}/spawner/v1/prepulls``."""

    config: PrepullerOptions
    images: PrepullerImages
    nodes: list[NodeStatus]
