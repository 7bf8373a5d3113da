"""How any part of the controller reports an alert: :func:`report_alert`, which never waits.

The reporter of the running controller is found through a context variable that
``open_controller`` sets for the block it serves, so every task started inside it (actors,
their operations, request handlers) reports to the same place without each constructor
passing a handle down. Outside a controller with a webhook (unit tests, no
``slackWebhook``) reporting does nothing.

A report is one ``tell`` to the ``alerts`` actor: when its mailbox is full the alert is
dropped and counted (a throttled log line says so), so a storm of failures can never slow
the operations that fail. The error text is redacted first (:func:`actors.redaction.redact`,
the same rules as the log lines), and the webhook URL itself is never part of an alert.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from actors.redaction import redact
from actors.runtime import ActorRef, ActorStopped, MailboxFull

from .model import Alert
from .sender import AlertStats

__all__ = [
    "MAX_ERROR_LENGTH",
    "AlertReporter",
    "bound_reporter",
    "current_reporter",
    "report_alert",
]

MAX_ERROR_LENGTH = 4_000
"""Characters of an error kept in an alert (Slack shows less; see ``slack.py``)."""


class AlertReporter:
    """Turns a failure into an :class:`Alert` and hands it to the ``alerts`` actor."""

    def __init__(self, actor: ActorRef, stats: AlertStats, secrets: tuple[str, ...]) -> None:
        self.actor = actor
        self.stats = stats
        self._secrets = secrets

    def report(self, operation: str, error: str, *, user: str | None = None) -> None:
        """Queue an alert; never waits, never raises."""
        self._send(Alert(operation, self._clean(error), user))

    def resolved(self, operation: str, message: str) -> None:
        """Say that a problem alerted earlier is over."""
        self._send(Alert(operation, self._clean(message), resolved=True))

    def _clean(self, error: str) -> str:
        return redact(error[:MAX_ERROR_LENGTH], self._secrets)

    def _send(self, alert: Alert) -> None:
        try:
            self.actor.tell(alert)
        except MailboxFull:
            self.stats.drop("the alert queue is full")
        except ActorStopped:
            self.stats.drop("the alert sender has stopped")


_current: ContextVar[AlertReporter | None] = ContextVar("nublado_alert_reporter", default=None)


def report_alert(operation: str, error: str, *, user: str | None = None) -> None:
    """Report a failure to the operators' alert channel, if the controller has one."""
    reporter = _current.get()
    if reporter is not None:
        reporter.report(operation, error, user=user)


def current_reporter() -> AlertReporter | None:
    """The reporter of the controller this task runs in, if it has one."""
    return _current.get()


@contextmanager
def bound_reporter(reporter: AlertReporter | None) -> Iterator[None]:
    """Make ``reporter`` the one :func:`report_alert` uses, in this task and the tasks it
    starts from now on, for the duration of the block."""
    token = _current.set(reporter)
    try:
        yield
    finally:
        _current.reset(token)
