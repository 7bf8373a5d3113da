"""The ``fsadmin`` section: the privileged filesystem-administration pod (and migrator).

Unknown keys are errors, as everywhere. The one exception is ``application``: the deployment
tooling (Phalanx) writes it into this section for its own use; it is accepted and never read,
so that such a file loads while a typo such as ``timout`` is still reported.

The fsadmin pod mounts every lab mount (read-write) plus ``extraVolumeMounts``; whether those
name a lab volume or one of ``extraVolumes`` is checked by ``ControllerConfig``, which sees
both sections.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar, Self

from pydantic import Field, model_validator

from .base import ConfigModel, Issue, raise_issues
from .kubernetes import Affinity, Resources, Toleration
from .units import AbsPath, K8sName, PositiveDuration
from .volumes import Volume, VolumeMount

__all__ = ["FSAdminConfig"]


class FSAdminConfig(ConfigModel):
    """Configuration of the fsadmin pod; also governs migrator pods."""

    accepted_unused_keys: ClassVar[frozenset[str]] = frozenset({"application"})

    affinity: Affinity | None = None
    extra_annotations: dict[str, str] = Field(default_factory=dict)
    extra_volumes: list[Volume] = Field(default_factory=list)
    extra_volume_mounts: list[VolumeMount] = Field(default_factory=list)
    mount_prefix: AbsPath | None = None
    node_selector: dict[str, str] = Field(default_factory=dict)
    pod_name: K8sName = "fsadmin"
    resources: Resources | None = None
    timeout: PositiveDuration = timedelta(minutes=2)
    tolerations: list[Toleration] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_extra_volumes(self) -> Self:
        issues: list[Issue] = []
        seen: set[str] = set()
        for index, volume in enumerate(self.extra_volumes):
            if volume.name in seen:
                path = ("extraVolumes", index, "name")
                issues.append((path, f"duplicate volume {volume.name}"))
            seen.add(volume.name)
        raise_issues(issues)
        return self
