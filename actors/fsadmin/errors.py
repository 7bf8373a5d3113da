"""Server-side failures of fsadmin and migrator operations, as refusals with a 500 status.

They are ``ControllerError`` subclasses (so an actor reporting one stays healthy) whose types
are not in the §3.2 table; the web layer renders unlisted types as 500 with a JSON body,
which §3.4 allows. Messages never contain Kubernetes response bodies.
"""

from __future__ import annotations

from actors.errors import ControllerError

__all__ = ["ControllerTimeoutError", "KubernetesFailureError"]


class ControllerTimeoutError(ControllerError):
    """An operation ran out of time (``"<operation> timed out after <seconds>"``)."""

    error_type = "controller_timeout"


class KubernetesFailureError(ControllerError):
    """A Kubernetes call failed; details are in the log."""

    error_type = "kubernetes_error"
