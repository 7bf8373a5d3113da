"""Several controller replicas on one simulated site, in this process.

Each replica is the real controller serving HTTP (``serving_controller``) with leader
election on and short timings, so that elections, failovers and fences happen within a
second or two. Replicas are entered and left independently (an ``AsyncExitStack`` each), as
a rolling upgrade starts and stops them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import trio

from actors.replicas.service import ReplicaService
from kubesim.errors import ApiError
from kubesim.site import Site
from tests.e2e.harness import RunningController, serving_controller
from web.simulate import CONTROLLER_NAMESPACE

LEASE = "nublado-controller"
TIMINGS = {
    "enabled": True,
    "leaseDuration": 2,
    "renewDeadline": 1.5,
    "retryPeriod": 0.25,
    "handoffTimeout": 3,
    "forwardTimeout": 5,
}


def election_overrides(**extra: Any) -> dict[str, Any]:
    """Config overrides that turn leader election on with short timings."""
    return {"leaderElection": {**TIMINGS, **extra}}


class Replica:
    """One replica, run in a task of its own so that replicas stop in any order."""

    def __init__(self) -> None:
        self._running: RunningController | None = None
        self._stop = trio.Event()
        self._done = trio.Event()
        self._scope = trio.CancelScope()

    @property
    def running(self) -> RunningController:
        assert self._running is not None
        return self._running

    @property
    def replicas(self) -> ReplicaService:
        replicas = self.running.controller.replicas
        assert replicas is not None
        return replicas

    @property
    def identity(self) -> str:
        return self.replicas.view.identity

    @property
    def serving(self) -> bool:
        return self.replicas.view.serves_locally()

    async def run(
        self,
        site: Site,
        overrides: dict[str, Any],
        *,
        task_status: trio.TaskStatus[Replica] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        try:
            with self._scope:
                async with serving_controller(site, config_overrides=overrides) as running:
                    self._running = running
                    task_status.started(self)
                    await self._stop.wait()
        finally:
            self._done.set()

    async def stop(self) -> None:
        """Shut down gracefully (hand-off included), as SIGTERM does."""
        self._stop.set()
        await self._done.wait()

    async def crash(self) -> None:
        """Stop at once, without a hand-off or a word to anyone: in this process, the
        nearest thing to SIGKILL (the lease is left to expire)."""
        self._scope.cancel()
        await self._done.wait()


async def start_replica(nursery: trio.Nursery, site: Site, **overrides: Any) -> Replica:
    """Start a replica in ``nursery``; returns once it serves HTTP (leading or not)."""
    replica = Replica()
    started: Replica = await nursery.start(
        partial(replica.run, site, {**election_overrides(), **overrides})
    )
    return started


def lease(site: Site) -> dict[str, Any] | None:
    """The lease as kubesim stores it."""
    store = site.store
    try:
        return store.get(store.resource("leases"), CONTROLLER_NAMESPACE, LEASE)
    except ApiError:
        return None


async def wait_until(condition: Callable[[], bool], *, timeout: float = 20.0) -> None:  # noqa: ASYNC109
    with trio.fail_after(timeout):
        while not condition():
            await trio.sleep(0.02)
