"""The controller's health: per-service checks that say *degraded* without asking for a restart.

What is checked, each as one :class:`HealthCheck`:

* ``kubernetes`` — the latest Kubernetes API request was answered (a 4xx is an answer; a 5xx,
  a 429 or no response is not). Judged from the requests the controller makes anyway (its
  watches restart and relist, its reconciliations list), so checking costs the API server
  nothing.
* ``actor:<name>`` — each singleton actor (images, prepuller, the managers, the informers,
  fsadmin ...) is running and not in a phase that means it cannot do its job (an informer
  whose watch is ``refused``, an image catalog whose last refresh failed).
* ``reconcile:labs`` / ``reconcile:fileservers`` — the last successful reconciliation pass is
  not older than twice its interval plus a minute.
* ``images:refresh`` — the image catalog was refreshed successfully within twice its interval
  plus a minute (plus the retry pause after a failure).

Degraded is not dead: the controller keeps answering from memory and keeps retrying, and
restarting it would only lose that memory. So health is a report for people and alerts, not
a probe: liveness stays ``GET /``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, Field

from actors.config import ControllerConfig, FileserverEnabled
from actors.runtime import ActorSnapshot, ActorStatus, ActorSystem

from .kube import Reachability
from .tree import epoch_of

__all__ = ["HealthCheck", "HealthReport", "health_report"]

GRACE = 60.0
"""Seconds of slack on top of twice an interval before a pass counts as overdue."""

IMAGE_RETRY = 60.0
"""The image service retries a failed refresh after at most this long."""

_BAD_PHASES = frozenset({"refused", "degraded", "failed"})


class HealthCheck(BaseModel):
    """One service's state."""

    name: str = Field(description="What is checked: `kubernetes`, `actor:<name>`, ...")
    ok: bool
    message: str = Field(description="Why the check is (not) ok, in words")
    age_seconds: float | None = Field(
        default=None, description="Seconds since the last success, where that is measured"
    )


class HealthReport(BaseModel):
    """``GET /health``: the overall status and every check."""

    status: Literal["ok", "degraded"]
    checks: list[HealthCheck]


def health_report(
    config: ControllerConfig, system: ActorSystem, reachability: Reachability
) -> HealthReport:
    """Judge every check now; never waits for an actor or makes a request."""
    checks = [
        _kubernetes(reachability),
        *_singletons(system.snapshot()),
        *_reconciles(config, system),
        _image_refresh(config, system),
    ]
    status: Literal["ok", "degraded"] = "ok" if all(c.ok for c in checks) else "degraded"
    return HealthReport(status=status, checks=checks)


def _kubernetes(state: Reachability) -> HealthCheck:
    now = time.monotonic()
    age = None if state.last_answer is None else round(now - state.last_answer, 3)
    reachable = state.reachable
    if reachable is None:
        return HealthCheck(name="kubernetes", ok=True, message="no request made yet")
    if reachable:
        return HealthCheck(
            name="kubernetes", ok=True, message="the API server answers", age_seconds=age
        )
    return HealthCheck(
        name="kubernetes",
        ok=False,
        message=(
            f"the last {state.consecutive_failures} request(s) got no answer"
            f" ({state.last_failure_reason})"
        ),
        age_seconds=age,
    )


def _singleton_nodes(root: ActorSnapshot) -> Iterator[ActorSnapshot]:
    """Actors that are children of the root or of a service supervisor under it: never the
    per-user actors, which live one level further down, under their registry."""
    for child in root.children:
        if child.kind != "supervisor":
            yield child
            continue
        for grandchild in child.children:
            if grandchild.kind != "supervisor":
                yield grandchild


def _singletons(root: ActorSnapshot) -> Iterator[HealthCheck]:
    for node in _singleton_nodes(root):
        ok = node.status is ActorStatus.RUNNING and node.phase not in _BAD_PHASES
        message = f"{node.status.value}, {node.phase}"
        if not ok and node.last_error:
            message += f"; last error: {node.last_error}"
        yield HealthCheck(name=f"actor:{node.name}", ok=ok, message=message)


def _age_check(name: str, at: float | None, limit: float, what: str) -> HealthCheck:
    if at is None:
        return HealthCheck(name=name, ok=False, message=f"no successful {what} yet")
    age = max(0.0, time.time() - at)
    ok = age <= limit
    message = f"last successful {what} {age:.0f} s ago" + ("" if ok else f" (limit {limit:g} s)")
    return HealthCheck(name=name, ok=ok, message=message, age_seconds=round(age, 3))


def _reconciles(config: ControllerConfig, system: ActorSystem) -> Iterator[HealthCheck]:
    services = [("labs", "lab-manager", config.lab.reconcile_interval.total_seconds())]
    if isinstance(config.fileserver, FileserverEnabled):
        interval = config.fileserver.reconcile_interval.total_seconds()
        services.append(("fileservers", "fileserver-manager", interval))
    for service, actor, interval in services:
        snapshot = system.find(actor)
        at = epoch_of(snapshot.details.get("last_pass_at")) if snapshot is not None else None
        yield _age_check(f"reconcile:{service}", at, 2 * interval + GRACE, "reconciliation")


def _image_refresh(config: ControllerConfig, system: ActorSystem) -> HealthCheck:
    snapshot = system.find("images")
    details = snapshot.details if snapshot is not None else {}
    interval = config.images.refresh_interval.total_seconds()
    check = _age_check(
        "images:refresh",
        epoch_of(details.get("last_success")),
        2 * interval + IMAGE_RETRY + GRACE,
        "image refresh",
    )
    error = details.get("last_error")
    if check.ok and isinstance(error, str):
        return check.model_copy(
            update={"ok": False, "message": f"{check.message}; last refresh failed: {error}"}
        )
    return check
