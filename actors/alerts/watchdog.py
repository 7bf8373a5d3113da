"""The ``kubernetes-watchdog`` actor: alerts when the Kubernetes API stops answering.

Every ``alerts.kubernetesProbeInterval`` it reads the controller's own namespace (a request
its RBAC always allows, answered from the API server's cache). Any HTTP answer below 500
other than 429 means the API server is there; no answer, a timeout, a 5xx or a 429 means it
is not. Once the API has not answered for ``alerts.kubernetesUnreachableAfter`` one alert is
posted; when it answers again, one "recovered" post says for how long it was gone.
"""

from __future__ import annotations

from typing import Any

import structlog
import trio

from actors.config.alerts import AlertsConfig
from actors.kube import KubeClient, KubernetesError
from actors.runtime import Actor

from .model import Operation
from .reporter import AlertReporter

__all__ = ["KubernetesWatchdog"]

log = structlog.get_logger(__name__)

PROBE_TIMEOUT = 10.0
"""Longest wait for one probe (the client's own retries of a 5xx happen within it)."""


class KubernetesWatchdog(Actor):
    """Probes the API server and alerts on a long outage (see module docstring)."""

    kind = "watchdog"

    def __init__(
        self, kube: KubeClient, namespace: str, config: AlertsConfig, reporter: AlertReporter
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.interval = config.kubernetes_probe_interval.total_seconds()
        self.threshold = config.kubernetes_unreachable_after.total_seconds()
        self.reporter = reporter
        self.failing_since: float | None = None
        self.last_error: str | None = None
        self.alerted = False
        self.probes = 0

    async def on_start(self) -> None:
        self.context.start_soon(self._probe_forever)

    @property
    def phase(self) -> str:
        if self.failing_since is None:
            return "reachable" if self.probes else "starting"
        return "unreachable"

    def inspect(self) -> dict[str, Any]:
        since = self.failing_since
        return {
            "probes": self.probes,
            "unreachable_for_seconds": (
                None if since is None else round(trio.current_time() - since, 1)
            ),
            "last_error": self.last_error,
            "alerted": self.alerted,
        }

    async def _probe(self) -> str | None:
        """``None`` when the API server answered, else why it did not."""
        timeout = PROBE_TIMEOUT
        try:
            with trio.move_on_after(timeout):
                await self.kube.namespaces.read(self.namespace)
                return None
        except KubernetesError as error:
            status = error.status
            if status is not None and status < 500 and status != 429:
                return None
            return str(error)
        return f"no answer within {timeout:g} s"

    async def _probe_forever(self) -> None:
        while True:
            started = trio.current_time()
            problem = await self._probe()
            self.probes += 1
            now = trio.current_time()
            if problem is None:
                if self.failing_since is not None:
                    self._recovered(now - self.failing_since)
                self.failing_since = None
                self.last_error = None
            else:
                if self.failing_since is None:
                    self.failing_since = started
                    log.warning("Kubernetes API not answering", error=problem)
                self.last_error = problem
                down = now - self.failing_since
                if not self.alerted and down >= self.threshold:
                    self.alerted = True
                    self.reporter.report(
                        Operation.KUBERNETES,
                        f"The Kubernetes API has not answered for {down:.0f} s: {problem}",
                    )
            self.context.changed()
            await trio.sleep(self.interval)

    def _recovered(self, down: float) -> None:
        log.info("Kubernetes API answering again", unreachable_seconds=round(down, 1))
        if self.alerted:
            self.alerted = False
            self.reporter.resolved(
                Operation.KUBERNETES, f"The Kubernetes API answers again after {down:.0f} s"
            )
