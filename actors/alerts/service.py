""":class:`AlertService`: the ``alerts`` sender and the Kubernetes watchdog, when configured.

Built only when ``slackWebhook`` is set. ``reporter`` is what ``open_controller`` binds for
the controller's tasks (see ``reporter.py``); ``give_up`` is hooked to the actor system so
that an actor (or a supervisor) abandoned after its restart limit is reported.
"""

from __future__ import annotations

import httpx

from actors.config import ControllerConfig
from actors.kube import KubeClient
from actors.runtime import ActorRef, RestartPolicy

from .model import Operation
from .reporter import AlertReporter
from .sender import AlertSender, AlertStats
from .watchdog import KubernetesWatchdog

__all__ = ["ALERT_MAILBOX", "AlertService"]

ALERT_MAILBOX = 1_000
"""The bounded queue between reporters and the sender: a burst of this many alerts is
absorbed (and de-duplicated) in memory; past it, alerts are dropped and counted."""


class AlertService:
    """The two alert actors and the reporter that feeds them."""

    def __init__(
        self, config: ControllerConfig, http: httpx.AsyncClient, kube: KubeClient, namespace: str
    ) -> None:
        assert config.slack_webhook is not None
        webhook = config.slack_webhook.get_secret_value()
        self.stats = AlertStats()
        self.sender = ActorRef(
            "alerts",
            lambda: AlertSender(
                webhook, app=config.name, config=config.alerts, http=http, stats=self.stats
            ),
            mailbox_size=ALERT_MAILBOX,
        )
        self.reporter = AlertReporter(self.sender, self.stats, (webhook,))
        self.watchdog = ActorRef(
            "kubernetes-watchdog",
            lambda: KubernetesWatchdog(kube, namespace, config.alerts, self.reporter),
        )
        self.children: list[tuple[ActorRef, RestartPolicy]] = [
            (self.sender, RestartPolicy.PERMANENT),
            (self.watchdog, RestartPolicy.PERMANENT),
        ]

    def give_up(self, name: str, reason: str) -> None:
        """Report an actor abandoned by its supervisor (hooked to the actor system)."""
        user = name.split("/", 1)[1] if name.startswith(("lab/", "fileserver/")) else None
        self.reporter.report(Operation.ACTOR, f"{name}: {reason}", user=user)
