"""Docker image references: ``<registry>/<repository>[:<tag>][@<digest>]``.

The registry component is mandatory (``docker.io/library/python`` must be spelled out): the
controller compares references against its one configured source, so an implicit registry
would only hide mistakes. Parsing follows the grammar of images.md §2.4 exactly; anything else
is an :class:`InvalidDockerReference`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

__all__ = ["DockerReference", "InvalidDockerReference"]

_REFERENCE_RE = re.compile(
    r"(?P<registry>[^/]+)/(?P<repository>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>.+))?",
    re.DOTALL,
)


class InvalidDockerReference(ValueError):
    """A string that is not ``<registry>/<repository>[:<tag>][@<digest>]``."""

    def __init__(self, text: str) -> None:
        super().__init__(
            f"invalid Docker reference {text!r}: expected <registry>/<repository>[:<tag>]"
            "[@<digest>]"
        )
        self.text = text


@dataclass(frozen=True, slots=True)
class DockerReference:
    """A parsed image reference. ``tag`` and ``digest`` are each optional."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, text: str) -> DockerReference:
        """Parse ``text``; raise :class:`InvalidDockerReference` if it does not match."""
        match = _REFERENCE_RE.fullmatch(text)
        if match is None:
            raise InvalidDockerReference(text)
        return cls(
            registry=match["registry"],
            repository=match["repository"],
            tag=match["tag"],
            digest=match["digest"],
        )

    @property
    def name(self) -> str:
        """``<registry>/<repository>``: the image without tag or digest."""
        return f"{self.registry}/{self.repository}"

    def with_digest(self, digest: str) -> DockerReference:
        """The same reference pinned to ``digest`` (replacing any digest it had)."""
        return replace(self, digest=digest)

    def without_digest(self) -> DockerReference:
        """The same reference with no digest (what status models show)."""
        return replace(self, digest=None)

    def __str__(self) -> str:
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text
