"""File-server routes of ``api.md`` §8: the user's entry route and the admin routes.

``GET {files}`` lives outside ``{prefix}`` at a configured path, so its blueprint is made per
app by :func:`files_entry`. When file servers are disabled every route here answers 404
``not_supported`` (the entry route after authenticating the caller, as §8 requires). A path's
username is checked against the platform rule (``web.usernames``) before the service sees it,
since it names Kubernetes objects.
"""

from __future__ import annotations

import html
import json

from quart import Blueprint, Response

from actors.errors import NotConfiguredError, UnknownUserError
from actors.fileservers.service import FileserverService
from web.auth import RouteGroup, files_user, header_identity, require_group
from web.openapi.models import FileServerRunning
from web.state import current_state
from web.usernames import path_username

__all__ = ["files_entry", "fileserver_admin"]

DISABLED_MESSAGE = "Fileserver is disabled in configuration"
NOT_RUNNING_MESSAGE = "No file server running"
WEBDAV_DOCS_URL = "https://rsp.lsst.io/guides/data-access/webdav.html"

fileserver_admin = Blueprint("fileserver_admin", __name__)
"""Admin and user-status routes; registered with ``url_prefix=config.path_prefix``."""


def fileserver_service() -> FileserverService:
    """The file server service, or 404 ``not_supported`` when file servers are disabled."""
    service = current_state().fileservers
    if service is None:
        raise NotConfiguredError(DISABLED_MESSAGE)
    return service


def _json(text: str, status: int = 200) -> Response:
    return Response(text, status=status, content_type="application/json")


def ready_page(url: str, username: str, idle_timeout: int) -> str:
    """The §8.1 page: where the WebDAV server is and how to log in to it."""
    link = html.escape(url, quote=True)
    minutes = max(1, idle_timeout // 60)
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>File server for {html.escape(username)}</title></head>
<body>
<h1>Your file server is ready</h1>
<p>Your WebDAV file server is running at <a href="{link}">{html.escape(url)}</a>.</p>
<p>Connect to it with any WebDAV client. Use your username <code>{html.escape(username)}</code>
and, as the password, a token with the <code>write:files</code> scope.</p>
<p>The server stops after {minutes} minutes without activity; visit this page again to
start it once more.</p>
<p>See the <a href="{WEBDAV_DOCS_URL}">WebDAV documentation</a> for how to set up clients.</p>
</body>
</html>
"""


def files_entry(path: str) -> Blueprint:
    """A blueprint serving ``GET {files}`` at ``path`` (exactly; sub-paths are not ours)."""
    blueprint = Blueprint("files_entry", __name__)

    @blueprint.get(path)
    async def start_file_server() -> Response:
        """Create or reuse the caller's file server; answer once it serves (§8.1)."""
        caller = await files_user()
        service = fileserver_service()
        await service.ensure(caller.user)
        state = current_state()
        url = f"{state.config.base_url}{service.fileserver.path_prefix}/{caller.username}"
        timeout = int(service.fileserver.idle_timeout.total_seconds())
        page = ready_page(url, caller.username, timeout)
        return Response(page, status=200, content_type="text/html; charset=utf-8")

    return blueprint


@fileserver_admin.get("/fileserver/v1/users")
async def list_file_servers() -> Response:
    """Users whose file server is running (§8.2)."""
    await require_group(RouteGroup.ADMIN)
    return _json(json.dumps(await fileserver_service().running()))


@fileserver_admin.get("/fileserver/v1/users/<username>")
async def file_server_status(username: str) -> Response:
    """``{"running": true}`` or 404 (§8.3)."""
    await require_group(RouteGroup.ADMIN)
    path_username(username)
    if not await fileserver_service().is_running(username):
        raise UnknownUserError(NOT_RUNNING_MESSAGE)
    return _json(FileServerRunning(running=True).model_dump_json())


@fileserver_admin.delete("/fileserver/v1/users/<username>")
async def delete_file_server(username: str) -> Response:
    """Remove a file server and wait for its objects to go (§8.4)."""
    await require_group(RouteGroup.ADMIN)
    path_username(username)
    await fileserver_service().delete(username)
    return Response("", status=204)


@fileserver_admin.get("/fileserver/v1/user-status")
async def own_file_server_status() -> Response:
    """The caller's own file server (§8.5, mechanism B)."""
    username = await header_identity()
    if not await fileserver_service().is_running(username):
        raise UnknownUserError(NOT_RUNNING_MESSAGE)
    return _json(FileServerRunning(running=True).model_dump_json())
