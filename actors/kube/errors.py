"""The single error type for failed Kubernetes API calls.

Callers branch on properties (``not_found``, ``already_exists``, ``gone``, ``transient``), never
on message text. The message is the server's own ``Status.message`` (or a short, truncated
excerpt of a non-Status body); request bodies are never included, so Secret data cannot leak
into logs or error reports through this type.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["KubernetesError", "ObjectRef"]

_MAX_BODY_EXCERPT = 200
_RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class ObjectRef:
    """What a call was about, for error messages and logs: kind, namespace and name."""

    __slots__ = ("kind", "name", "namespace")

    def __init__(self, kind: str, namespace: str | None = None, name: str | None = None) -> None:
        self.kind = kind
        self.namespace = namespace
        self.name = name

    def __str__(self) -> str:
        where = f" in {self.namespace}" if self.namespace else ""
        what = f" {self.name}" if self.name else "s"
        return f"{self.kind}{what}{where}"


class KubernetesError(Exception):
    """A Kubernetes API call failed.

    ``status`` is the HTTP status code, or ``None`` when no response arrived at all
    (connection refused, reset, TLS failure) after the retries were exhausted.
    """

    def __init__(
        self,
        *,
        status: int | None,
        reason: str,
        message: str,
        kind: str,
        namespace: str | None = None,
        name: str | None = None,
    ) -> None:
        self.status = status
        self.reason = reason
        self.message = message
        self.kind = kind
        self.namespace = namespace
        self.name = name
        super().__init__(str(self))

    def __str__(self) -> str:
        ref = ObjectRef(self.kind, self.namespace, self.name)
        code = f"{self.status} " if self.status is not None else ""
        return f"{ref}: {code}{self.reason}: {self.message}"

    @property
    def not_found(self) -> bool:
        """The object (or its namespace) does not exist."""
        return self.status == 404

    @property
    def conflict(self) -> bool:
        """Any 409: already exists, or a resourceVersion / state conflict."""
        return self.status == 409

    @property
    def already_exists(self) -> bool:
        """A create hit an existing object of the same name."""
        return self.status == 409 and self.reason == "AlreadyExists"

    @property
    def gone(self) -> bool:
        """410: the resourceVersion (or list continue token) is too old; relist."""
        return self.status == 410

    @property
    def transient(self) -> bool:
        """Worth retrying: no response, throttled (429), or a server-side failure (5xx)."""
        return self.status is None or self.status in _RETRYABLE_STATUSES

    @classmethod
    def from_status(
        cls, status: int | None, body: Any, ref: ObjectRef, *, fallback_reason: str = ""
    ) -> KubernetesError:
        """Build from a decoded ``metav1.Status`` (an HTTP error body or a watch ERROR event).

        Anything that is not a Status dict still yields an error; the HTTP status code wins
        over the ``code`` field because it is what the client actually observed.
        """
        reason = fallback_reason
        message = ""
        if isinstance(body, dict):
            reason = str(body.get("reason") or reason)
            message = str(body.get("message") or "")
            if status is None and isinstance(body.get("code"), int):
                status = body["code"]
        return cls(
            status=status,
            reason=reason or "Unknown",
            message=message,
            kind=ref.kind,
            namespace=ref.namespace,
            name=ref.name,
        )

    @classmethod
    def from_response(
        cls, status: int, body: bytes, ref: ObjectRef, *, http_reason: str = ""
    ) -> KubernetesError:
        """Build from an HTTP error response, parsing the Status body when there is one."""
        try:
            decoded: Any = json.loads(body) if body else None
        except ValueError:
            decoded = None
        if isinstance(decoded, dict) and decoded.get("kind") == "Status":
            return cls.from_status(status, decoded, ref, fallback_reason=http_reason)
        excerpt = body[:_MAX_BODY_EXCERPT].decode("utf-8", "replace").strip()
        return cls(
            status=status,
            reason=http_reason or "Unknown",
            message=excerpt,
            kind=ref.kind,
            namespace=ref.namespace,
            name=ref.name,
        )

    @classmethod
    def unreachable(cls, exc: BaseException, ref: ObjectRef) -> KubernetesError:
        """Build from a transport failure (no HTTP response)."""
        return cls(
            status=None,
            reason=type(exc).__name__,
            message=str(exc) or "no response from the API server",
            kind=ref.kind,
            namespace=ref.namespace,
            name=ref.name,
        )
