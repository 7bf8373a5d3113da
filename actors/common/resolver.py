"""What the lab service needs from the image side, as a protocol.

The lab service resolves a create request's image choice into a digest-pinned reference
without knowing who does it; the controller plugs in the image service's resolver
(``actors.images.resolver.ServiceResolver``). So labs never import the image service.
"""

from __future__ import annotations

from typing import Protocol

from .models import ResolvedImage
from .requests import LabRequestOptions

__all__ = ["ImageResolver"]


class ImageResolver(Protocol):
    """One image choice in, one pinned image out."""

    async def resolve(self, options: LabRequestOptions) -> ResolvedImage:
        """The image to run; raises ``InvalidDockerReferenceError``/``UnknownDockerImageError``."""
        ...
