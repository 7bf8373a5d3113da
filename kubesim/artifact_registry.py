"""A fake Google Artifact Registry (Docker images) and GCE metadata token server.

Routes, mounted on a kubesim ``Site`` by :func:`install`:

- ``GET /computeMetadata/v1/instance/service-accounts/default/token`` (needs the header
  ``Metadata-Flavor: Google``, else 403): ``{"access_token", "expires_in", "token_type"}``.
  Point a client's metadata base URL at the site URL instead of
  ``http://metadata.google.internal``.
- ``GET /artifactregistry/v1/projects/<p>/locations/<l>/repositories/<r>/dockerImages``
  ``[?pageSize=N&pageToken=T]``: ``{"dockerImages": [...], "nextPageToken"?}``, images in
  name order, each ``{"name", "uri", "tags", "imageSizeBytes" (a string, as int64 is in
  Google's JSON), "uploadTime", "mediaType"}``. Point a client's API base URL at
  ``<site url>/artifactregistry`` instead of ``https://artifactregistry.googleapis.com``.
- ``GET .../repositories/<r>/packages/<image>/tags/<tag>``: ``{"name", "version"}`` where
  ``version`` ends in ``/versions/<digest>``.

Every API call needs ``Authorization: Bearer <token>`` with a token issued by the metadata
route (or listed in ``static_tokens``) that has not expired on the injected clock; otherwise
401 ``UNAUTHENTICATED``. Errors use Google's ``{"error": {"code", "message", "status"}}``.
:meth:`FakeArtifactRegistry.fail_next` makes the next N API calls answer 503 (or another
status) to exercise client retries.

Data (YAML or mapping, see :func:`parse_config`)::

    location: us-central1
    project_id: kubesim-project
    repository: sciplat
    page_size: null          # default page size when the client sends none
    token_lifetime: 3600
    images:
      - {image: sciplat-lab, tags: [w_2077_43, recommended], size: 65537}   # digest derived
      - {image: sciplat-lab, digest: "sha256:<hex>", tags: []}              # untagged
      - {image: other-image, tags: [latest]}
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

import yaml

from kubesim.http import Request, Response
from kubesim.registry import demo_registry

__all__ = [
    "API_PREFIX",
    "METADATA_TOKEN_PATH",
    "ArtifactRegistryData",
    "DockerImage",
    "FakeArtifactRegistry",
    "demo_artifact_registry",
    "install",
    "parse_config",
]

API_PREFIX = "/artifactregistry"
METADATA_PREFIX = "/computeMetadata"
METADATA_TOKEN_PATH = "/computeMetadata/v1/instance/service-accounts/default/token"
MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
UPLOAD_TIME = "2077-10-23T00:00:00Z"


@dataclass
class DockerImage:
    """One manifest of the repository: image name, digest, tags and size."""

    image: str
    digest: str
    tags: list[str] = field(default_factory=list)
    size: int = 0


@dataclass
class ArtifactRegistryData:
    location: str = "us-central1"
    project_id: str = "kubesim-project"
    repository: str = "sciplat"
    images: list[DockerImage] = field(default_factory=list)
    page_size: int | None = None
    token_lifetime: float = 3600.0
    static_tokens: list[str] = field(default_factory=list)

    @property
    def parent(self) -> str:
        return (
            f"projects/{self.project_id}/locations/{self.location}/repositories/{self.repository}"
        )

    @property
    def host(self) -> str:
        return f"{self.location}-docker.pkg.dev"

    def add(self, image: str, tags: list[str], *, digest: str | None = None, size: int = 0) -> None:
        """Add a manifest (digest derived from image and tags when not given)."""
        digest = digest or _derive_digest(image, tags)
        self.images.append(DockerImage(image, digest, list(tags), size))


def _derive_digest(image: str, tags: list[str]) -> str:
    return "sha256:" + hashlib.sha256(f"{image}:{','.join(tags)}".encode()).hexdigest()


def parse_config(raw: Mapping[str, Any] | str) -> ArtifactRegistryData:
    """Build data from YAML text or a parsed mapping; bad input raises ValueError."""
    if isinstance(raw, str):
        raw = yaml.safe_load(raw) or {}
    known = {"location", "project_id", "repository", "images", "page_size", "token_lifetime",
             "static_tokens"}  # fmt: skip
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"unknown artifact registry keys: {sorted(unknown)}")
    data = ArtifactRegistryData(
        location=str(raw.get("location", "us-central1")),
        project_id=str(raw.get("project_id", "kubesim-project")),
        repository=str(raw.get("repository", "sciplat")),
        page_size=raw.get("page_size"),
        token_lifetime=float(raw.get("token_lifetime", 3600)),
        static_tokens=[str(t) for t in raw.get("static_tokens") or []],
    )
    for entry in raw.get("images") or []:
        data.add(
            str(entry["image"]),
            [str(t) for t in entry.get("tags") or []],
            digest=entry.get("digest"),
            size=int(entry.get("size", 0)),
        )
    return data


def demo_artifact_registry() -> ArtifactRegistryData:
    """The Docker demo repository's tags as one GAR image ``sciplat-lab`` (tags sharing a
    digest become one manifest), plus an unrelated image in the same repository."""
    repo = next(iter(demo_registry().repositories.values()))
    by_digest: dict[str, list[str]] = {}
    sizes: dict[str, int] = {}
    for info in repo.tags.values():
        by_digest.setdefault(info.digest, []).append(info.tag)
        sizes[info.digest] = max(sizes.get(info.digest, 0), info.size)
    data = ArtifactRegistryData()
    for digest, tags in by_digest.items():
        data.add("sciplat-lab", sorted(tags), digest=digest, size=sizes[digest])
    data.add("unrelated-tool", ["latest"], size=1000)
    return data


def _google_error(status: int, reason: str, message: str) -> Response:
    return Response.json(status, {"error": {"code": status, "message": message, "status": reason}})


class FakeArtifactRegistry:
    """HTTP handler for the fake GAR API and metadata server."""

    def __init__(
        self,
        data: ArtifactRegistryData | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.data = data if data is not None else demo_artifact_registry()
        self._clock = clock
        self._tokens: dict[str, float] = {}
        self._failures: list[int] = []
        self.tokens_issued = 0
        self.api_calls = 0

    def fail_next(self, count: int, status: int = 503) -> None:
        """Make the next ``count`` API calls fail with ``status`` (503 UNAVAILABLE default)."""
        self._failures.extend([status] * count)

    async def __call__(self, request: Request) -> Response:
        if request.path.startswith(METADATA_PREFIX):
            return self._metadata(request)
        return self._api(request)

    # -- metadata server -----------------------------------------------------------------

    def _metadata(self, request: Request) -> Response:
        if request.path != METADATA_TOKEN_PATH:
            return Response(404, b"not found", [("content-type", "text/plain")])
        if request.headers.get("metadata-flavor") != "Google":
            return Response(403, b"Missing Metadata-Flavor:Google header.", [])
        now = self._clock()
        self._tokens = {t: exp for t, exp in self._tokens.items() if exp > now}
        token = "ya29.kubesim-" + secrets.token_urlsafe(24)
        self._tokens[token] = now + self.data.token_lifetime
        self.tokens_issued += 1
        body = {
            "access_token": token,
            "expires_in": int(self.data.token_lifetime),
            "token_type": "Bearer",
        }
        return Response.json(200, body)

    # -- Artifact Registry API -----------------------------------------------------------

    def _authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        token = token.strip()
        if token in self.data.static_tokens:
            return True
        expiry = self._tokens.get(token)
        return expiry is not None and self._clock() < expiry

    def _api(self, request: Request) -> Response:
        self.api_calls += 1
        if not self._authorized(request):
            return _google_error(
                401, "UNAUTHENTICATED", "Request had invalid authentication credentials."
            )
        if self._failures:
            status = self._failures.pop(0)
            reason = {500: "INTERNAL", 503: "UNAVAILABLE"}.get(status, "FAILED_PRECONDITION")
            return _google_error(status, reason, "injected failure")
        if request.method != "GET":
            return _google_error(405, "METHOD_NOT_ALLOWED", "method not allowed")
        base = f"{API_PREFIX}/v1/{self.data.parent}"
        path = request.path
        if path == f"{base}/dockerImages":
            return self._list(request)
        prefix = f"{base}/packages/"
        if path.startswith(prefix) and "/tags/" in path[len(prefix) :]:
            image, _, tag = path[len(prefix) :].partition("/tags/")
            return self._tag(unquote(image), unquote(tag))
        return _google_error(404, "NOT_FOUND", f"Requested entity was not found: {path}")

    def _list(self, request: Request) -> Response:
        images = sorted(self.data.images, key=lambda i: (i.image, i.digest))
        try:
            size = int(request.query.get("pageSize") or self.data.page_size or 0)
            start = int(request.query.get("pageToken") or 0)
        except ValueError:
            return _google_error(400, "INVALID_ARGUMENT", "invalid page size or token")
        end = start + size if size > 0 else len(images)
        body: dict[str, Any] = {
            "dockerImages": [self._render(image) for image in images[start:end]]
        }
        if end < len(images):
            body["nextPageToken"] = str(end)
        return Response.json(200, body)

    def _render(self, image: DockerImage) -> dict[str, Any]:
        data = self.data
        name = f"{data.parent}/dockerImages/{quote(image.image, safe='')}@{image.digest}"
        uri = f"{data.host}/{data.project_id}/{data.repository}/{image.image}@{image.digest}"
        rendered: dict[str, Any] = {
            "name": name,
            "uri": uri,
            "imageSizeBytes": str(image.size),
            "uploadTime": UPLOAD_TIME,
            "mediaType": MEDIA_TYPE,
        }
        if image.tags:
            rendered["tags"] = list(image.tags)
        return rendered

    def _tag(self, image: str, tag: str) -> Response:
        for entry in self.data.images:
            if entry.image == image and tag in entry.tags:
                package = f"{self.data.parent}/packages/{quote(image, safe='')}"
                return Response.json(
                    200,
                    {
                        "name": f"{package}/tags/{tag}",
                        "version": f"{package}/versions/{entry.digest}",
                    },
                )
        return _google_error(404, "NOT_FOUND", f"Requested entity was not found: tag {tag}")


def install(site: Any, data: ArtifactRegistryData | None = None) -> FakeArtifactRegistry:
    """Mount the fake GAR API at ``/artifactregistry`` and the metadata server at
    ``/computeMetadata`` on ``site``; return the handler (for its knobs and counters)."""
    fake = FakeArtifactRegistry(data)
    site.mount(API_PREFIX, fake)
    site.mount(METADATA_PREFIX, fake)
    return fake
