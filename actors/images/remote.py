"""What an image source reports: its tags, with digests and sizes where the source knows them.

The Docker source lists tags only (digests cost one request each, so they are fetched for
the prepull set alone); Google Artifact Registry reports digests and sizes for everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .collection import ImageCollection, RSPImage

__all__ = ["RemoteImage", "RemoteImages"]


@dataclass(frozen=True, slots=True)
class RemoteImage:
    """One tag of the source; ``digest``/``size`` are ``None`` when the listing lacks them."""

    tag: str
    digest: str | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class RemoteImages:
    """Everything the source lists, with the registry and repository images are pulled from."""

    registry: str
    repository: str
    images: tuple[RemoteImage, ...]

    @property
    def tags(self) -> set[str]:
        return {image.tag for image in self.images}

    def to_collection(
        self, *, aliases: Iterable[str] = (), cycle: int | None = None
    ) -> ImageCollection:
        """Parse every tag (``aliases`` become Alias tags) into a collection, cycle-filtered."""
        alias_set = frozenset(aliases)
        return ImageCollection(
            (
                RSPImage.from_tag(
                    image.tag,
                    registry=self.registry,
                    repository=self.repository,
                    digest=image.digest,
                    size=image.size,
                    aliases=alias_set,
                )
                for image in self.images
            ),
            cycle=cycle,
        )
