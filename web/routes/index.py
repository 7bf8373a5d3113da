"""Index routes (api.md §11): the internal health check and the external metadata."""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from web.auth import RouteGroup, require_group
from web.openapi.models import IndexBody
from web.state import current_state

__all__ = ["health", "prefixed"]

health = Blueprint("health", __name__)
"""Root ``GET /``: not prefixed; the cluster's health checks call it."""

prefixed = Blueprint("index", __name__)
"""``GET {prefix}``: registered with ``url_prefix=config.path_prefix``."""


@health.get("/")
async def get_health() -> dict[str, Any]:
    """200 with the package metadata (§11.1)."""
    return current_state().metadata.to_json()


@prefixed.get("")
async def get_index() -> dict[str, Any]:
    """200 ``{"metadata": ...}`` (§11.2). Admin group; the root health route stays open."""
    await require_group(RouteGroup.ADMIN)
    return IndexBody(metadata=current_state().metadata).model_dump(mode="json", exclude_none=True)
