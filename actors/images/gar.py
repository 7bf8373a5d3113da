"""Google Artifact Registry client over ``httpx.AsyncClient`` (images.md §2.2).

Lists the Docker images of one image name in a GAR repository (``ListDockerImages`` on the
repository, every page), keeping manifests whose URI names the configured image and turning
each of their tags into a :class:`RemoteImage` with digest and size. Untagged manifests
produce nothing.

Authentication is an OAuth access token: a configured one (``access_token``), or one from the
GCE/GKE metadata server (workload identity), cached until shortly before it expires and
fetched again once if the API answers 401.

Retries (as upstream): a listing that fails with HTTP 500 or 503 is attempted again after
``retry_delay`` seconds (10 s in production), up to 3 such failures; then one final attempt
whose error propagates. At most 4 listings in all. Other errors propagate at once.

``api_url`` and ``metadata_url`` default to Google's endpoints; kubesim's fake
(``kubesim/artifact_registry.py``) serves both under its site URL (``<site>/artifactregistry``
and ``<site>``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import trio

from actors.config.images import GARSource
from actors.runtime.snapshot import describe_error

from .docker import REQUEST_TIMEOUT
from .errors import ArtifactRegistryError, UnknownTagError
from .remote import RemoteImage, RemoteImages

__all__ = [
    "GAR_API_URL",
    "METADATA_URL",
    "RETRY_DELAY",
    "ArtifactRegistryClient",
]

GAR_API_URL = "https://artifactregistry.googleapis.com"
METADATA_URL = "http://metadata.google.internal"
RETRY_DELAY = 10.0
"""Seconds between attempts of a listing that failed with 500/503."""

_TOKEN_PATH = "/computeMetadata/v1/instance/service-accounts/default/token"
_RETRIED_STATUSES = frozenset({500, 503})
_RETRIED_ATTEMPTS = 3
_PAGE_SIZE = 500


class ArtifactRegistryClient:
    """Reads one image of one GAR repository. Safe to share between tasks of one Trio run."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        source: GARSource,
        *,
        api_url: str = GAR_API_URL,
        metadata_url: str = METADATA_URL,
        access_token: str | None = None,
        retry_delay: float = RETRY_DELAY,
        page_size: int = _PAGE_SIZE,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.source = source
        self._http = http
        self._api_url = api_url.rstrip("/")
        self._metadata_url = metadata_url.rstrip("/")
        self._static_token = access_token
        self._retry_delay = retry_delay
        self._page_size = page_size
        self._clock = clock or trio.current_time
        self._token: tuple[str, float] | None = None  # (token, expires at on self._clock)

    @property
    def registry(self) -> str:
        return self.source.registry

    @property
    def repository(self) -> str:
        """The Docker repository path: ``<project>/<repository>/<image>``."""
        s = self.source
        return f"{s.project_id}/{s.repository}/{s.image}"

    @property
    def parent(self) -> str:
        s = self.source
        return f"projects/{s.project_id}/locations/{s.location}/repositories/{s.repository}"

    # -- API -------------------------------------------------------------------------------

    async def list_images(self) -> RemoteImages:
        """Every tag of the configured image with digest and size (retrying 500/503)."""
        for _ in range(_RETRIED_ATTEMPTS):
            try:
                return await self._list_once()
            except ArtifactRegistryError as exc:
                if exc.status not in _RETRIED_STATUSES:
                    raise
            await trio.sleep(self._retry_delay)
        return await self._list_once()

    async def resolve_tag(self, tag: str) -> str:
        """The digest ``tag`` points at (one ``GetTag`` call)."""
        package = quote(self.source.image, safe="")
        url = f"{self._api_url}/v1/{self.parent}/packages/{package}/tags/{quote(tag, safe='')}"
        response = await self._get(url, {})
        if response.status_code == 404:
            raise UnknownTagError(tag, f"{self.registry}/{self.repository}")
        body = self._json(response, f"reading tag {tag}")
        version = body.get("version") if isinstance(body, dict) else None
        if not isinstance(version, str) or "/versions/" not in version:
            raise ArtifactRegistryError(f"{self.parent}: tag {tag} reply has no version")
        return version.rsplit("/versions/", 1)[1]

    # -- listing ---------------------------------------------------------------------------

    async def _list_once(self) -> RemoteImages:
        url = f"{self._api_url}/v1/{self.parent}/dockerImages"
        images: list[RemoteImage] = []
        page_token: str | None = None
        seen_tokens: set[str] = set()
        while True:
            params = {"pageSize": str(self._page_size)}
            if page_token:
                params["pageToken"] = page_token
            body = self._json(await self._get(url, params), "listing Docker images")
            for entry in body.get("dockerImages") or []:
                images.extend(self._images_of(entry))
            page_token = body.get("nextPageToken") or None
            if page_token is None:
                return RemoteImages(self.registry, self.repository, tuple(images))
            if page_token in seen_tokens:
                raise ArtifactRegistryError(f"{self.parent}: page token {page_token} repeats")
            seen_tokens.add(page_token)

    def _images_of(self, entry: Any) -> list[RemoteImage]:
        if not isinstance(entry, dict) or not isinstance(entry.get("uri"), str):
            raise ArtifactRegistryError(f"{self.parent}: Docker image without a uri")
        name, _, digest = entry["uri"].rsplit("/", 1)[-1].partition("@")
        if name != self.source.image or not digest:
            return []
        try:
            size = int(entry.get("imageSizeBytes") or 0)
        except (TypeError, ValueError):
            size = 0
        return [RemoteImage(str(tag), digest, size) for tag in entry.get("tags") or []]

    # -- transport and authentication -----------------------------------------------------

    def _json(self, response: httpx.Response, doing: str) -> Any:
        if response.status_code != 200:
            message = ""
            with contextlib.suppress(ValueError, KeyError, TypeError):
                message = ": " + str(response.json()["error"]["message"])
            raise ArtifactRegistryError(
                f"{self.parent}: {doing} failed with HTTP {response.status_code}{message}",
                status=response.status_code,
            )
        try:
            return response.json()
        except ValueError:
            raise ArtifactRegistryError(f"{self.parent}: {doing}: reply is not JSON") from None

    async def _get(self, url: str, params: dict[str, str]) -> httpx.Response:
        response = await self._send(url, params, await self._access_token())
        if response.status_code == 401 and self._static_token is None:
            self._token = None  # revoked or expired early: fetch a new one, once
            response = await self._send(url, params, await self._access_token())
        return response

    async def _send(self, url: str, params: dict[str, str], token: str) -> httpx.Response:
        try:
            return await self._http.get(
                url,
                params=params,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                timeout=REQUEST_TIMEOUT,
            )
        except httpx.HTTPError as exc:
            raise ArtifactRegistryError(
                f"{self.parent}: GET {url} failed: {describe_error(exc)}"
            ) from None

    async def _access_token(self) -> str:
        if self._static_token is not None:
            return self._static_token
        if self._token is not None and self._clock() < self._token[1]:
            return self._token[0]
        url = self._metadata_url + _TOKEN_PATH
        try:
            response = await self._http.get(
                url, headers={"Metadata-Flavor": "Google"}, timeout=REQUEST_TIMEOUT
            )
        except httpx.HTTPError as exc:
            raise ArtifactRegistryError(
                f"cannot reach the metadata server at {self._metadata_url}: {describe_error(exc)}"
            ) from None
        if response.status_code != 200:
            raise ArtifactRegistryError(
                f"metadata server token request failed with HTTP {response.status_code}",
                status=response.status_code,
            )
        try:
            body = response.json()
            token = body["access_token"]
            lifetime = float(body.get("expires_in") or 0)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ArtifactRegistryError("metadata server token reply is malformed") from None
        if not isinstance(token, str) or not token:
            raise ArtifactRegistryError("metadata server token reply has no access_token")
        self._token = (token, self._clock() + lifetime - min(60.0, lifetime / 10))
        return token
