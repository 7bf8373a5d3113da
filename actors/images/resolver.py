"""Turning a create request's image choice into a digest-pinned reference (``api.md`` §5.3.4).

This resolver asks the image source directly: by reference (the spawn form's radio list or
dropdown, or a bot's full reference) and by bare tag. Resolution by image class needs the
prepull set, which the image service maintains; without it, every class resolves to "no such
image". Errors carry the location of the attribute that named the image, as the API wants.
"""

from __future__ import annotations

from typing import Protocol

from actors.errors import InvalidDockerReferenceError, UnknownDockerImageError
from actors.labs.models import ResolvedImage
from actors.labs.requests import LabRequestOptions

from .errors import UnknownTagError
from .reference import DockerReference, InvalidDockerReference
from .source import ImageSource
from .tags import RSPImageTag

__all__ = ["ImageResolver", "SourceResolver"]


class ImageResolver(Protocol):
    """What the lab service needs from the image side: one choice in, one pinned image out."""

    async def resolve(self, options: LabRequestOptions) -> ResolvedImage:
        """The image to run; raises ``InvalidDockerReferenceError``/``UnknownDockerImageError``."""
        ...


class SourceResolver:
    """Resolves references and tags against the configured image source."""

    def __init__(self, source: ImageSource) -> None:
        self._source = source

    async def resolve(self, options: LabRequestOptions) -> ResolvedImage:
        attribute = options.image_attribute
        loc = ["body", "options", attribute]
        if options.image_list is not None or options.image_dropdown is not None:
            text = options.image_list or options.image_dropdown or ""
            return await self._by_reference(text, loc)
        if options.image_tag is not None:
            return await self._by_tag(options.image_tag, loc)
        assert options.image_class is not None
        raise UnknownDockerImageError(f"No {options.image_class.value} image found", loc=loc)

    async def _by_reference(self, text: str, loc: list[str]) -> ResolvedImage:
        try:
            reference = DockerReference.parse(text)
        except InvalidDockerReference:
            raise InvalidDockerReferenceError(
                f'Docker reference "{text}" is not valid', loc=loc
            ) from None
        source = self._source
        if reference.registry != source.registry or reference.repository != source.repository:
            raise UnknownDockerImageError(f'Docker reference "{text}" not found', loc=loc)
        if reference.tag is None:
            raise InvalidDockerReferenceError(f'Docker reference "{text}" has no tag', loc=loc)
        try:
            digest = await source.resolve_tag(reference.tag)
        except UnknownTagError:
            raise UnknownDockerImageError(f'Docker reference "{text}" not found', loc=loc) from None
        if reference.digest is not None and reference.digest != digest:
            # The tag moved since the form was drawn; run what the user chose.
            digest = reference.digest
        return self._pinned(reference.tag, digest)

    async def _by_tag(self, tag: str, loc: list[str]) -> ResolvedImage:
        try:
            digest = await self._source.resolve_tag(tag)
        except UnknownTagError:
            raise UnknownDockerImageError(f'Docker tag "{tag}" not found', loc=loc) from None
        return self._pinned(tag, digest)

    def _pinned(self, tag: str, digest: str) -> ResolvedImage:
        source = self._source
        reference = f"{source.registry}/{source.repository}:{tag}@{digest}"
        return ResolvedImage(
            reference=reference,
            digest=digest,
            description=RSPImageTag.parse(tag).display_name,
        )
