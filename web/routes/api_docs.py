"""``{prefix}/openapi.json`` and ``{prefix}/docs``: the API document and its HTML page.

Anonymous, as docs/auth.md lists them. The document is built once per app, on first use,
for the app's configuration and services (``web.openapi``).
"""

from __future__ import annotations

import json
from typing import Any

from quart import Blueprint, Response, current_app

from web.openapi.document import openapi_document
from web.openapi.page import render_page
from web.state import current_state

__all__ = ["api_docs", "app_services"]

api_docs = Blueprint("api_docs", __name__)
"""Registered with ``url_prefix=config.path_prefix``."""

_CACHE_KEY = "nublado_openapi"


def app_services() -> frozenset[str]:
    """The optional services the serving app has (they decide which routes exist)."""
    state = current_state()
    present = {
        "labs": state.labs,
        "images": state.images,
        "fsadmin": state.fsadmin,
        "migrator": state.migrator,
        "fileservers": state.fileservers,
    }
    return frozenset(name for name, service in present.items() if service is not None)


def _document() -> dict[str, Any]:
    cached = current_app.extensions.get(_CACHE_KEY)
    if cached is None:
        state = current_state()
        cached = openapi_document(state.config, app_services(), version=state.metadata.version)
        current_app.extensions[_CACHE_KEY] = cached
    document: dict[str, Any] = cached
    return document


@api_docs.get("/openapi.json")
async def get_openapi() -> Response:
    return Response(json.dumps(_document()), status=200, content_type="application/json")


@api_docs.get("/docs")
async def get_docs() -> Response:
    url = f"{current_state().config.path_prefix}/openapi.json"
    page = render_page(_document(), url)
    return Response(page, status=200, content_type="text/html; charset=utf-8")
