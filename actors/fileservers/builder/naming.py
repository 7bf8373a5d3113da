"""Names and fixed values of a user's file server (``kubernetes-objects.md`` §3, §7).

Pure functions of the username, so that the builder, the actor (deletion, watches) and
reconciliation always agree on what a file server's objects are called.
"""

from __future__ import annotations

import re

__all__ = [
    "FILESERVER_CONTAINER",
    "FILESERVER_MOUNT_PREFIX",
    "FILESERVER_PORT",
    "GAFAELFAWR_SERVICE",
    "WORBLEHAT_COMMAND",
    "fileserver_name",
    "fileserver_username",
]

FILESERVER_PORT = 8000
"""Port the WebDAV server listens on; the Service and the ingress backend use it."""

FILESERVER_CONTAINER = "fileserver"

FILESERVER_MOUNT_PREFIX = "/mnt"
"""Every exposed volume is mounted under here; it is the WebDAV root (``WORBLEHAT_DIR``)."""

WORBLEHAT_COMMAND = "/usr/local/bin/worblehat"
"""The WebDAV server, in the reference Nublado image (``fileserverImage``, by default the
helper image)."""

GAFAELFAWR_SERVICE = "nublado-files"
"""Service name of the internal token Gafaelfawr delegates to file servers."""

_NAME = re.compile(r"^(.+)-fs$")


def fileserver_name(username: str) -> str:
    """``<user>-fs``: the Job, Service, GafaelfawrIngress and Ingress name."""
    return f"{username}-fs"


def fileserver_username(name: str) -> str | None:
    """The username in a ``<user>-fs`` name (the fallback of ``kubernetes-objects.md`` §3.7)."""
    match = _NAME.match(name)
    return match.group(1) if match else None
