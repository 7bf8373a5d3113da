"""Followers relay to the leader: real replicas of the controller with leader election.

Clients talk to the follower only, as they would through a Service that picked it.
"""

from __future__ import annotations

import trio

from tests.e2e.harness import fast_site_config
from tests.e2e.spawner_client import SpawnForm, jupyterhub_env, open_spawner
from tests.e2e.test_e2e_spawner_flow import assert_normal_spawn
from tests.replicas.support import start_replica, wait_until
from web.simulate import simulated_cluster


async def test_jupyterhub_spawns_and_stops_a_lab_through_a_follower() -> None:
    async with simulated_cluster(fast_site_config()) as site, trio.open_nursery() as nursery:
        leader = await start_replica(nursery, site)
        await wait_until(lambda: leader.serving)
        follower = await start_replica(nursery, site)
        view = follower.replicas.view
        await wait_until(
            lambda: view.leader is not None and view.leader.identity == leader.identity
        )
        try:
            with trio.fail_after(30):
                via_follower = follower.running
                async with open_spawner(via_follower, "alice") as spawner:
                    options = SpawnForm(await spawner.options_form()).submission()
                    created = await spawner.create(options, jupyterhub_env("alice"))
                    assert created.status_code == 201, created.text
                    assert created.headers["location"].startswith(f"{follower.running.url}/")
                    await spawner._follow_progress()
                    assert_normal_spawn(spawner.progress, "alice")
                    assert await spawner.poll() is None
                    state = await spawner.lab_state()
                    assert state is not None
                    assert state["status"] == "running"
                    await spawner.stop()
                    assert await spawner.poll() == 0
            assert not follower.serving, "the follower answered by relaying, not itself"
        finally:
            await follower.stop()
            await leader.stop()


async def test_requests_to_a_follower_succeed_through_the_leaders_hand_off() -> None:
    """The follower is asked all along while the leader stops gracefully; it becomes the
    leader itself, and no request fails: those that came in between waited for it."""
    async with simulated_cluster(fast_site_config()) as site, trio.open_nursery() as nursery:
        old = await start_replica(nursery, site)
        await wait_until(lambda: old.serving)
        survivor = await start_replica(nursery, site)
        view = survivor.replicas.view
        await wait_until(lambda: view.leader is not None and view.leader.identity == old.identity)
        statuses: list[int] = []
        try:
            with trio.fail_after(30):
                async with survivor.running.client("hub") as hub:
                    url = f"{survivor.running.prefix}/spawner/v1/labs"
                    stopping = trio.Event()

                    async def stop_the_leader() -> None:
                        await old.stop()
                        stopping.set()

                    statuses.append((await hub.get(url)).status_code)
                    nursery.start_soon(stop_the_leader)
                    while not (stopping.is_set() and survivor.serving):
                        statuses.append((await hub.get(url)).status_code)
                    statuses.append((await hub.get(url)).status_code)
            assert set(statuses) == {200}, statuses
            assert survivor.serving
        finally:
            await survivor.stop()
