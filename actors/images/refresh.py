"""One refresh cycle (images.md §5): nodes, remote images, prepull set, digests, catalog.

:func:`build_catalog` does the I/O and returns a fresh :class:`ImageCatalog`; it never touches
the previous one, so a failure (registry down, node list refused, deadline) leaves whatever the
caller had in place. Errors surface as :class:`RefreshError` with a message safe to log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import structlog
import trio

from actors.config import ControllerConfig
from actors.config.images import ImagesConfig
from actors.kube import KubeClient, KubernetesError

from .catalog import ImageCatalog
from .collection import ImageCollection
from .errors import ImageSourceError, UnknownTagError
from .nodes import node_images
from .remote import RemoteImages
from .source import GARImageSource, ImageSource

__all__ = [
    "NODE_LIST_TIMEOUT",
    "RefreshError",
    "assemble_catalog",
    "build_catalog",
    "collect_images",
]

log = structlog.get_logger(__name__)

NODE_LIST_TIMEOUT = 30.0
"""Deadline for listing nodes (images.md §5 step 1)."""

DIGEST_CONCURRENCY = 8
"""Digest lookups in flight at once (Docker source: one ``HEAD`` per prepull-set tag)."""


class RefreshError(Exception):
    """A refresh failed; the message names the failing step, never a credential."""


async def _list_nodes(config: ControllerConfig, kube: KubeClient) -> list[dict[str, Any]]:
    selector = config.lab.node_selector or None
    try:
        with trio.fail_after(NODE_LIST_TIMEOUT):
            items, _ = await kube.nodes.list_raw(None, label_selector=selector)
            return items
    except KubernetesError as error:
        raise RefreshError(f"listing nodes failed: {error}") from None
    except trio.TooSlowError:
        raise RefreshError(f"listing nodes took longer than {NODE_LIST_TIMEOUT:g}s") from None


async def _fetch_digests(source: ImageSource, tags: list[str]) -> dict[str, str]:
    """Current digests of ``tags``; a tag deleted meanwhile is left out, other errors raise."""
    digests: dict[str, str] = {}
    failures: list[ImageSourceError] = []
    limiter = trio.CapacityLimiter(DIGEST_CONCURRENCY)

    async def fetch(tag: str) -> None:
        async with limiter:
            try:
                digests[tag] = await source.resolve_tag(tag)
            except UnknownTagError:
                log.warning("Tag vanished during refresh", tag=tag)
            except ImageSourceError as error:
                failures.append(error)

    async with trio.open_nursery() as nursery:
        for tag in tags:
            nursery.start_soon(fetch, tag)
    if failures:
        raise RefreshError(f"digest lookup failed: {failures[0]}")
    return digests


def _aliases(images: ImagesConfig) -> frozenset[str]:
    return frozenset({images.recommended_tag, *images.alias_tags})


def _prepull_set(images: ImagesConfig, collection: ImageCollection) -> ImageCollection:
    return collection.subset(
        releases=images.num_releases,
        weeklies=images.num_weeklies,
        dailies=images.num_dailies,
        include={images.recommended_tag, *images.pin},
    )


async def collect_images(images: ImagesConfig, source: ImageSource) -> RemoteImages:
    """The source's listing, with a fresh digest for every prepull-set tag.

    A source that lists digests for everything (Artifact Registry) needs no lookups; the
    Docker source gets one ``HEAD`` per prepull-set tag (digests are never cached: tags move).
    """
    try:
        remote = await source.list_images()
    except ImageSourceError as error:
        raise RefreshError(f"listing images failed: {error}") from None
    if all(image.digest is not None for image in remote.images):
        return remote
    parsed = remote.to_collection(aliases=_aliases(images), cycle=images.cycle)
    wanted = _prepull_set(images, parsed).all_images(hide_arch_specific=False)
    digests = await _fetch_digests(source, [image.tag for image in wanted])
    return RemoteImages(
        remote.registry,
        remote.repository,
        tuple(
            replace(image, digest=digests[image.tag]) if image.tag in digests else image
            for image in remote.images
        ),
    )


def assemble_catalog(
    config: ControllerConfig,
    remote: RemoteImages,
    nodes: Sequence[Mapping[str, Any]],
    *,
    digests_complete: bool,
) -> ImageCatalog:
    """The catalog for a listing (digests filled in) and the listed Node objects (JSON)."""
    images = config.images
    aliases = _aliases(images)
    known = remote.to_collection(aliases=aliases, cycle=images.cycle)
    tolerations = config.lab.tolerations
    return ImageCatalog(
        registry=remote.registry,
        repository=remote.repository,
        known=known,
        prepull=_prepull_set(images, known),
        nodes=[node_images(node, tolerations) for node in nodes],
        recommended_tag=images.recommended_tag,
        aliases=aliases,
        digests_complete=digests_complete,
    )


async def build_catalog(
    config: ControllerConfig, source: ImageSource, kube: KubeClient
) -> ImageCatalog:
    """Build the catalog of a refresh; raises :class:`RefreshError` on any failure."""
    nodes = await _list_nodes(config, kube)
    remote = await collect_images(config.images, source)
    # Artifact Registry lists every digest; Docker only has those of the prepull set.
    complete = isinstance(source, GARImageSource)
    return assemble_catalog(config, remote, nodes, digests_complete=complete)
