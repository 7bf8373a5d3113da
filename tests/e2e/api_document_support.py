"""Comparing the app's routes with the API document it serves."""

from __future__ import annotations

import re
from typing import Any

from quart_trio import QuartTrio

__all__ = ["IGNORED_METHODS", "app_routes", "document_routes", "openapi_path"]

IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
"""Methods werkzeug adds to every route by itself (HEAD answers as GET without a body)."""

_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def openapi_path(rule: str) -> str:
    """A werkzeug rule (``/labs/<username>``, ``<path:name>``) in OpenAPI form."""
    return _CONVERTER.sub(r"{\1}", rule)


def app_routes(app: QuartTrio) -> tuple[set[tuple[str, str]], set[str]]:
    """(path, method) of every HTTP route, and the path of every WebSocket route."""
    http: set[tuple[str, str]] = set()
    sockets: set[str] = set()
    for rule in app.url_map.iter_rules():
        path = openapi_path(rule.rule)
        if rule.websocket:
            sockets.add(path)
            continue
        for method in set(rule.methods or ()) - IGNORED_METHODS:
            http.add((path, method))
    return http, sockets


def document_routes(document: dict[str, Any]) -> tuple[set[tuple[str, str]], set[str]]:
    """The same two sets, from the API document."""
    http = {
        (path, method.upper()) for path, methods in document["paths"].items() for method in methods
    }
    sockets = {entry["path"] for entry in document["x-websockets"]}
    return http, sockets


def documented_statuses(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(method, path, status) of every explicitly documented answer (not ``default``)."""
    return {
        (method.upper(), path, status)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        for status in operation["responses"]
        if status != "default"
    }
