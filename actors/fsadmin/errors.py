"""Server-side failures of fsadmin and migrator operations, as refusals with a 500 status.

They are ``ControllerError`` subclasses (so an actor reporting one stays healthy) whose types
are not in the §3.2 table; they are answered as 500 with a JSON body, which §3.4 allows, and
say so themselves (``status``) like every other refusal. Messages never contain Kubernetes
response bodies.
"""

from __future__ import annotations

from actors.errors import ControllerError

__all__ = ["ControllerTimeoutError", "KubernetesFailureError"]


class ControllerTimeoutError(ControllerError):
    """An operation ran out of time (``"<operation> timed out after <seconds>"``)."""

    error_type = "controller_timeout"
    status = 500


class KubernetesFailureError(ControllerError):
    """A Kubernetes call failed; details are in the log."""

    error_type = "kubernetes_error"
    status = 500
