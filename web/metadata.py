"""Package metadata served by the index routes (api.md §11)."""

from __future__ import annotations

from importlib import metadata

from pydantic import BaseModel

__all__ = ["DISTRIBUTION", "Metadata", "package_metadata"]

DISTRIBUTION = "nublado-trio"


class Metadata(BaseModel):
    """§11.1: unknown fields are omitted from the JSON, never null."""

    name: str
    version: str
    description: str
    repository_url: str
    documentation_url: str | None = None

    def to_json(self) -> dict[str, str]:
        """The JSON object of §11.1 (``None`` fields left out)."""
        return self.model_dump(mode="json", exclude_none=True)


def _project_urls(dist: metadata.PackageMetadata) -> dict[str, str]:
    urls: dict[str, str] = {}
    for entry in dist.get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        urls[label.strip().lower()] = url.strip()
    return urls


def package_metadata(name: str) -> Metadata:
    """Metadata for this installation, with ``name`` (the configured application name).

    Reads the installed distribution's metadata (a few small files, once at start-up).
    """
    dist = metadata.metadata(DISTRIBUTION)
    urls = _project_urls(dist)
    return Metadata(
        name=name,
        version=metadata.version(DISTRIBUTION),
        description=dist["Summary"] or "",
        repository_url=urls.get("source", urls.get("repository", "")),
        documentation_url=urls.get("documentation"),
    )
