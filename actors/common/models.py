"""What a lab *is*, as the controller and its API see it.

These models are shared by the lab actors, the object builder and the web layer. Field names
are the API's (snake_case, see ``api.md`` §5.1), so the web layer serialises them as they are.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from actors.config import LabSize

__all__ = [
    "ImageClass",
    "LabOptions",
    "LabResources",
    "LabSize",
    "LabState",
    "LabStatus",
    "LabUser",
    "NotebookQuota",
    "ResolvedImage",
    "ResourceQuantity",
    "SpawnRequest",
    "UserGroup",
    "UserInfo",
    "UserQuota",
    "lab_options",
]

GIB = 1024**3


class LabStatus(StrEnum):
    """Lab statuses of ``api.md`` §6.1."""

    PENDING = "pending"
    RUNNING = "running"
    TERMINATING = "terminating"
    TERMINATED = "terminated"
    FAILED = "failed"

    @property
    def is_dead(self) -> bool:
        """Terminated and failed labs are replaced by a create and removed by reconcile."""
        return self in (LabStatus.TERMINATED, LabStatus.FAILED)

    @classmethod
    def from_pod_phase(cls, phase: str | None) -> LabStatus:
        """Map a Kubernetes pod phase to a lab status (``api.md`` §6.2)."""
        match phase:
            case "Pending":
                return cls.PENDING
            case "Running":
                return cls.RUNNING
            case "Succeeded" | "Failed":
                return cls.TERMINATED
            case _:
                return cls.FAILED


class ImageClass(StrEnum):
    """Image classes a bot may ask for instead of a reference (``api.md`` §5.1.1)."""

    RECOMMENDED = "recommended"
    LATEST_RELEASE = "latest-release"
    LATEST_WEEKLY = "latest-weekly"
    LATEST_DAILY = "latest-daily"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class UserGroup(_Model):
    """A supplemental group of the user."""

    name: str
    id: int


class NotebookQuota(_Model):
    """The user's whole-namespace notebook quota as Gafaelfawr reports it."""

    cpu: float
    memory: float = Field(description="GiB, may be fractional")
    spawn: bool = True

    @property
    def memory_bytes(self) -> int:
        return int(self.memory * GIB)


class UserQuota(_Model):
    notebook: NotebookQuota | None = None


class UserInfo(_Model):
    """The user record from Gafaelfawr's user-information API (``api.md`` §2.4)."""

    username: str
    name: str | None = None
    email: str | None = None
    uid: int | None = None
    gid: int | None = None
    groups: list[UserGroup] = Field(default_factory=list)
    quota: UserQuota | None = None

    @property
    def notebook_quota(self) -> NotebookQuota | None:
        return self.quota.notebook if self.quota is not None else None


class LabUser(_Model):
    """The owner of a lab as the lab state reports it (``api.md`` §5.1.4)."""

    username: str
    name: str | None
    uid: int
    gid: int
    groups: list[UserGroup] = Field(default_factory=list)


class ResourceQuantity(_Model):
    """CPU in cores and memory in bytes."""

    cpu: float
    memory: int


class LabResources(_Model):
    limits: ResourceQuantity
    requests: ResourceQuantity


class LabOptions(_Model):
    """What the lab runs (``api.md`` §5.1.5); ``image`` always carries its digest."""

    image: str
    size: LabSize
    enable_debug: bool = False
    reset_user_env: bool = False


@functools.lru_cache(maxsize=1024)
def lab_options(
    image: str, size: LabSize, *, enable_debug: bool, reset_user_env: bool
) -> LabOptions:
    """The (shared, frozen) options with these values: thousands of labs run a few images in
    a few sizes, and each lab state would otherwise hold its own copy."""
    return LabOptions(
        image=image, size=size, enable_debug=enable_debug, reset_user_env=reset_user_env
    )


class LabState(_Model):
    """Everything the API says about a user's lab (``api.md`` §5.1.6)."""

    user: LabUser
    options: LabOptions
    status: LabStatus
    internal_url: str | None
    resources: LabResources
    quota: ResourceQuantity | None


@dataclass(frozen=True)
class ResolvedImage:
    """An image chosen for a lab, pinned by digest.

    ``reference`` is ``registry/repository:tag@digest``, the string the pod runs and the lab
    state reports; ``description`` is the human display name (``Weekly 2077_43``).
    """

    reference: str
    digest: str
    description: str


@dataclass(frozen=True)
class SpawnRequest:
    """A create request that passed every check: everything the builder needs about it.

    ``env`` is JupyterHub's environment (it includes ``JUPYTERHUB_SERVICE_PREFIX``);
    ``token`` is the user's delegated notebook token, stored only in the lab's Secret.
    """

    user: UserInfo
    image: ResolvedImage
    size: LabSize
    resources: LabResources
    env: dict[str, str]
    token: str = field(repr=False)
    enable_debug: bool = False
    reset_user_env: bool = False

    @property
    def service_prefix(self) -> str:
        return self.env["JUPYTERHUB_SERVICE_PREFIX"]
