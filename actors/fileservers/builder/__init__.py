"""Pure builders of a user's file server objects (``kubernetes-objects.md`` §3).

::

    from actors.fileservers.builder import build_fileserver
    objects = build_fileserver(config, user)   # pvcs, gafaelfawr_ingress, service, job
"""

from actors.common.resources import configured_resources

from .naming import (
    FILESERVER_PORT,
    fileserver_name,
    fileserver_username,
)
from .objects import (
    FileserverIdentityError,
    FileserverObjects,
    build_fileserver,
    fileserver_config,
)

__all__ = [
    "FILESERVER_PORT",
    "FileserverIdentityError",
    "FileserverObjects",
    "build_fileserver",
    "configured_resources",
    "fileserver_config",
    "fileserver_name",
    "fileserver_username",
]
