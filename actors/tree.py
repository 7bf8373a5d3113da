"""The production actor tree for a configuration.

Every long-lived service of the controller hangs off the root supervisor built here; the
services add themselves as their capabilities land (labs, file servers, images, prepuller,
fsadmin, migrations). Until then the root supervises nothing but itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.runtime import ActorSystem, RestartLimits, Supervisor

if TYPE_CHECKING:
    from actors.config import ControllerConfig

ROOT_LIMITS = RestartLimits(max_restarts=10, window=60.0, backoff_initial=0.5, backoff_max=30.0)
"""Generous at the root: a service that keeps crashing for a minute takes the process down,
which lets Kubernetes restart the controller with a clean slate."""


def build_system(config: ControllerConfig) -> ActorSystem:
    """The actor system the controller runs for ``config``."""
    root = Supervisor("root", limits=ROOT_LIMITS)
    return ActorSystem(root)
