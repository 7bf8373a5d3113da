"""Images and image collections: alias resolution, ordering and selection (images.md §3.5, §4).

An :class:`RSPImage` is a parsed tag bound to a registry, repository and (when known) a
digest, plus what the controller learns about it: size, aliases, alias target, nodes holding
it. The Docker source lists tags without digests; those become digest-less images, which
simply never take part in alias resolution or digest lookups.

An :class:`ImageCollection` owns its images. Invariants:

* one image per tag (adding a tag again replaces nothing: the first one stays);
* iteration is by type priority (§3.1), newest first within a type (§3.4);
* for each digest, the *primary* is the first non-alias image added with that digest; every
  Alias/Unknown image with the digest is resolved to it (type Alias, ``alias_target`` set,
  display name rebuilt), whenever it arrives;
* ``image.aliases`` holds every other tag of the collection sharing the image's digest,
  except its ``alias_target`` (so ``aliases | {alias_target}`` is "all other names");
* operations that derive a collection (``subset``, ``subtract``) copy the images and resolve
  aliases afresh within the new collection, so a derived collection never refers to tags it
  does not hold.

Collections are plain mutable objects meant to be owned by one actor; nothing here blocks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from actors.config.images import DropdownMenuConfig, ImageFilter

from .reference import DockerReference
from .tags import ImageType, RSPImageTag, SemanticVersion

__all__ = ["ImageCollection", "RSPImage"]


@dataclass(eq=False)
class RSPImage:
    """One tag of the source bound to its registry and repository (and digest when known).

    ``parsed`` is the tag as currently understood (possibly a resolved alias); ``source_tag``
    is the tag as originally parsed, which derived collections start again from.
    """

    parsed: RSPImageTag
    registry: str
    repository: str
    digest: str | None = None
    size: int | None = None
    aliases: set[str] = field(default_factory=set)
    alias_target: str | None = None
    nodes: set[str] = field(default_factory=set)
    source_tag: RSPImageTag = field(init=False)

    def __post_init__(self) -> None:
        self.source_tag = self.parsed

    @classmethod
    def from_tag(
        cls,
        tag: str,
        *,
        registry: str,
        repository: str,
        digest: str | None = None,
        size: int | None = None,
        aliases: frozenset[str] | set[str] = frozenset(),
    ) -> RSPImage:
        """Parse ``tag`` (``aliases`` are the tag names to treat as Alias tags) into an image."""
        return cls(RSPImageTag.parse(tag, aliases), registry, repository, digest, size)

    @property
    def tag(self) -> str:
        return self.parsed.tag

    @property
    def image_type(self) -> ImageType:
        return self.parsed.image_type

    @property
    def display_name(self) -> str:
        return self.parsed.display_name

    @property
    def reference(self) -> DockerReference:
        """``registry/repository:tag`` (no digest)."""
        return DockerReference(self.registry, self.repository, self.tag)

    @property
    def reference_with_digest(self) -> DockerReference:
        """``registry/repository:tag@digest``, or without digest when it is unknown."""
        return DockerReference(self.registry, self.repository, self.tag, self.digest)

    @property
    def is_resolved_alias(self) -> bool:
        return self.alias_target is not None

    @property
    def all_aliases(self) -> list[str]:
        """Sorted alias tags plus the alias target: the ``aliases`` of the status models."""
        names = set(self.aliases)
        if self.alias_target is not None:
            names.add(self.alias_target)
        return sorted(names)

    def copy_unresolved(self) -> RSPImage:
        """A fresh copy as first parsed: no alias links, same digest, size and nodes."""
        return RSPImage(
            self.source_tag,
            self.registry,
            self.repository,
            self.digest,
            self.size,
            nodes=set(self.nodes),
        )

    def _resolve_to(self, target: RSPImage) -> None:
        self.parsed = self.source_tag.resolved_to(target.parsed)
        self.alias_target = target.tag
        self.aliases.discard(target.tag)


def _sort_key(image: RSPImage) -> tuple[Any, ...]:
    return image.parsed.sort_key


class ImageCollection:
    """An ordered, alias-resolving set of images of one source (see module docstring)."""

    def __init__(self, images: Iterable[RSPImage] = (), *, cycle: int | None = None) -> None:
        self._cycle = cycle
        self._by_tag: dict[str, RSPImage] = {}
        self._by_digest: dict[str, list[RSPImage]] = {}
        self._primary: dict[str, RSPImage] = {}
        self._ordered: dict[ImageType, list[RSPImage]] | None = None
        self.add_all(images)

    # -- building --------------------------------------------------------------------------

    def add_all(self, images: Iterable[RSPImage]) -> None:
        """Add images in order (the cycle filter applies); see :meth:`add`."""
        for image in images:
            self.add(image)

    def add(self, image: RSPImage) -> bool:
        """Add one image, resolving aliases; False if filtered out by cycle or tag present."""
        if self._cycle is not None and image.source_tag.cycle != self._cycle:
            return False
        if image.tag in self._by_tag:
            return False
        self._by_tag[image.tag] = image
        self._ordered = None
        if image.digest is None:
            return True
        siblings = self._by_digest.setdefault(image.digest, [])
        for other in siblings:
            other.aliases.add(image.tag)
            image.aliases.add(other.tag)
        siblings.append(image)
        if not image.source_tag.is_possible_alias:
            if image.digest not in self._primary:
                self._primary[image.digest] = image
                for other in siblings:
                    if other.source_tag.is_possible_alias:
                        other._resolve_to(image)
        elif (primary := self._primary.get(image.digest)) is not None:
            image._resolve_to(primary)
        return True

    # -- lookups ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._by_tag)

    def __contains__(self, tag: object) -> bool:
        return tag in self._by_tag

    def image_for_tag(self, tag: str) -> RSPImage | None:
        return self._by_tag.get(tag)

    def image_for_digest(self, digest: str) -> RSPImage | None:
        """The primary (non-alias) image with ``digest``, else the first image carrying it."""
        primary = self._primary.get(digest)
        if primary is not None:
            return primary
        siblings = self._by_digest.get(digest)
        return siblings[0] if siblings else None

    def images_for_digest(self, digest: str) -> list[RSPImage]:
        """Every image with ``digest``, in insertion order."""
        return list(self._by_digest.get(digest, ()))

    def digests(self) -> set[str]:
        return set(self._by_digest)

    # -- iteration -------------------------------------------------------------------------

    def _by_type(self) -> dict[ImageType, list[RSPImage]]:
        if self._ordered is None:
            ordered: dict[ImageType, list[RSPImage]] = {t: [] for t in ImageType}
            for image in self._by_tag.values():
                ordered[image.image_type].append(image)
            for images in ordered.values():
                images.sort(key=_sort_key, reverse=True)
            self._ordered = ordered
        return self._ordered

    def images_of_type(
        self, image_type: ImageType, *, hide_arch_specific: bool = True
    ) -> Iterator[RSPImage]:
        """Images of one type, newest first."""
        for image in self._by_type()[image_type]:
            if hide_arch_specific and image.parsed.architecture_specific:
                continue
            yield image

    def all_images(
        self,
        *,
        hide_arch_specific: bool = True,
        hide_aliased: bool = False,
        hide_resolved_aliases: bool = False,
    ) -> Iterator[RSPImage]:
        """Every image in type priority order, newest first within a type (§4.1).

        ``hide_aliased`` (menu) skips images that a resolved alias in this collection points
        at; ``hide_resolved_aliases`` (prepuller status) skips aliases whose target is here.
        """
        targets = (
            {
                image.alias_target
                for image in self._by_type()[ImageType.ALIAS]
                if image.alias_target is not None
            }
            if hide_aliased
            else set()
        )
        for image_type in ImageType:
            for image in self.images_of_type(image_type, hide_arch_specific=hide_arch_specific):
                if image.tag in targets and image.image_type is not ImageType.ALIAS:
                    continue
                if hide_resolved_aliases and image.alias_target in self._by_tag:
                    continue
                yield image

    def latest(self, image_type: ImageType) -> RSPImage | None:
        """The newest image of a type, architecture-specific images not considered (§4.3)."""
        return next(self.images_of_type(image_type), None)

    # -- derived collections ---------------------------------------------------------------

    def subset(
        self,
        *,
        releases: int = 0,
        weeklies: int = 0,
        dailies: int = 0,
        include: Iterable[str] = (),
    ) -> ImageCollection:
        """The prepull selection (§4.2): newest R releases, W weeklies, D dailies (generic
        images only) plus every tag of ``include`` present here (even arch-specific ones)."""
        chosen: dict[str, RSPImage] = {}
        for image_type, count in (
            (ImageType.RELEASE, releases),
            (ImageType.WEEKLY, weeklies),
            (ImageType.DAILY, dailies),
        ):
            for image, _ in zip(self.images_of_type(image_type), range(count), strict=False):
                chosen[image.tag] = image
        for tag in include:
            if (wanted := self._by_tag.get(tag)) is not None:
                chosen[tag] = wanted
        return self._derive(chosen.values())

    def subtract(self, other: ImageCollection) -> ImageCollection:
        """One image per digest of this collection (the primary where there is one) whose
        digest ``other`` lacks (§4.5). Digest-less images cannot be pulled and are left out."""
        have = other.digests()
        wanted = []
        for digest in self._by_digest:
            if digest not in have:
                image = self.image_for_digest(digest)
                if image is not None:
                    wanted.append(image)
        return self._derive(wanted)

    def _derive(self, images: Iterable[RSPImage]) -> ImageCollection:
        # Insertion order matters for "first primary wins": keep this collection's order.
        keep = {image.tag for image in images}
        return ImageCollection(
            image.copy_unresolved() for image in self._by_tag.values() if image.tag in keep
        )

    def filter(self, policy: DropdownMenuConfig, now: datetime) -> list[RSPImage]:
        """The dropdown selection (§4.6): per type newest first, generic images only, each
        type's :class:`ImageFilter` applied (Alias and Unknown are never filtered)."""
        filters = {
            ImageType.RELEASE: policy.release,
            ImageType.WEEKLY: policy.weekly,
            ImageType.DAILY: policy.daily,
            ImageType.CANDIDATE: policy.release_candidate,
            ImageType.EXPERIMENTAL: policy.experimental,
        }
        result: list[RSPImage] = []
        for image_type in ImageType:
            images = self.images_of_type(image_type)
            image_filter = filters.get(image_type)
            if image_filter is None:
                result.extend(images)
            else:
                result.extend(_apply_filter(images, image_filter, now))
        return result

    # -- node presence ---------------------------------------------------------------------

    def record_on_node(self, digest: str, node: str, size: int | None = None) -> None:
        """Note that ``node`` holds ``digest`` (every tag of it); record ``size`` if given."""
        for image in self._by_digest.get(digest, ()):
            image.nodes.add(node)
            if size is not None:
                image.size = size


def _date_cutoff(image_filter: ImageFilter, now: datetime) -> datetime | None:
    """``now - age`` or ``cutoffDate``, whichever is later; None when neither is set."""
    cutoffs = [c for c in (image_filter.cutoff_date,) if c is not None]
    if image_filter.age is not None:
        cutoffs.append(now - image_filter.age)
    return max(cutoffs, default=None)


def _apply_filter(
    images: Iterable[RSPImage], image_filter: ImageFilter, now: datetime
) -> Iterator[RSPImage]:
    date_cutoff = _date_cutoff(image_filter, now)
    version_cutoff = (
        None
        if image_filter.cutoff_version is None
        else SemanticVersion.parse(image_filter.cutoff_version)
    )
    limit = image_filter.limit
    accepted = 0
    for image in images:
        tag = image.parsed
        cutoff_build = image_filter.cutoff_build
        if cutoff_build is not None and tag.build is not None and tag.build < cutoff_build:
            continue
        if date_cutoff is not None and tag.date is not None and tag.date < date_cutoff:
            continue
        version = tag.version if tag.semantic else None
        if version_cutoff is not None and version is not None and version < version_cutoff:
            continue
        if limit is not None and accepted >= limit:
            return
        accepted += 1
        yield image
