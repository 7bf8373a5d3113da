"""A fake Repertoire: the service-discovery document of a simulated site.

Served under ``/repertoire`` (the path Phalanx gives Repertoire; clients are configured with
``REPERTOIRE_BASE_URL=<site>/repertoire``):

- ``GET /repertoire/discovery``: the whole discovery document as JSON — ``applications``,
  ``environment_name``, ``datasets`` (``butler_config``, ``description``, ``docs_url`` and
  per-dataset data ``services`` with ``url``, ``openapi`` and ``versions``),
  ``influxdb_databases`` and ``services`` (``internal``, ``ui``). Unauthenticated, as
  Repertoire's discovery route is.

Anything else is 404, other methods 405, with a FastAPI-style ``{"detail": ...}`` body.

Data comes from YAML (the document itself, see :func:`parse_config`); the demo document is
``kubesim/data/repertoire.yaml``. Tests replace :attr:`FakeRepertoire.document` at will, and
simulate an outage with :attr:`FakeRepertoire.failure_status` (every request answers that
status) or a slow service with :attr:`FakeRepertoire.delay` (seconds before answering).
:attr:`FakeRepertoire.requests` counts the discovery requests served.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from typing import Any

import trio
import yaml

from kubesim.http import Request, Response

__all__ = ["API_PREFIX", "FakeRepertoire", "demo_repertoire", "install", "parse_config"]

API_PREFIX = "/repertoire"


def parse_config(raw: Mapping[str, Any] | str) -> dict[str, Any]:
    """The discovery document from YAML text or a parsed mapping (must be a mapping)."""
    if isinstance(raw, str):
        raw = yaml.safe_load(raw) or {}
    if not isinstance(raw, Mapping):
        raise ValueError("the Repertoire document must be a mapping")
    for key in ("datasets", "influxdb_databases", "services"):
        if key in raw and not isinstance(raw[key], Mapping):
            raise ValueError(f"Repertoire document key {key} must be a mapping")
    return dict(raw)


def demo_repertoire() -> dict[str, Any]:
    """The built-in demo document (``kubesim/data/repertoire.yaml``)."""
    text = resources.files("kubesim").joinpath("data/repertoire.yaml").read_text("utf-8")
    return parse_config(text)


def _detail(status: int, message: str) -> Response:
    return Response.json(status, {"detail": message})


class FakeRepertoire:
    """HTTP handler for the fake Repertoire; mount it at :data:`API_PREFIX`."""

    def __init__(self, document: dict[str, Any] | None = None) -> None:
        self.document = document if document is not None else demo_repertoire()
        self.failure_status: int | None = None
        self.delay = 0.0
        self.requests = 0

    async def __call__(self, request: Request) -> Response:
        path = request.path.removeprefix(API_PREFIX).rstrip("/")
        if path != "/discovery":
            return _detail(404, "Not Found")
        if request.method not in ("GET", "HEAD"):
            return Response.json(405, {"detail": "Method Not Allowed"}, headers=[("Allow", "GET")])
        self.requests += 1
        if self.delay > 0:
            await trio.sleep(self.delay)
        if self.failure_status is not None:
            return _detail(self.failure_status, "Service unavailable (kubesim fault)")
        return Response.json(200, self.document)


def install(site: Any, document: dict[str, Any] | None = None) -> FakeRepertoire:
    """Mount a fake Repertoire on ``site`` at ``/repertoire`` and return it."""
    fake = FakeRepertoire(document)
    site.mount(API_PREFIX, fake)
    return fake
