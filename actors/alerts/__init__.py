"""Operator alerts to a Slack incoming webhook (``slackWebhook``).

* ``model`` — what an alert says; ``slack`` — how it looks in Slack;
* ``reporter`` — :func:`report_alert`, which any code calls and which never waits;
* ``sender`` — the ``alerts`` actor: de-duplication, rate limit, posting;
* ``watchdog`` — the ``kubernetes-watchdog`` actor: an alert when the API server is gone;
* ``service`` — builds both actors when a webhook is configured.
"""

from .model import Alert, Operation, error_text
from .reporter import AlertReporter, bound_reporter, current_reporter, report_alert
from .sender import AlertSender, AlertStats
from .service import AlertService

__all__ = [
    "Alert",
    "AlertReporter",
    "AlertSender",
    "AlertService",
    "AlertStats",
    "Operation",
    "bound_reporter",
    "current_reporter",
    "error_text",
    "report_alert",
]
