"""Failover between controller processes: a leader killed, a leader cut off.

Processes as in production: a standalone kubesim and two controller replicas with leader
election (``nublado-trio serve``). kubesim's request log (its audit log) says which client
wrote what and when; the partition fault cuts one client off the API server.
"""

from __future__ import annotations

import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from tests.e2e.processes import ChildProcess, controller_process, kubesim_process
from tests.e2e.test_e2e_resilience_sigkill import (
    CONTROLLER_NAMESPACE,
    controller_config,
    kubeconfig,
    kubesim_config,
    write_yaml,
)

DEADLINE = 90.0
LEASE_DURATION = 4.0
RENEW_DEADLINE = 3.0
ELECTION = {
    "enabled": True,
    "leaseDuration": LEASE_DURATION,
    "renewDeadline": RENEW_DEADLINE,
    "retryPeriod": 0.5,
}
WRITES = "create,update,patch,delete,deletecollection"
LEASE = f"/apis/coordination.k8s.io/v1/namespaces/{CONTROLLER_NAMESPACE}/leases/nublado-controller"


class Replica:
    def __init__(self, name: str, process: ChildProcess, url: str) -> None:
        self.name = name
        self.process = process
        self.url = url

    async def leads(self, http: httpx.AsyncClient) -> bool:
        try:
            metrics = await http.get(f"{self.url}/metrics")
        except httpx.HTTPError:
            return False
        return "nublado_leader 1.0" in metrics.text


async def _cluster(tmp_path: Path, stack: AsyncExitStack) -> tuple[str, httpx.AsyncClient]:
    site_config = write_yaml(tmp_path / "kubesim.yaml", kubesim_config([]))
    _, site_url = await stack.enter_async_context(
        kubesim_process(site_config, tmp_path / "kubesim.log")
    )
    kube = await stack.enter_async_context(httpx.AsyncClient(base_url=site_url))
    created = await kube.post(
        "/api/v1/namespaces", json={"metadata": {"name": CONTROLLER_NAMESPACE}}
    )
    assert created.status_code == 201, created.text
    return site_url, kube


async def _replicas(
    tmp_path: Path, stack: AsyncExitStack, site_url: str, http: httpx.AsyncClient
) -> tuple[Replica, Replica]:
    metadata = tmp_path / "podinfo"
    metadata.mkdir()
    (metadata / "namespace").write_text(f"{CONTROLLER_NAMESPACE}\n")
    data: dict[str, Any] = controller_config(site_url, metadata)
    data["leaderElection"] = ELECTION
    config = write_yaml(tmp_path / "config.yaml", data)
    credentials = write_yaml(tmp_path / "kubeconfig", kubeconfig(site_url))
    replicas = []
    for name in ("replica-a", "replica-b"):
        env = {"KUBECONFIG": str(credentials), "POD_NAME": name}
        process, url = await stack.enter_async_context(
            controller_process(config, tmp_path / f"{name}.log", env=env)
        )
        replicas.append(Replica(name, process, url))
    while not any([await r.leads(http) for r in replicas]):
        await trio.sleep(0.05)
    first, second = replicas
    return (first, second) if await first.leads(http) else (second, first)


async def _holder(kube: httpx.AsyncClient) -> dict[str, Any]:
    lease = await kube.get(LEASE)
    assert lease.status_code == 200, lease.text
    spec: dict[str, Any] = lease.json()["spec"]
    return spec


async def _writes(kube: httpx.AsyncClient, client: str, since: float) -> list[dict[str, Any]]:
    """Writes ``client`` sent to the API server after ``since`` (lease writes excepted)."""
    log = await kube.get(
        "/_kubesim/requests", params={"client": client, "since": since, "verbs": WRITES}
    )
    assert log.status_code == 200, log.text
    assert log.json()["complete"]
    return [entry for entry in log.json()["requests"] if entry["resource"] != "leases"]


@pytest.mark.timeout(DEADLINE + 30)
async def test_sigkill_of_the_leader_hands_the_lease_to_the_follower(tmp_path: Path) -> None:
    with trio.fail_after(DEADLINE):
        async with AsyncExitStack() as stack:
            site_url, kube = await _cluster(tmp_path, stack)
            http = await stack.enter_async_context(httpx.AsyncClient(timeout=5.0))
            leader, follower = await _replicas(tmp_path, stack, site_url, http)
            before = await _holder(kube)
            assert before["holderIdentity"] == leader.name
            killed_at = time.time()
            assert await leader.process.sigkill() < 0
            while not await follower.leads(http):
                await trio.sleep(0.05)
            after = await _holder(kube)
            assert after["holderIdentity"] == follower.name
            assert after["leaseTransitions"] == before["leaseTransitions"] + 1
            # The new leader serves: the follower answers the hub's list itself.
            listed = await http.get(f"{follower.url}/nublado/spawner/v1/labs")
            assert listed.status_code == 200, listed.text
            assert await _writes(kube, leader.name, killed_at) == []


@pytest.mark.timeout(DEADLINE + 30)
async def test_a_partitioned_leader_stops_and_the_follower_takes_over(tmp_path: Path) -> None:
    with trio.fail_after(DEADLINE):
        async with AsyncExitStack() as stack:
            site_url, kube = await _cluster(tmp_path, stack)
            http = await stack.enter_async_context(httpx.AsyncClient(timeout=5.0))
            leader, follower = await _replicas(tmp_path, stack, site_url, http)
            cut = await kube.post("/_kubesim/faults/partitions", json={"client": leader.name})
            assert cut.status_code < 300, cut.text
            cut_at = time.time()
            # The cut-off leader stops leading by itself (its fence), and the follower
            # takes over once the lease it saw last has expired.
            while await leader.leads(http):
                await trio.sleep(0.05)
            while not await follower.leads(http):
                await trio.sleep(0.05)
            takeover = await _holder(kube)
            assert takeover["holderIdentity"] == follower.name
            # Nothing the old leader sent after its fence, nor after the takeover.
            late = await _writes(kube, leader.name, cut_at + RENEW_DEADLINE)
            assert late == [], late
            healed = await kube.delete("/_kubesim/faults/partitions")
            assert healed.status_code < 300, healed.text
            # Healed, the old leader follows: it sees the new holder and forwards to it.
            listed = await http.get(f"{leader.url}/nublado/spawner/v1/labs", timeout=20.0)
            assert listed.status_code == 200, listed.text
            assert not await leader.leads(http)
