"""Every controller error carries its own HTTP status, and the answers keep api.md's statuses.

A refusal's status is a class attribute beside its ``error_type`` (no table in the web layer),
so the first test walks every ``ControllerError`` subclass in ``actors`` and ``web`` and
checks that each one says both itself or through a refusal it specialises: one that relied on
``ControllerError``'s fallback would quietly become a 500 ``internal_error``. The second test
raises each documented refusal from a test-only route and reads the status and type from
the real HTTP response, so a changed status (or a handler that stops reading ``status``) is
caught where clients would see it.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from typing import NoReturn

import httpx
import pytest
import trio
from quart_trio import QuartTrio

import actors
import web
from actors.config import ControllerConfig
from actors.errors import ControllerError
from actors.runtime import ActorSystem
from web.app import create_app

DOCUMENTED: dict[str, tuple[int, str]] = {
    # api.md §3.2
    "actors.errors.InsufficientQuotaError": (403, "insufficient_quota"),
    "actors.errors.InvalidDockerReferenceError": (422, "invalid_docker_reference"),
    "actors.errors.InvalidLabSizeError": (422, "invalid_lab_size"),
    "actors.errors.InvalidPodPhaseError": (404, "invalid_phase"),
    "actors.errors.InvalidTokenError": (401, "invalid_token"),
    "actors.errors.LabExistsError": (409, "lab_exists"),
    "actors.errors.OperationConflictError": (409, "operation_in_progress"),
    "actors.errors.NotConfiguredError": (404, "not_supported"),
    "actors.errors.PermissionDeniedError": (403, "permission_denied"),
    "actors.errors.PodNotFoundError": (404, "not_found"),
    "actors.errors.UnknownDockerImageError": (400, "unknown_image"),
    "actors.errors.UnknownUserError": (404, "unknown_user"),
    "actors.errors.DeleteFailedError": (500, "delete_failed"),
    "actors.errors.FileServerCreateFailedError": (500, "file_server_create_failed"),
    "actors.errors.FileServerDeleteFailedError": (500, "file_server_delete_failed"),
    # api.md §3.4: server-side failures outside the §3.2 table are 500s
    "actors.fsadmin.errors.ControllerTimeoutError": (500, "controller_timeout"),
    "actors.fsadmin.errors.KubernetesFailureError": (500, "kubernetes_error"),
    # api.md §12.3 (migrator)
    "actors.migrator.errors.MigratorError": (500, "migration_failed"),
    "actors.migrator.errors.NoSourceDirectoryError": (404, "no_source_directory"),
    "actors.migrator.errors.NoTargetDirectoryError": (404, "no_target_directory"),
    "actors.migrator.errors.CopyFailedError": (406, "copy_failed"),
    "actors.migrator.errors.CopyPermissionFailedError": (403, "copy_permission_failed"),
    "actors.migrator.errors.MigrationConflictError": (409, "operation_in_progress"),
    "actors.migrator.errors.MigrationFailedError": (500, "migration_failed"),
    # docs/auth.md and docs/operations.md
    "web.auth.BearerTokenError": (401, "invalid_token"),
    "web.auth._BearerTokenMissing": (401, "invalid_token"),
    "web.auth.AuthenticationUnavailableError": (502, "gafaelfawr_unavailable"),
    "web.errors.UnknownActorError": (404, "unknown_actor"),
}
"""What clients are promised for each refusal: (HTTP status, ``type``), as documented."""


def _subclasses(cls: type[ControllerError]) -> Iterator[type[ControllerError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def all_controller_errors() -> dict[str, type[ControllerError]]:
    """Every ``ControllerError`` subclass defined in ``actors`` or ``web``, by dotted name.

    Every module is imported first: a class is only a subclass once its module has run.
    """
    for package in (actors, web):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)
    return {f"{cls.__module__}.{cls.__qualname__}": cls for cls in _subclasses(ControllerError)}


def _declared_by(cls: type[ControllerError], attribute: str) -> type | None:
    """The class of ``cls``'s MRO that sets ``attribute``, or ``None`` if only the base does."""
    for klass in cls.__mro__:
        if klass is ControllerError:
            return None
        if attribute in vars(klass):
            return klass
    return None


def test_every_controller_error_declares_its_status_and_type() -> None:
    errors = all_controller_errors()
    assert "actors.errors.UnknownUserError" in errors, "the walk found nothing"
    for name, cls in errors.items():
        assert _declared_by(cls, "status") is not None, f"{name} has no status of its own"
        assert _declared_by(cls, "error_type") is not None, f"{name} has no type of its own"
        assert 400 <= cls.status <= 599, f"{name}.status = {cls.status}"
        assert re.fullmatch(r"[a-z][a-z0-9_]*", cls.error_type), name


def test_every_documented_refusal_exists() -> None:
    missing = sorted(set(DOCUMENTED) - set(all_controller_errors()))
    assert not missing, f"documented refusals without a class: {missing}"


@pytest.fixture
def app(config: ControllerConfig, system: ActorSystem) -> QuartTrio:
    app = create_app(config, system)
    errors = all_controller_errors()

    @app.get("/test/raise/<name>")
    async def raise_error(name: str) -> NoReturn:
        raise errors[name]("refused on purpose")

    return app


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
async def test_each_refusal_is_answered_with_its_documented_status(
    client: httpx.AsyncClient, name: str
) -> None:
    status, error_type = DOCUMENTED[name]
    with trio.fail_after(5):
        response = await client.get(f"/test/raise/{name}")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"detail": [{"msg": "refused on purpose", "type": error_type}]}
