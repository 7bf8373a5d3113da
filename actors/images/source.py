"""The image source seen by the image service: one protocol, two implementations.

``ImageSource.list_images()`` returns everything the source lists; ``resolve_tag(tag)``
returns the digest a tag points at now (never cached: tags move). Build the configured one
with :func:`build_image_source`; :class:`SourceEndpoints` overrides the network endpoints
(plain-HTTP kubesim instead of the real registries) without touching the configuration,
whose ``registry`` names stay what image references and credentials use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import httpx

from actors.config.images import DockerSource, GARSource, ImagesConfig

from .credentials import DockerCredentialStore
from .docker import DockerRegistryClient
from .gar import GAR_API_URL, METADATA_URL, RETRY_DELAY, ArtifactRegistryClient
from .remote import RemoteImage, RemoteImages

__all__ = [
    "DockerImageSource",
    "GARImageSource",
    "ImageSource",
    "SourceEndpoints",
    "build_image_source",
]


@runtime_checkable
class ImageSource(Protocol):
    """Where lab images come from (images.md §2)."""

    @property
    def registry(self) -> str: ...

    @property
    def repository(self) -> str: ...

    async def list_images(self) -> RemoteImages:
        """Every tag of the source (with digests and sizes when the source has them)."""
        ...

    async def resolve_tag(self, tag: str) -> str:
        """The current digest of ``tag``; ``UnknownTagError`` if there is no such tag."""
        ...


class DockerImageSource:
    """A repository of a Docker Registry v2: cheap tag listing, one HEAD per digest."""

    def __init__(self, client: DockerRegistryClient, repository: str) -> None:
        self._client = client
        self._repository = repository

    @property
    def registry(self) -> str:
        return self._client.registry

    @property
    def repository(self) -> str:
        return self._repository

    async def list_images(self) -> RemoteImages:
        tags = await self._client.list_tags(self._repository)
        images = tuple(RemoteImage(tag) for tag in sorted(tags))
        return RemoteImages(self.registry, self._repository, images)

    async def resolve_tag(self, tag: str) -> str:
        return await self._client.get_digest(self._repository, tag)


class GARImageSource:
    """One image of a Google Artifact Registry repository: digests and sizes included."""

    def __init__(self, client: ArtifactRegistryClient) -> None:
        self._client = client

    @property
    def registry(self) -> str:
        return self._client.registry

    @property
    def repository(self) -> str:
        return self._client.repository

    async def list_images(self) -> RemoteImages:
        return await self._client.list_images()

    async def resolve_tag(self, tag: str) -> str:
        return await self._client.resolve_tag(tag)


@dataclass(frozen=True)
class SourceEndpoints:
    """Network endpoints of the sources; the defaults are the production ones.

    ``docker_base_url`` replaces ``https://<registry>`` (e.g. ``http://127.0.0.1:8080`` for
    kubesim). ``gar_api_url``/``gar_metadata_url`` replace Google's API and metadata server
    (kubesim: ``<site>/artifactregistry`` and ``<site>``); ``gar_access_token`` skips the
    metadata server. ``gar_retry_delay`` is the pause between retried listings.
    """

    docker_base_url: str | None = None
    gar_api_url: str = GAR_API_URL
    gar_metadata_url: str = METADATA_URL
    gar_access_token: str | None = None
    gar_retry_delay: float = RETRY_DELAY


async def build_image_source(
    config: ImagesConfig,
    http: httpx.AsyncClient,
    endpoints: SourceEndpoints | None = None,
) -> ImageSource:
    """The configured source; loads Docker credentials (in a worker thread) when needed."""
    endpoints = endpoints or SourceEndpoints()
    source = config.source
    if isinstance(source, DockerSource):
        credentials = await DockerCredentialStore.load(config.docker_credentials_path)
        client = DockerRegistryClient(
            http,
            registry=source.registry,
            credentials=credentials,
            base_url=endpoints.docker_base_url,
        )
        return DockerImageSource(client, source.repository)
    assert isinstance(source, GARSource)
    gar = ArtifactRegistryClient(
        http,
        source,
        api_url=endpoints.gar_api_url,
        metadata_url=endpoints.gar_metadata_url,
        access_token=endpoints.gar_access_token,
        retry_delay=endpoints.gar_retry_delay,
    )
    return GARImageSource(gar)
