"""Errors raised by the image library: registry clients and image lookups.

Every message is safe to log and to report: it names the registry, repository or tag involved
but never a credential, a token or an ``Authorization`` header. Callers branch on the class
(and ``status`` where present), never on message text.
"""

from __future__ import annotations

__all__ = [
    "ArtifactRegistryError",
    "DockerRegistryError",
    "ImageSourceError",
    "RegistryAuthError",
    "UnknownTagError",
]


class ImageSourceError(Exception):
    """The image source could not answer (HTTP failure, bad reply, authentication)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: HTTP status of the failed reply, ``None`` when no reply arrived or it was not HTTP.
        self.status = status


class DockerRegistryError(ImageSourceError):
    """A Docker Registry v2 call failed or returned something unusable."""


class RegistryAuthError(DockerRegistryError):
    """The registry refused us: no credentials, unusable challenge, or credentials rejected."""


class ArtifactRegistryError(ImageSourceError):
    """A Google Artifact Registry (or metadata server) call failed."""


class UnknownTagError(ImageSourceError):
    """The source has no image with the requested tag."""

    def __init__(self, tag: str, where: str) -> None:
        super().__init__(f"tag {tag!r} not found in {where}", status=404)
        self.tag = tag
