"""What the Kubernetes client reports to whoever measures it (metrics, health).

The client knows nothing of Prometheus: :class:`~actors.kube.transport.ApiTransport` and
:class:`~actors.kube.watch.Watch` call an optional observer at the few moments worth
counting. Every argument is drawn from a small fixed set (HTTP verbs, resource kinds, status
codes), never an object name, so whoever turns them into labels keeps cardinality bounded.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["KubeObserver", "verb_of"]


class KubeObserver(Protocol):
    """Receives one call per API request attempt and per watch restart or relist."""

    def request_done(self, verb: str, kind: str, seconds: float, status: int | None) -> None:
        """One attempt finished: ``status`` is the HTTP status, ``None`` when no response
        arrived (connection refused or reset, timeout)."""

    def watch_restarted(self, kind: str, *, failed: bool) -> None:
        """A watch stream of ``kind`` is restarted (``failed``: after an error, with backoff)."""

    def watch_relisted(self, kind: str) -> None:
        """A watch of ``kind`` lost its resourceVersion (410 Gone) and lists again."""


_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


def verb_of(method: str, *, named: bool) -> str:
    """The Kubernetes verb of a request: ``named`` says whether the path names one object."""
    if method == "GET":
        return "get" if named else "list"
    if method == "DELETE":
        return "delete" if named else "deletecollection"
    return _VERBS.get(method, method.lower())
