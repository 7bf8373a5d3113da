"""API errors rendered as ``metav1.Status`` bodies, the way a real API server reports them.

Every failure a client can see goes through :class:`ApiError`: the REST layer catches it and
renders :meth:`ApiError.status_body`, and a watch stream wraps the same body in an ``ERROR``
event. Keeping one type means the HTTP status code, the ``reason`` and the ``code`` field of
the body can never disagree.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A Kubernetes API failure with its HTTP status and machine-readable ``reason``."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or []

    def status_body(self) -> dict[str, Any]:
        """Return the ``Status`` object (``status: Failure``) for this error."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.status,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def _details(plural: str, name: str | None, group: str = "") -> dict[str, Any]:
    details: dict[str, Any] = {"kind": plural}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    return details


def _qualified(plural: str, group: str) -> str:
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, name: str, group: str = "") -> ApiError:
    return ApiError(
        404,
        "NotFound",
        f'{_qualified(plural, group)} "{name}" not found',
        _details(plural, name, group),
    )


def already_exists(plural: str, name: str, group: str = "") -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{_qualified(plural, group)} "{name}" already exists',
        _details(plural, name, group),
    )


def conflict(plural: str, name: str, why: str, group: str = "") -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {_qualified(plural, group)} "{name}": {why}',
        _details(plural, name, group),
    )


def invalid(kind: str, name: str, causes: list[tuple[str, str]], group: str = "") -> ApiError:
    """422 Invalid; ``causes`` are ``(field, message)`` pairs as in ``details.causes``."""
    summary = ", ".join(f"{field}: {message}" for field, message in causes)
    details = {
        "kind": kind,
        "name": name,
        "causes": [
            {"reason": "FieldValueInvalid", "message": message, "field": field}
            for field, message in causes
        ],
    }
    if group:
        details["group"] = group
    return ApiError(
        422, "Invalid", f'{_qualified(kind, group)} "{name}" is invalid: {summary}', details
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def forbidden(plural: str, name: str, why: str, group: str = "") -> ApiError:
    return ApiError(
        403,
        "Forbidden",
        f'{_qualified(plural, group)} "{name}" is forbidden: {why}',
        _details(plural, name, group),
    )


def expired(message: str) -> ApiError:
    """410 Expired: a resourceVersion or continue token older than the retained history
    (for watches it travels inside an ERROR event, as on a real server)."""
    return ApiError(410, "Expired", message)


def method_not_allowed(method: str, path: str) -> ApiError:
    return ApiError(
        405,
        "MethodNotAllowed",
        f"the server does not allow this method on the requested resource ({method} {path})",
    )


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"unsupported patch format {content_type!r}; kubesim accepts"
        " application/json-patch+json, application/merge-patch+json and"
        " application/strategic-merge-patch+json",
    )


def path_not_found(path: str) -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})
