"""A rolling upgrade of a replicated controller during a storm, as JupyterHub sees it.

Processes as in production: a standalone kubesim, controller replicas with leader election
(``nublado-trio serve``), and this test, which drives users as JupyterHub's spawner does
(create, follow the progress stream to its end, read the lab's URL; delete) through a
"Service": an HTTP transport that sends each request to one of the ready replicas in turn,
and takes a replica out of the rotation just before it is stopped, as a Service's endpoints
do for a terminating pod.

While the storm runs, every original replica is replaced the way ``kubectl rollout`` does
it: a new process starts, serves, joins the rotation; then the leader among the old ones
(or, once none leads, an old follower) leaves the rotation and gets SIGTERM. Every replica
is replaced, the leader included.

What must hold, as the client sees it: no failed operation, no 5xx answer, every progress
stream ends with ``complete`` or ``failed`` (none just stops), and in the end the cluster is
exactly what the users' last actions asked for, with nothing orphaned.
"""

from __future__ import annotations

import signal
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import trio

from tests.e2e.processes import ChildProcess, controller_process, kubesim_process
from tests.e2e.spawner_client import Credentials, SpawnerClient, SpawnerError
from tests.e2e.test_e2e_resilience_sigkill import (
    CONTROLLER_NAMESPACE,
    PATH_PREFIX,
    controller_config,
    kubeconfig,
    kubesim_config,
    options,
    problems,
    write_yaml,
)

USERS = 300
PRESTOP_PAUSE = 1.0
"""Seconds between leaving the rotation and SIGTERM (the deployment pauses 5 s there)."""
OPERATION_DEADLINE = 60.0
"""A user's whole plan takes seconds; one that takes this long is stuck."""
STAGGER = 0.04
"""Seconds between two users' first requests: the storm lasts about USERS * STAGGER."""
REPLICAS = 2
DEADLINE = 240.0
CONVERGE_DEADLINE = 60.0
FAST_TAG = "w_2026_46"
SERVICE = "http://nublado-controller.service"
TIMEOUT = httpx.Timeout(CONVERGE_DEADLINE)
ELECTION = {
    "enabled": True,
    # Short, so that the test is quick, but with room for a loaded CI machine.
    "leaseDuration": 6,
    "renewDeadline": 4,
    "retryPeriod": 0.5,
    "handoffTimeout": 5,
    "forwardTimeout": 15,
}


@dataclass
class User:
    index: int
    starts: int
    failures: list[str] = field(default_factory=list)
    unfinished_streams: int = 0
    started: int = 0
    phase: str = ""
    seen: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"storm{self.index:03d}"

    @property
    def token(self) -> str:
        return f"token-{self.name}"

    @property
    def namespace(self) -> str:
        return f"nublado-{self.name}"

    @property
    def wants_lab(self) -> bool:
        return self.index % 3 != 0


class ServiceTransport(httpx.AsyncBaseTransport):
    """Each request to one of the ready replicas in turn (see module docstring)."""

    def __init__(self) -> None:
        self.endpoints: list[httpx.URL] = []
        self.statuses: Counter[int] = Counter()
        self.server_errors: list[str] = []
        self._turn = 0
        self._inner = httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=2 * USERS)
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        endpoint = self.endpoints[self._turn % len(self.endpoints)]
        self._turn += 1
        request.url = request.url.copy_with(
            scheme=endpoint.scheme, host=endpoint.host, port=endpoint.port
        )
        response = await self._inner.handle_async_request(request)
        self.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.server_errors.append(
                f"{request.method} {request.url.path}: {response.status_code}"
            )
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass
class Replica:
    process: ChildProcess
    url: httpx.URL
    generation: int
    stack: AsyncExitStack

    @property
    def running(self) -> bool:
        return self.process.process.returncode is None

    async def leads(self, http: httpx.AsyncClient) -> bool:
        metrics = await http.get(f"{self.url}/metrics")
        return "nublado_leader 1.0" in metrics.text


def spawner(http: httpx.AsyncClient, user: User) -> SpawnerClient:
    return SpawnerClient(
        http=http,
        base_url=f"{SERVICE}{PATH_PREFIX}",
        username=user.name,
        credentials=Credentials.behind_ingress(user.name, user.token),
        start_timeout=CONVERGE_DEADLINE,
    )


async def start_lab(client: SpawnerClient, user: User) -> None:
    """Create (recovering from 409 by deleting, as the spawner does), follow the stream to
    its end, then read the URL; a stream that ends without a final event is counted."""
    user.phase = "create"
    await client._create_with_recovery(options(FAST_TAG), {"JUPYTERHUB_SERVICE_PREFIX": "/"})
    final = None
    user.phase = "events"
    async with client.open_events() as events:
        async for event in events:
            user.seen.append(event.event)
            if event.event in ("complete", "failed"):
                final = event.event
                break
    user.phase = "url"
    if final is None:
        user.unfinished_streams += 1
        raise SpawnerError("the progress stream ended without complete or failed")
    if final == "failed":
        raise SpawnerError("the spawn failed")
    await client._internal_url()


async def drive(client: SpawnerClient, user: User) -> None:
    """Start, stop, and start again unless the user's last wish is no lab; users begin
    :data:`STAGGER` apart, so that operations of every kind are in flight throughout."""
    await trio.sleep(user.index * STAGGER)
    step = "start"
    try:
        with trio.fail_after(OPERATION_DEADLINE):
            user.started += 1
            await start_lab(client, user)
            step = "stop"
            await client.stop()
            if user.wants_lab:
                step = "second start"
                user.started += 1
                await start_lab(client, user)
    except* (httpx.HTTPError, SpawnerError) as group:
        user.failures.extend(f"{step}: {type(e).__name__}: {e}" for e in group.exceptions)
    except* trio.TooSlowError:
        user.failures.append(
            f"{step}: stuck for {OPERATION_DEADLINE} s in {user.phase}, events {user.seen}"
        )


@pytest.mark.timeout(DEADLINE + 30)
async def test_rolling_upgrade_during_a_storm_fails_nothing(tmp_path: Path) -> None:
    users = [User(i, 0) for i in range(USERS)]
    site_config = write_yaml(tmp_path / "kubesim.yaml", kubesim_config(users))  # type: ignore[arg-type]
    service = ServiceTransport()
    replicas: list[Replica] = []
    with trio.fail_after(DEADLINE):
        async with (
            kubesim_process(site_config, tmp_path / "kubesim.log") as (_, site_url),
            httpx.AsyncClient(base_url=site_url, timeout=TIMEOUT) as kube,
            httpx.AsyncClient(timeout=TIMEOUT) as direct,
            httpx.AsyncClient(transport=service, timeout=TIMEOUT) as http,
            AsyncExitStack() as processes,
        ):
            created = await kube.post(
                "/api/v1/namespaces", json={"metadata": {"name": CONTROLLER_NAMESPACE}}
            )
            assert created.status_code == 201, created.text
            metadata = tmp_path / "podinfo"
            metadata.mkdir()
            (metadata / "namespace").write_text(f"{CONTROLLER_NAMESPACE}\n")
            data = controller_config(site_url, metadata)
            data["leaderElection"] = ELECTION
            config = write_yaml(tmp_path / "config.yaml", data)
            credentials = write_yaml(tmp_path / "kubeconfig", kubeconfig(site_url))
            serial = 0

            async def start(generation: int) -> Replica:
                nonlocal serial
                serial += 1
                name = f"replica-{generation}-{serial}"
                stack = AsyncExitStack()
                env = {"KUBECONFIG": str(credentials), "POD_NAME": name}
                log = tmp_path / f"{name}.log"
                process, url = await stack.enter_async_context(
                    controller_process(config, log, env=env)
                )
                await processes.enter_async_context(stack)
                replica = Replica(process, httpx.URL(url), generation, stack)
                replicas.append(replica)
                service.endpoints.append(replica.url)
                return replica

            for _ in range(REPLICAS):
                await start(0)
            async with trio.open_nursery() as nursery:
                for user in users:
                    nursery.start_soon(drive, spawner(http, user), user)
                # Let the storm get going, then replace every original replica.
                await trio.sleep(1.0)
                stopped: list[tuple[Replica, int]] = []
                for _ in range(REPLICAS):
                    await start(1)
                    old = [
                        r
                        for r in replicas
                        if r.generation == 0 and r.process.process.returncode is None
                    ]
                    leaders = [r for r in old if await r.leads(direct)]
                    victim = (leaders or old)[0]
                    service.endpoints.remove(victim.url)
                    # The manifests' preStop pause: requests already on their way to the
                    # replica arrive before it stops listening.
                    await trio.sleep(PRESTOP_PAUSE)
                    victim.process.process.send_signal(signal.SIGTERM)
                    stopped.append((victim, bool(leaders)))
                    status = await victim.process.process.wait()
                    assert status == 0, victim.process.tail()
                    await trio.sleep(1.0)
            assert any(was_leader for _, was_leader in stopped), "no leader was replaced"
            failed = [f"{u.name}: {failure}" for u in users for failure in u.failures]
            assert not failed, failed[:20]
            assert not service.server_errors, service.server_errors[:20]
            assert sum(u.unfinished_streams for u in users) == 0
            assert sum(u.started for u in users) >= USERS
            hub = httpx.AsyncClient(transport=service, base_url=SERVICE, timeout=TIMEOUT)
            last: list[str] = []
            with trio.move_on_after(CONVERGE_DEADLINE):
                while last := await problems(kube, hub, users):  # type: ignore[arg-type]
                    await trio.sleep(0.2)
            assert not last, (last[:20], await _history(kube, last))
            for replica in replicas:
                if replica.generation == 1:
                    assert replica.process.process.returncode is None, replica.process.tail()


async def _history(kube: httpx.AsyncClient, problems_found: list[str]) -> list[str]:
    """What kubesim's request log says of the first namespace in trouble (for the failure
    message: who wrote what, when)."""
    names = [word.rstrip(":") for text in problems_found for word in text.split()]
    users = [name for name in names if name.startswith("storm")]
    if not users:
        return []
    namespace = f"nublado-{users[0]}"
    response = await kube.get("/_kubesim/requests", params={"namespace": namespace})
    history = [
        f"{entry['time']:.3f} {entry['client']} {entry['verb']} {entry['resource']}"
        f" {entry['name']} {entry['status']}"
        for entry in response.json()["requests"]
        if entry["verb"] not in ("get", "list", "watch")
    ]
    print(f"kubesim's writes in {namespace}:", *history, sep="\n  ")  # in the test's output
    return history
