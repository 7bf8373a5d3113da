"""Leader election among replicas of the real controller on one simulated site."""

from __future__ import annotations

import json

import trio

from actors.runtime import ActorStatus
from tests.e2e.harness import fast_site_config
from tests.e2e.spawner_client import demo_token, open_events_websocket
from tests.replicas.support import Replica, lease, start_replica, wait_until
from web.simulate import simulated_cluster

DEADLINE = 20


async def test_one_replica_leads_and_the_others_stand_by() -> None:
    async with simulated_cluster(fast_site_config()) as site, trio.open_nursery() as nursery:
        first = await start_replica(nursery, site)
        second = await start_replica(nursery, site)
        try:
            await wait_until(lambda: first.serving or second.serving)
            leader, follower = (first, second) if first.serving else (second, first)
            held = lease(site)
            assert held is not None
            assert held["spec"]["holderIdentity"] == leader.identity
            assert held["metadata"]["annotations"]["nublado.lsst.io/leader-url"] == (
                leader.running.url
            )
            # The follower knows who leads and acts on nothing: its writers stand by.
            view = follower.replicas.view
            await wait_until(lambda: view.leader is not None)
            assert view.leader is not None
            assert view.leader.identity == leader.identity
            system = follower.running.controller.system
            for name in ("lab-manager", "lab-users", "prepuller", "fsadmin"):
                node = system.node(name)
                assert node is not None, name
                assert node.status is ActorStatus.STANDBY, (name, node.status)
            assert not follower.serving
        finally:
            await second.stop()
            await first.stop()


async def test_a_graceful_stop_hands_leadership_to_a_follower() -> None:
    async with simulated_cluster(fast_site_config()) as site, trio.open_nursery() as nursery:
        first = await start_replica(nursery, site)
        await wait_until(lambda: first.serving)
        second = await start_replica(nursery, site)
        try:
            before = lease(site)
            assert before is not None
            with trio.fail_after(10):
                await first.stop()
                await wait_until(lambda: second.serving)
            after = lease(site)
            assert after is not None
            assert after["spec"]["holderIdentity"] == second.identity
            assert after["spec"]["leaseTransitions"] == before["spec"]["leaseTransitions"] + 1
        finally:
            await second.stop()


async def test_metrics_the_actor_tree_and_the_dashboard_say_who_leads() -> None:
    async with simulated_cluster(fast_site_config()) as site, trio.open_nursery() as nursery:
        first = await start_replica(nursery, site)
        await wait_until(lambda: first.serving)
        second = await start_replica(nursery, site)
        await wait_until(lambda: second.replicas.view.leader is not None)
        admin = {"Authorization": f"Bearer {demo_token('admin')}"}
        try:
            with trio.fail_after(DEADLINE):
                leader_metrics = await _metrics(first)
                follower_metrics = await _metrics(second)
                assert "nublado_leader 1.0" in leader_metrics
                assert "nublado_leadership_terms_total 1.0" in leader_metrics
                assert "nublado_leader 0.0" in follower_metrics
                assert "nublado_leadership_terms_total 0.0" in follower_metrics
                # The follower's own metrics; the admin tree comes from the leader.
                async with first.running.client() as client:
                    elector = await client.get(
                        f"{first.running.prefix}/admin/actors/elector", headers=admin
                    )
                details = elector.json()["details"]
                assert elector.json()["phase"] == "leading"
                assert details["leader"] == first.identity
                assert details["leader_since"]
                url = f"{first.running.url}{first.running.prefix}/admin/dashboard/ws"
                async with open_events_websocket(url, admin) as socket:
                    while True:
                        message = json.loads(await socket.get_message())
                        if message["type"] == "leadership":
                            break
                assert message["enabled"] is True
                assert message["leader"] == first.identity == message["replica"]
                assert message["term"] == 1
        finally:
            await second.stop()
            await first.stop()


async def _metrics(replica: Replica) -> str:
    async with replica.running.client() as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    return response.text
