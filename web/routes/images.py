"""Image and prepuller routes of ``api.md`` §10 (admin, read-only).

Both answer from the image service's in-memory catalog (refreshed every
``images.refreshInterval``): no registry or Kubernetes call happens on a request.
"""

from __future__ import annotations

from quart import Blueprint, Response

from actors.images.service import ImageService
from web.auth import RouteGroup, require_group
from web.state import current_state

__all__ = ["image_routes"]

image_routes = Blueprint("images", __name__)
"""Registered with ``url_prefix=config.path_prefix`` when there is an image service."""


def image_service() -> ImageService:
    """The image service of the serving app (these routes exist only when it does)."""
    service = current_state().images
    assert service is not None
    return service


def _json(text: str) -> Response:
    return Response(text, status=200, content_type="application/json")


@image_routes.get("/spawner/v1/images")
async def get_images() -> Response:
    """Images available for spawning (§10.1); null fields are omitted at every level."""
    await require_group(RouteGroup.ADMIN)
    images = await image_service().spawner_images()
    return _json(images.model_dump_json(exclude_none=True))


@image_routes.get("/spawner/v1/prepulls")
async def get_prepulls() -> Response:
    """Prepuller status (§10.2); nulls are emitted."""
    await require_group(RouteGroup.ADMIN)
    status = await image_service().prepuller_status()
    return _json(status.model_dump_json())
