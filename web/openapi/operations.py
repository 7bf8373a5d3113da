"""Every route of the application, as data: the source of the API document.

Paths are written with two placeholders, ``{prefix}`` (``pathPrefix``) and ``{files}``
(``fileserver.pathPrefix``), filled in for the serving configuration. An operation that
belongs to an optional service (``service``) exists only when the app has that service, as
``web.app.create_app`` registers it. Status codes are listed per authentication mechanism
(see docs/auth.md) so that the document names exactly the answers of the configured
``auth.mode``; anything not listed (an overloaded actor's 503, Gafaelfawr's 502, an internal
500) is the ``default`` answer, always an error body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel

from actors.common.models import LabState
from actors.common.requests import LabSpecification
from actors.images.status import PrepullerStatus, SpawnerImages
from actors.metrics import HealthReport
from actors.runtime import ActorSnapshot
from actors.usernames import MAX_USERNAME_LENGTH, USERNAME_PATTERN
from web.metadata import Metadata
from web.routes.fsadmin import FSAdminCommand
from web.routes.migrator import MigratorCommand

from .models import FileServerRunning, FSAdminStarted, IndexBody, MigrationStatusBody

__all__ = [
    "DASHBOARD_OPERATIONS",
    "OPERATIONS",
    "WEBSOCKETS",
    "Answer",
    "Auth",
    "Operation",
    "Param",
    "WebSocketRoute",
]

JSON = "application/json"
HTML = "text/html"
SSE = "text/event-stream"
TEXT = "text/plain"


class Auth(StrEnum):
    """How a route authenticates its caller (docs/auth.md, "What the controller checks")."""

    NONE = "none"
    """Internal and anonymous routes."""
    GROUP = "group"
    """Mechanism A: hub and admin routes (the ingress alone guards them in ingress mode)."""
    IDENTITY = "identity"
    """Mechanism B: the caller's username from the ingress header or the bearer token."""
    DELEGATED = "delegated"
    """Mechanism C: a delegated token, validated with Gafaelfawr."""


@dataclass(frozen=True)
class Answer:
    """One documented response: its status, what it means and its body."""

    status: int
    description: str
    body: type[BaseModel] | Any | None = None
    """A model, a type pydantic can describe (``list[str]``), or ``None`` for no body."""
    media: str = JSON
    headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Param:
    name: str
    where: Literal["path", "query"]
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})


@dataclass(frozen=True)
class Operation:
    """One HTTP route and method."""

    method: str
    path: str
    operation_id: str
    summary: str
    group: str
    """The route group of docs/auth.md (``hub``, ``user``, ``files``, ``admin``,
    ``anonymous``, ``internal``); also the operation's tag."""
    auth: Auth
    answers: tuple[Answer, ...]
    body: type[BaseModel] | None = None
    params: tuple[Param, ...] = ()
    service: str | None = None
    """``labs``, ``images``, ``fsadmin`` or ``migrator``: the route exists only with it."""
    path_username: bool = False
    description: str = ""


@dataclass(frozen=True)
class WebSocketRoute:
    """A WebSocket route; OpenAPI cannot describe these, so they are listed beside it."""

    path: str
    summary: str
    group: str
    service: str | None = None


USERNAME_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": f"^{USERNAME_PATTERN.pattern}$",
    "maxLength": MAX_USERNAME_LENGTH,
}
"""The platform's username rule; any other value is refused with 422 ``invalid_username``."""

USERNAME = Param(
    "username",
    "path",
    "A username: lower-case letters, digits and single inner hyphens, at least one letter,"
    " at most 32 characters (docs/auth.md)",
    USERNAME_SCHEMA,
)

_PAIR = (
    Param("old_user", "query", "The user whose home directory is copied", USERNAME_SCHEMA),
    Param("new_user", "query", "The user who receives the copy", USERNAME_SCHEMA),
)

_CREATED_HEADERS = ("Location",)

_API_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        "/",
        "get_health",
        "Package metadata; the liveness and readiness probe",
        "internal",
        Auth.NONE,
        (Answer(200, "Name, version and links of the running controller", Metadata),),
    ),
    Operation(
        "GET",
        "/health",
        "get_health_report",
        "Per-service health: ok or degraded (always 200; not a probe)",
        "internal",
        Auth.NONE,
        (Answer(200, "The overall status and every check", HealthReport),),
    ),
    Operation(
        "GET",
        "/metrics",
        "get_metrics",
        "Prometheus metrics in the text exposition format",
        "internal",
        Auth.NONE,
        (Answer(200, "Every metric of this controller", str, media=TEXT),),
    ),
    Operation(
        "GET",
        "{prefix}",
        "get_index",
        "Package metadata (external)",
        "admin",
        Auth.GROUP,
        (Answer(200, "The metadata object", IndexBody),),
    ),
    Operation(
        "GET",
        "{prefix}/openapi.json",
        "get_openapi",
        "This document",
        "anonymous",
        Auth.NONE,
        (Answer(200, "The OpenAPI 3.1 document", dict[str, Any]),),
    ),
    Operation(
        "GET",
        "{prefix}/docs",
        "get_docs",
        "This document as an HTML page",
        "anonymous",
        Auth.NONE,
        (Answer(200, "A self-contained HTML page", str, media=HTML),),
    ),
    Operation(
        "GET",
        "{prefix}/admin/actors",
        "get_actor_tree",
        "The whole actor tree",
        "admin",
        Auth.GROUP,
        (Answer(200, "The root supervisor and, recursively, every actor", ActorSnapshot),),
    ),
    Operation(
        "GET",
        "{prefix}/admin/actors/{name}",
        "get_actor",
        "One actor and its children",
        "admin",
        Auth.GROUP,
        (
            Answer(200, "The actor", ActorSnapshot),
            Answer(404, "No actor has this name (`unknown_actor`)"),
        ),
        params=(Param("name", "path", "An actor's name; it may contain `/` (`lab/alice`)"),),
    ),
    Operation(
        "GET",
        "{prefix}/spawner/v1/labs",
        "list_labs",
        "Users whose lab is running",
        "hub",
        Auth.GROUP,
        (Answer(200, "Usernames", list[str]),),
        service="labs",
    ),
    Operation(
        "GET",
        "{prefix}/spawner/v1/labs/{username}",
        "get_lab",
        "A user's lab",
        "hub",
        Auth.GROUP,
        (
            Answer(200, "The lab's state", LabState),
            Answer(404, "The user has no lab (`unknown_user`)"),
        ),
        params=(USERNAME,),
        service="labs",
        path_username=True,
    ),
    Operation(
        "POST",
        "{prefix}/spawner/v1/labs/{username}/create",
        "create_lab",
        "Start a spawn; progress follows on the events route",
        "user",
        Auth.DELEGATED,
        (
            Answer(201, "The spawn started", None, headers=_CREATED_HEADERS),
            Answer(400, "The image does not exist (`unknown_image`)"),
            Answer(
                403,
                "Not the caller's lab, or the quota forbids it (`permission_denied`,"
                " `insufficient_quota`)",
            ),
            Answer(
                409,
                "A lab exists or an operation is running (`lab_exists`, `operation_in_progress`)",
            ),
        ),
        body=LabSpecification,
        params=(USERNAME,),
        service="labs",
        path_username=True,
        description=(
            "The body may also carry each option as a one-element list of strings, as"
            " JupyterHub forwards its form."
        ),
    ),
    Operation(
        "DELETE",
        "{prefix}/spawner/v1/labs/{username}",
        "delete_lab",
        "Delete a lab and wait until it is gone",
        "hub",
        Auth.GROUP,
        (Answer(204, "Deleted"), Answer(404, "The user has no lab (`unknown_user`)")),
        params=(USERNAME,),
        service="labs",
        path_username=True,
    ),
    Operation(
        "GET",
        "{prefix}/spawner/v1/user-status",
        "get_user_status",
        "The caller's own lab",
        "user",
        Auth.IDENTITY,
        (
            Answer(200, "The lab's state", LabState),
            Answer(404, "The caller has no lab (`unknown_user`)"),
        ),
        service="labs",
    ),
    Operation(
        "GET",
        "{prefix}/spawner/v1/labs/{username}/events",
        "get_lab_events",
        "Progress of the current or last operation, as server-sent events",
        "user",
        Auth.IDENTITY,
        (
            Answer(200, "`info`, `error`, `failed` and `complete` events", str, media=SSE),
            Answer(404, "The controller never saw this user (`unknown_user`)"),
        ),
        params=(USERNAME,),
        service="labs",
        path_username=True,
    ),
    Operation(
        "GET",
        "{prefix}/spawner/v1/lab-form/{username}",
        "get_lab_form",
        "The spawn form (an HTML fragment)",
        "user",
        Auth.DELEGATED,
        (Answer(200, "The form, or why the user may not spawn", str, media=HTML),),
        params=(USERNAME,),
        service="labs",
        path_username=True,
    ),
    Operation(
        "GET",
        "{files}",
        "start_file_server",
        "Start (or reuse) the caller's WebDAV file server",
        "files",
        Auth.DELEGATED,
        (Answer(200, "A page saying where the file server is", str, media=HTML),),
        service="fileservers",
    ),
    Operation(
        "GET",
        "{prefix}/fileserver/v1/users",
        "list_file_servers",
        "Users whose file server is running",
        "admin",
        Auth.GROUP,
        (Answer(200, "Usernames", list[str]),),
        service="fileservers",
    ),
    Operation(
        "GET",
        "{prefix}/fileserver/v1/users/{username}",
        "get_file_server",
        "Whether a user's file server is running",
        "admin",
        Auth.GROUP,
        (
            Answer(200, "It is running", FileServerRunning),
            Answer(404, "It is not (`unknown_user`)"),
        ),
        params=(USERNAME,),
        service="fileservers",
        path_username=True,
    ),
    Operation(
        "DELETE",
        "{prefix}/fileserver/v1/users/{username}",
        "delete_file_server",
        "Remove a user's file server",
        "admin",
        Auth.GROUP,
        (Answer(204, "Removed"), Answer(404, "There is none (`unknown_user`)")),
        params=(USERNAME,),
        service="fileservers",
        path_username=True,
    ),
    Operation(
        "GET",
        "{prefix}/fileserver/v1/user-status",
        "get_own_file_server",
        "Whether the caller's file server is running",
        "user",
        Auth.IDENTITY,
        (
            Answer(200, "It is running", FileServerRunning),
            Answer(404, "It is not (`unknown_user`)"),
        ),
        service="fileservers",
    ),
    Operation(
        "GET",
        "{prefix}/fsadmin/v1/service",
        "get_fsadmin",
        "When the filesystem-administration pod started",
        "admin",
        Auth.GROUP,
        (
            Answer(200, "It runs", FSAdminStarted),
            Answer(404, "It does not run (`not_found`, `invalid_phase`)"),
        ),
        service="fsadmin",
    ),
    Operation(
        "POST",
        "{prefix}/fsadmin/v1/service",
        "start_fsadmin",
        "Start the filesystem-administration pod (or keep the running one)",
        "admin",
        Auth.GROUP,
        (Answer(200, "It runs", FSAdminStarted),),
        body=FSAdminCommand,
        service="fsadmin",
    ),
    Operation(
        "DELETE",
        "{prefix}/fsadmin/v1/service",
        "delete_fsadmin",
        "Remove the filesystem-administration pod",
        "admin",
        Auth.GROUP,
        (Answer(204, "Removed (or there was none)"),),
        service="fsadmin",
    ),
    Operation(
        "POST",
        "{prefix}/migrator/v1/service",
        "start_migration",
        "Copy one user's home directory into another's (or join the running copy)",
        "admin",
        Auth.GROUP,
        (
            Answer(200, "The copy's status", MigrationStatusBody),
            Answer(403, "The copy could not set permissions (`copy_permission_failed`)"),
            Answer(
                404,
                "A home directory is missing (`no_source_directory`, `no_target_directory`)",
            ),
            Answer(406, "The copy failed (`copy_failed`)"),
            Answer(409, "A copy involving these users runs (`migration_in_progress`)"),
        ),
        body=MigratorCommand,
        service="migrator",
    ),
    Operation(
        "GET",
        "{prefix}/migrator/v1/service",
        "get_migration",
        "A copy's status",
        "admin",
        Auth.GROUP,
        (
            Answer(200, "The copy's status", MigrationStatusBody),
            Answer(204, "No copy of this pair is known"),
        ),
        params=_PAIR,
        service="migrator",
    ),
    Operation(
        "DELETE",
        "{prefix}/migrator/v1/service",
        "cancel_migration",
        "Remove a copy's pod",
        "admin",
        Auth.GROUP,
        (Answer(204, "Removed (or there was none)"),),
        params=_PAIR,
        service="migrator",
    ),
    Operation(
        "GET",
        "{prefix}/spawner/v1/images",
        "get_images",
        "Images available for spawning",
        "admin",
        Auth.GROUP,
        (Answer(200, "Images; null fields omitted", SpawnerImages),),
        service="images",
    ),
    Operation(
        "GET",
        "{prefix}/spawner/v1/prepulls",
        "get_prepulls",
        "Prepuller status",
        "admin",
        Auth.GROUP,
        (Answer(200, "Images by prepull state, and nodes", PrepullerStatus),),
        service="images",
    ),
)

_CSRF = (
    " A browser signed in with the dashboard's session cookie (or behind the ingress) must also"
    " send `X-CSRF-Token` with the value of `GET {prefix}/admin/session`; a bearer token in"
    " direct mode needs none (docs/auth.md)."
)

DASHBOARD_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        "{prefix}/admin/",
        "get_dashboard",
        "The admin dashboard (HTML page)",
        "admin",
        Auth.NONE,
        (
            Answer(200, "The page", str, media=HTML),
            Answer(303, "Direct mode, no session: to the sign-in page", headers=("Location",)),
        ),
        description="Behind the ingress, the ingress signs people in; in direct mode a browser"
        " signs in at `{prefix}/admin/login` (docs/dashboard.md). An `exec:admin` bearer token"
        " is accepted too.",
    ),
    Operation(
        "GET",
        "{prefix}/admin/login",
        "get_dashboard_sign_in",
        "The dashboard's sign-in form (direct mode)",
        "admin",
        Auth.NONE,
        (
            Answer(200, "The form (and why the last attempt failed, `?error=`)", str, media=HTML),
            Answer(303, "Ingress mode: to the dashboard", headers=("Location",)),
        ),
    ),
    Operation(
        "POST",
        "{prefix}/admin/login",
        "sign_in_to_dashboard",
        "Trade a token for a session cookie (direct mode; form field `token`)",
        "admin",
        Auth.NONE,
        (
            Answer(
                303,
                "To the dashboard with the session cookie, or back to the form with the reason"
                " (`?error=missing|rejected|scope|unavailable|origin`)",
                headers=("Location",),
            ),
        ),
    ),
    Operation(
        "POST",
        "{prefix}/admin/logout",
        "sign_out_of_dashboard",
        "End the browser's dashboard session",
        "admin",
        Auth.GROUP,
        (
            Answer(204, "Signed out"),
            Answer(403, "Missing or wrong `X-CSRF-Token`, or a request from another site"),
        ),
        description=_CSRF,
    ),
    Operation(
        "GET",
        "{prefix}/admin/session",
        "get_dashboard_session",
        "Who is signed in, and the CSRF token for the dashboard's actions",
        "admin",
        Auth.GROUP,
        (
            Answer(200, "`user`, `via`, `csrf`, `expires`, `mode`, `name`, `version`", dict),
            Answer(403, "A request from another site (`permission_denied`)"),
        ),
    ),
    Operation(
        "GET",
        "{prefix}/admin/static/dashboard.js",
        "get_dashboard_script",
        "The dashboard's script",
        "admin",
        Auth.NONE,
        (Answer(200, "JavaScript", str, media="text/javascript"),),
    ),
    Operation(
        "GET",
        "{prefix}/admin/static/dashboard.css",
        "get_dashboard_style",
        "The dashboard's style sheet",
        "admin",
        Auth.NONE,
        (Answer(200, "CSS", str, media="text/css"),),
    ),
    Operation(
        "GET",
        "{prefix}/admin/labs",
        "list_dashboard_labs",
        "Every known lab as a row: status, size, image, age, progress, last event",
        "admin",
        Auth.GROUP,
        (
            Answer(200, "The rows", list[dict[str, Any]]),
            Answer(403, "A request from another site (`permission_denied`)"),
        ),
        service="labs",
    ),
    Operation(
        "GET",
        "{prefix}/admin/labs/{username}",
        "get_dashboard_lab",
        "One lab: state, events of its current or last operation, Kubernetes objects",
        "admin",
        Auth.GROUP,
        (
            Answer(200, "`state`, `events`, `objects` (`objects_error`)", dict[str, Any]),
            Answer(403, "A request from another site (`permission_denied`)"),
            Answer(404, "No lab, no events and no objects for this user (`unknown_user`)"),
        ),
        params=(USERNAME,),
        service="labs",
        path_username=True,
    ),
    Operation(
        "DELETE",
        "{prefix}/admin/labs/{username}",
        "delete_lab_as_admin",
        "Delete a lab as an administrator; answers once it is gone",
        "admin",
        Auth.GROUP,
        (
            Answer(204, "The lab is gone"),
            Answer(403, "Missing or wrong `X-CSRF-Token`, or a request from another site"),
            Answer(404, "No lab for this user (`unknown_user`)"),
        ),
        params=(USERNAME,),
        service="labs",
        path_username=True,
        description=_CSRF,
    ),
)
"""The admin dashboard's routes (docs/dashboard.md)."""

OPERATIONS: tuple[Operation, ...] = (*_API_OPERATIONS, *DASHBOARD_OPERATIONS)
"""Every HTTP route of the application."""

WEBSOCKETS: tuple[WebSocketRoute, ...] = (
    WebSocketRoute(
        "{prefix}/admin/actors/ws",
        "The actor tree on connect and after every change (JSON, like GET …/admin/actors)",
        "admin",
    ),
    WebSocketRoute(
        "{prefix}/spawner/v1/labs/{username}/events",
        "Spawn progress as JSON messages (`event`, `message`, `progress`)",
        "user",
        service="labs",
    ),
    WebSocketRoute(
        "{prefix}/admin/dashboard/ws",
        "The admin dashboard's live feed (JSON messages with a `type`; docs/dashboard.md)",
        "admin",
    ),
    WebSocketRoute(
        "{prefix}/admin/labs/events",
        "Every lab's progress as it happens (JSON messages with `user`)",
        "admin",
        service="labs",
    ),
)
