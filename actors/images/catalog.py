"""One refresh's view of the images: what the source offers, what is prepulled, and where.

An :class:`ImageCatalog` is built by :func:`actors.images.refresh.build_catalog` and owned by
the ``images`` actor, which answers every query from it (no registry call on the query path,
except the digest of a tag outside the prepull set, which the caller fetches itself).

Invariants:

* ``known`` holds every remote tag (cycle-filtered, architecture-specific ones included).
  Digests are present for the prepull set (Docker: one ``HEAD`` each) or for everything
  (Artifact Registry); only images with digests take part in alias resolution, so an alias
  is resolved exactly when it and its target are "resolved images" (images.md §2.3).
* ``prepull`` is ``known.subset(...)`` (§7.1): its own copies, aliases resolved within it.
* Node presence is recorded on both collections, by digest, for every listed node; only
  *eligible* nodes count for "prepulled" and "missing".
* ``tags_known`` is false until a listing has succeeded: then tags cannot be checked against
  the tag list, and a Docker lookup falls back to asking the registry for the tag's digest.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from actors.common.models import ImageClass, ResolvedImage
from actors.config.images import DropdownMenuConfig, ImagesConfig
from actors.errors import InvalidDockerReferenceError, UnknownDockerImageError

from .collection import ImageCollection, RSPImage
from .nodes import NodeImages
from .reference import DockerReference, InvalidDockerReference
from .status import (
    NodeImage,
    NodeStatus,
    PrepulledImage,
    PrepullerImages,
    PrepullerOptions,
    PrepullerStatus,
    SpawnerImages,
)
from .tags import ImageType, RSPImageTag

__all__ = ["ImageCatalog", "MenuEntry", "NeedsDigest", "PrepullTarget", "Resolution"]


@dataclass(frozen=True)
class MenuEntry:
    """One choice of the spawn form: the value to submit and the label to show."""

    reference: str
    display_name: str


@dataclass(frozen=True)
class PrepullTarget:
    """One image to pull onto a node: the digest-pinned reference and its tag."""

    tag: str
    digest: str
    reference: str


@dataclass(frozen=True)
class NeedsDigest:
    """A known tag without a digest yet: the caller asks the source for it (not cached)."""

    tag: str
    registry: str
    repository: str
    description: str

    def pinned(self, digest: str) -> ResolvedImage:
        return ResolvedImage(
            reference=f"{self.registry}/{self.repository}:{self.tag}@{digest}",
            digest=digest,
            description=self.description,
        )


Resolution = ResolvedImage | NeedsDigest

_CLASS_TYPES = {
    ImageClass.LATEST_RELEASE: ImageType.RELEASE,
    ImageClass.LATEST_WEEKLY: ImageType.WEEKLY,
    ImageClass.LATEST_DAILY: ImageType.DAILY,
}


def _resolved(image: RSPImage) -> ResolvedImage:
    assert image.digest is not None
    return ResolvedImage(
        reference=str(image.reference_with_digest),
        digest=image.digest,
        description=image.display_name,
    )


class ImageCatalog:
    """Remote images, the prepull set and the node image cache (see module docstring)."""

    def __init__(
        self,
        *,
        registry: str,
        repository: str,
        known: ImageCollection,
        prepull: ImageCollection,
        nodes: Sequence[NodeImages],
        recommended_tag: str,
        aliases: frozenset[str],
        digests_complete: bool,
        tags_known: bool = True,
    ) -> None:
        self.registry = registry
        self.repository = repository
        self.known = known
        self.prepull = prepull
        self.nodes = {node.name: node for node in nodes}
        self.recommended_tag = recommended_tag
        self.aliases = aliases
        self.digests_complete = digests_complete
        self.tags_known = tags_known
        for node in nodes:
            for digest, size in node.digests.items():
                self._record(digest, node.name, size)

    @classmethod
    def empty(cls, config: ImagesConfig, *, registry: str, repository: str) -> ImageCatalog:
        """What the service knows before its first successful refresh: nothing."""
        return cls(
            registry=registry,
            repository=repository,
            known=ImageCollection(),
            prepull=ImageCollection(),
            nodes=(),
            recommended_tag=config.recommended_tag,
            aliases=frozenset({config.recommended_tag, *config.alias_tags}),
            digests_complete=False,
            tags_known=False,
        )

    # -- node presence ---------------------------------------------------------------------

    def _record(self, digest: str, node: str, size: int | None) -> None:
        for collection in (self.known, self.prepull):
            holders = collection.images_for_digest(digest)
            known_size = any(image.size is not None for image in holders)
            collection.record_on_node(digest, node, None if known_size else size)

    def record_pulled(self, digest: str, node: str) -> None:
        """Note a successful prepull so the menu updates before the next refresh (§7.2)."""
        if node in self.nodes:
            self.nodes[node].digests.setdefault(digest, None)
        self._record(digest, node, None)

    @property
    def eligible_nodes(self) -> list[str]:
        return sorted(name for name, node in self.nodes.items() if node.eligible)

    def is_prepulled(self, image: RSPImage) -> bool:
        """Present on every eligible node (vacuously true when none is eligible)."""
        return all(name in image.nodes for name in self.eligible_nodes)

    def missing_on(self, node: str) -> list[PrepullTarget]:
        """Prepull-set images ``node`` lacks: one per digest (the primary), collection order."""
        seen: set[str] = set()
        targets: list[PrepullTarget] = []
        for image in self.prepull.all_images(hide_arch_specific=False):
            digest = image.digest
            if digest is None or digest in seen:
                continue
            seen.add(digest)
            primary = self.prepull.image_for_digest(digest) or image
            if node not in primary.nodes:
                reference = str(primary.reference_with_digest)
                targets.append(PrepullTarget(primary.tag, digest, reference))
        return targets

    def prepull_plan(self) -> dict[str, list[PrepullTarget]]:
        """For every eligible node, what to pull there (nodes with nothing to pull omitted)."""
        plan = {node: self.missing_on(node) for node in self.eligible_nodes}
        return {node: targets for node, targets in plan.items() if targets}

    # -- spawn form ------------------------------------------------------------------------

    def menu(self) -> list[MenuEntry]:
        """Radio choices (§9.1): recommended first, then fully prepulled images."""
        entries: list[MenuEntry] = []
        recommended = self.prepull.image_for_tag(self.recommended_tag)
        if recommended is not None and recommended.digest is not None:
            entries.append(self._entry(recommended))
        for image in self.prepull.all_images(hide_aliased=True):
            if image is recommended or image.digest is None:
                continue
            if self.is_prepulled(image):
                entries.append(self._entry(image))
        return entries

    def dropdown(self, policy: DropdownMenuConfig, now: datetime) -> list[MenuEntry]:
        """Select choices (§9.2): every remote image passing the dropdown policy."""
        return [self._entry(image) for image in self.known.filter(policy, now)]

    @staticmethod
    def _entry(image: RSPImage) -> MenuEntry:
        return MenuEntry(str(image.reference_with_digest), image.display_name)

    # -- status models ---------------------------------------------------------------------

    def _prepulled_image(self, image: RSPImage | None) -> PrepulledImage | None:
        if image is None:
            return None
        return PrepulledImage(
            reference=str(image.reference),
            tag=image.tag,
            name=image.display_name,
            digest=image.digest,
            aliases=image.all_aliases,
            prepulled=image.digest is not None and self.is_prepulled(image),
        )

    def spawner_images(self) -> SpawnerImages:
        """``api.md`` §10.1."""
        prepull = self.prepull
        every = [self._prepulled_image(image) for image in self.known.all_images()]
        return SpawnerImages(
            recommended=self._prepulled_image(prepull.image_for_tag(self.recommended_tag)),
            latest_weekly=self._prepulled_image(prepull.latest(ImageType.WEEKLY)),
            latest_daily=self._prepulled_image(prepull.latest(ImageType.DAILY)),
            latest_release=self._prepulled_image(prepull.latest(ImageType.RELEASE)),
            all=[image for image in every if image is not None],
        )

    def _status_images(self) -> Iterator[RSPImage]:
        return self.prepull.all_images(hide_resolved_aliases=True)

    def prepuller_status(self, options: PrepullerOptions) -> PrepullerStatus:
        """``api.md`` §10.2."""
        eligible = self.eligible_nodes
        prepulled: list[NodeImage] = []
        pending: list[NodeImage] = []
        for image in self._status_images():
            missing = sorted(node for node in eligible if node not in image.nodes)
            entry = NodeImage(
                reference=str(image.reference),
                tag=image.tag,
                name=image.display_name,
                digest=image.digest,
                size=image.size,
                nodes=sorted(image.nodes & set(self.nodes)),
                missing=missing,
            )
            (pending if missing else prepulled).append(entry)
        nodes = [
            NodeStatus(
                name=node.name,
                eligible=node.eligible,
                comment=node.comment,
                cached=[
                    str(image.reference)
                    for image in self._status_images()
                    if node.name in image.nodes
                ],
            )
            for node in sorted(self.nodes.values(), key=lambda n: n.name)
        ]
        return PrepullerStatus(
            config=options,
            images=PrepullerImages(prepulled=prepulled, pending=pending),
            nodes=nodes,
        )

    # -- resolution (api.md §5.3.4, images.md §10) ------------------------------------------

    def by_class(self, image_class: ImageClass, loc: list[str]) -> ResolvedImage:
        """The prepull-set image of a class; 400 ``unknown_image`` when there is none."""
        if image_class is ImageClass.RECOMMENDED:
            image = self.prepull.image_for_tag(self.recommended_tag)
        else:
            image = self.prepull.latest(_CLASS_TYPES[image_class])
        if image is None or image.digest is None:
            raise UnknownDockerImageError(f"No {image_class.value} image found", loc=loc)
        return _resolved(image)

    def by_reference(self, text: str, loc: list[str]) -> Resolution:
        """Resolve ``registry/repository[:tag][@digest]`` against the source's images."""
        try:
            reference = DockerReference.parse(text)
        except InvalidDockerReference:
            raise InvalidDockerReferenceError(
                f'Docker reference "{text}" is not valid', loc=loc
            ) from None
        not_found = UnknownDockerImageError(f'Docker reference "{text}" not found', loc=loc)
        if reference.registry != self.registry or reference.repository != self.repository:
            raise not_found
        if reference.digest is not None:
            image = self.known.image_for_digest(reference.digest)
            if image is not None:
                return _resolved(image)
            if self.digests_complete and self.tags_known:
                raise not_found
        if reference.tag is None:
            raise InvalidDockerReferenceError(f'Docker reference "{text}" has no tag', loc=loc)
        image = self.known.image_for_tag(reference.tag)
        if image is not None and image.digest is not None:
            return _resolved(image)
        if self.tags_known and (image is None or self.digests_complete):
            raise not_found
        pending = self._needs_digest(reference.tag)
        if reference.digest is not None:
            return pending.pinned(reference.digest)
        return pending

    def by_tag(self, tag: str, loc: list[str]) -> Resolution:
        """Resolve a bare tag: a resolved image, else (Docker) a listed tag to look up."""
        image = self.known.image_for_tag(tag)
        if image is not None and image.digest is not None:
            return _resolved(image)
        if self.tags_known and (image is None or self.digests_complete):
            raise UnknownDockerImageError(f'Docker tag "{tag}" not found', loc=loc)
        return self._needs_digest(tag)

    def _needs_digest(self, tag: str) -> NeedsDigest:
        known = self.known.image_for_tag(tag)
        description = (
            known.display_name
            if known is not None
            else RSPImageTag.parse(tag, self.aliases).display_name
        )
        return NeedsDigest(tag, self.registry, self.repository, description)
