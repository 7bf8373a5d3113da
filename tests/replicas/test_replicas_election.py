"""Leader election among replicas of the real controller on one simulated site."""

from __future__ import annotations

import trio

from actors.runtime import ActorStatus
from tests.e2e.harness import fast_site_config
from tests.replicas.support import lease, start_replica, wait_until
from web.simulate import simulated_cluster


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
