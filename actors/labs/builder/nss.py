"""The ``<user>-nb-nss`` ConfigMap: ``/etc/passwd`` and ``/etc/group`` of the lab (§2.5).

The lab image's own files do not know the user, so the controller ships complete
replacements: the configured base contents verbatim, then the user's lines. The base is not
validated; it must end in a newline for the appended lines to be well formed.
"""

from __future__ import annotations

from kubernetes.client import V1ConfigMap

from actors.common.labels import Category, standard_metadata
from actors.common.models import UserGroup
from actors.common.naming import nss_config_map_name
from actors.config import LabConfig

__all__ = ["GROUP_KEY", "PASSWD_KEY", "group_file", "nss_config_map", "passwd_file"]

PASSWD_KEY = "passwd"
GROUP_KEY = "group"


def passwd_file(
    lab: LabConfig, *, username: str, uid: int, gid: int, name: str | None, home: str
) -> str:
    """Base passwd plus the user's line; a null display name leaves GECOS empty (Q1)."""
    gecos = name if name is not None else ""
    return f"{lab.nss.base_passwd}{username}:x:{uid}:{gid}:{gecos}:{home}:/bin/bash\n"


def group_file(lab: LabConfig, *, username: str, gid: int, groups: list[UserGroup]) -> str:
    """Base group file plus one line per user group, in the order Gafaelfawr gave them.

    The primary group (id equal to the GID) lists no members: membership follows from the
    GID in passwd. It gets a line only if Gafaelfawr listed it among the groups.
    """
    lines = [
        f"{group.name}:x:{group.id}:"
        if group.id == gid
        else f"{group.name}:x:{group.id}:{username}"
        for group in groups
    ]
    return lab.nss.base_group + "".join(f"{line}\n" for line in lines)


def nss_config_map(
    lab: LabConfig, *, namespace: str, username: str, passwd: str, group: str
) -> V1ConfigMap:
    """The immutable NSS ConfigMap with keys ``passwd`` and ``group``."""
    metadata = standard_metadata(
        nss_config_map_name(username),
        namespace=namespace,
        category=Category.LAB,
        username=username,
        application=lab.application,
    )
    return V1ConfigMap(
        api_version="v1",
        kind="ConfigMap",
        metadata=metadata,
        immutable=True,
        data={PASSWD_KEY: passwd, GROUP_KEY: group},
    )
