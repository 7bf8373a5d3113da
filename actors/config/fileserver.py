"""The ``fileserver`` section: per-user WebDAV file servers, enabled or not.

The section is a union selected by ``enabled``. Disabled, only ``pathPrefix`` matters (the
route still exists and answers "not supported"). The other keys of the enabled shape are
accepted and not read (not even checked), so a section can be switched off without deleting
it and the deployment tooling (Phalanx), which always writes them, keeps working. Any other
key is an error in both shapes: a typo such as ``enabeld: true`` would otherwise turn file
servers silently off.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, Discriminator, Field, Tag
from pydantic.alias_generators import to_camel

from .base import (
    MISSING,
    ConfigModel,
    FalseFlag,
    TrueFlag,
    discriminate,
    lax_bool,
    tag_name,
)
from .kubernetes import Affinity, Resources, Toleration
from .units import K8sName, PositiveDuration
from .volumes import VolumeMount

__all__ = [
    "FileserverConfig",
    "FileserverDisabled",
    "FileserverEnabled",
    "UrlPathPrefix",
    "url_path_prefix",
]


def url_path_prefix(value: str) -> str:
    """Validate a URL path prefix: starts with ``/``, has no trailing ``/``."""
    if not value.startswith("/"):
        raise ValueError("must start with /")
    if value.endswith("/"):
        raise ValueError("must not end with /")
    return value


UrlPathPrefix = Annotated[str, AfterValidator(url_path_prefix)]


class FileserverEnabled(ConfigModel):
    """File servers are on: one WebDAV server per user, on demand, in ``namespace``."""

    enabled: TrueFlag
    affinity: Affinity | None = None
    application: str | None = None
    creation_timeout: PositiveDuration = timedelta(minutes=2)
    delete_timeout: PositiveDuration = timedelta(minutes=1)
    extra_annotations: dict[str, str] = Field(default_factory=dict)
    idle_timeout: PositiveDuration = timedelta(hours=1)
    namespace: K8sName
    node_selector: dict[str, str] = Field(default_factory=dict)
    path_prefix: UrlPathPrefix = "/files"
    reconcile_interval: PositiveDuration = timedelta(minutes=60)
    resources: Resources | None = None
    tolerations: list[Toleration] = Field(default_factory=list)
    volume_mounts: list[VolumeMount] = Field(default_factory=list)


class FileserverDisabled(ConfigModel):
    """File servers are off; requests to ``pathPrefix`` are answered as not supported."""

    accepted_unused_keys: ClassVar[frozenset[str]] = frozenset(
        to_camel(name) for name in FileserverEnabled.model_fields
    ) - {"enabled", "pathPrefix"}

    enabled: FalseFlag = False
    path_prefix: UrlPathPrefix = "/files"


def _enabled_tag(value: Any) -> str | None:
    if value is MISSING:
        return tag_name("disabled")
    enabled = lax_bool(value)
    if enabled is None:
        return None
    return tag_name("enabled" if enabled else "disabled")


FileserverConfig = Annotated[
    Annotated[FileserverEnabled, Tag(tag_name("enabled"))]
    | Annotated[FileserverDisabled, Tag(tag_name("disabled"))],
    Discriminator(
        discriminate("enabled", _enabled_tag),
        custom_error_type="invalid_fileserver_enabled",
        custom_error_message="enabled must be true or false",
    ),
]
"""The file server section: ``FileserverEnabled`` or ``FileserverDisabled``."""
