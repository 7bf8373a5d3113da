"""The ``<user>-nb-files`` ConfigMap: configured files plus the discovery document (§2.6).

Each ``lab.files`` entry becomes one key, derived from the path's basename by turning ``_``
and ``.`` into ``-`` (``/opt/x/lsst_dask.yml`` → ``lsst-dask-yml``). The key is also the pod
volume name, so it must be a valid DNS label and unique among the pod's volumes; upstream
silently produces broken pods otherwise (quirk Q11), here it is a ``FileKeyError``.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes.client import V1ConfigMap

from actors.common.labels import Category, standard_metadata
from actors.common.naming import DISCOVERY_KEY, files_config_map_name
from actors.config import LabConfig

from .errors import FileKeyError

__all__ = [
    "DISCOVERY_MOUNT_PATH",
    "LabFile",
    "discovery_document",
    "file_key",
    "files_config_map",
    "lab_files",
]

DISCOVERY_MOUNT_PATH = "/etc/nublado/discovery/v1.json"
"""Fixed path of the discovery document in the lab (not under ``runtimeMountsDir``)."""

_DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class LabFile:
    """One configured file: where it is mounted, its basename and its ConfigMap key."""

    path: str
    basename: str
    key: str
    contents: str


def file_key(path: str) -> str:
    """The ConfigMap key (and volume name) of a configured file path."""
    return posixpath.basename(path).replace("_", "-").replace(".", "-")


def lab_files(lab: LabConfig, reserved_names: frozenset[str] = frozenset()) -> list[LabFile]:
    """The configured files in configuration order, with their keys checked.

    ``reserved_names`` are other pod volume names the keys must not collide with.
    """
    files: list[LabFile] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for path, contents in lab.files.items():
        basename = posixpath.basename(path)
        key = file_key(path)
        if len(key) > 63 or not _DNS_LABEL_RE.match(key):
            problems.append(f"{path}: derived name {key!r} is not a valid Kubernetes name")
        elif key in seen:
            problems.append(f"{path} and {seen[key]} both map to the key {key}")
        elif key in reserved_names or key == DISCOVERY_KEY:
            problems.append(f"{path}: derived name {key} is already a lab volume name")
        seen.setdefault(key, path)
        files.append(LabFile(path=path, basename=basename, key=key, contents=contents))
    if problems:
        raise FileKeyError("lab.files: " + "; ".join(problems))
    return files


def discovery_document(discovery: Mapping[str, Any]) -> str:
    """Serialise the discovery data: sorted keys, two-space indentation, no final newline."""
    return json.dumps(dict(discovery), sort_keys=True, indent=2)


def files_config_map(
    lab: LabConfig,
    *,
    namespace: str,
    username: str,
    files: list[LabFile],
    discovery: Mapping[str, Any],
) -> V1ConfigMap:
    """The immutable files ConfigMap: the discovery document and every configured file."""
    data = {DISCOVERY_KEY: discovery_document(discovery)}
    data.update({file.key: file.contents for file in files})
    metadata = standard_metadata(
        files_config_map_name(username),
        namespace=namespace,
        category=Category.LAB,
        username=username,
        application=lab.application,
    )
    return V1ConfigMap(
        api_version="v1", kind="ConfigMap", metadata=metadata, immutable=True, data=data
    )
