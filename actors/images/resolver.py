"""Turning a create request's image choice into a digest-pinned reference (``api.md`` §5.3.4).

The lab service depends only on the ``ImageResolver`` protocol (``actors.common.resolver``).
The controller plugs in :class:`ServiceResolver`, which asks the ``images`` actor: by
reference (the spawn form's radio list or dropdown, or a bot's full reference), by image
class (``recommended``, ``latest-weekly``, ... — among the prepull set) and by bare tag.
Errors carry the location of the attribute that named the image, as the API wants.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.common.models import ResolvedImage
from actors.common.requests import LabRequestOptions

if TYPE_CHECKING:
    from .service import ImageService

__all__ = ["ServiceResolver"]


class ServiceResolver:
    """Resolves image choices with the image service (its catalog, then the registry)."""

    def __init__(self, service: ImageService) -> None:
        self._service = service

    async def resolve(self, options: LabRequestOptions) -> ResolvedImage:
        return await self._service.resolve(options)
