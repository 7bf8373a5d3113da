"""fsadmin as the web layer sees it: three calls, each one message to the ``fsadmin`` actor.

The actor is a permanent child of the root supervisor (``supervisor`` here is that node).
"""

from __future__ import annotations

from actors.config import ControllerConfig
from actors.kube import KubeClient
from actors.runtime import ActorRef

from .actor import CreateFSAdmin, DeleteFSAdmin, FSAdminActor, FSAdminStatus, GetFSAdmin

__all__ = ["FSAdminService", "FSAdminStatus"]

QUEUE_ALLOWANCE = 3
"""A request may wait behind this many others, each bounded by ``fsadmin.timeout``."""


class FSAdminService:
    """Status, create and delete of the fsadmin pod."""

    def __init__(self, config: ControllerConfig, kube: KubeClient, *, namespace: str) -> None:
        self.actor = ActorRef("fsadmin", lambda: FSAdminActor(config, kube, namespace))
        self.actor.leader_only = True  # it creates and deletes the fsadmin pod
        self._ask_timeout = config.fsadmin.timeout.total_seconds() * QUEUE_ALLOWANCE + 5.0

    @property
    def supervisor(self) -> ActorRef:
        """The node to put in the tree (a single actor; no subtree)."""
        return self.actor

    async def status(self) -> FSAdminStatus:
        """The running pod's start time; ``PodNotFoundError`` / ``InvalidPodPhaseError``."""
        return await self.actor.ask(GetFSAdmin(), timeout=self._ask_timeout)

    async def create(self) -> FSAdminStatus:
        """Start the pod (or keep the running one) and answer as ``status`` does."""
        return await self.actor.ask(CreateFSAdmin(), timeout=self._ask_timeout)

    async def delete(self) -> None:
        """Remove the pod and its claims (idempotent)."""
        await self.actor.ask(DeleteFSAdmin(), timeout=self._ask_timeout)
