"""A spawn in progress survives its leader's graceful stop: the stream follows the lab."""

from __future__ import annotations

import json

import trio

from tests.e2e.harness import fast_site_config
from tests.replicas.support import TIMINGS, start_replica, wait_until
from web.simulate import simulated_cluster


async def test_the_event_stream_follows_the_spawn_to_the_new_leader() -> None:
    # Pods take a while to pull their image: the hand-off happens while the spawn waits.
    site_config = fast_site_config(pull_delay=2.0)
    async with simulated_cluster(site_config) as site, trio.open_nursery() as nursery:
        old = await start_replica(nursery, site)
        await wait_until(lambda: old.serving)
        new = await start_replica(nursery, site)
        running = old.running
        body = {
            "options": {"image_dropdown": [running.image()], "size": ["small"]},
            "env": {"JUPYTERHUB_SERVICE_PREFIX": "/nb/user/alice/"},
        }
        events: list[tuple[str, dict[str, object]]] = []
        with trio.fail_after(30):
            async with running.client("alice") as alice:
                url = f"{running.prefix}/spawner/v1/labs/alice"
                created = await alice.post(f"{url}/create", json=body)
                assert created.status_code == 201, created.text
                async with alice.stream("GET", f"{url}/events") as stream:
                    kind = None
                    async for line in stream.aiter_lines():
                        if line.startswith("event: "):
                            kind = line.removeprefix("event: ")
                        elif line.startswith("data: ") and kind is not None:
                            events.append((kind, json.loads(line.removeprefix("data: "))))
                            if events[-1][1].get("message") == (
                                "Created Kubernetes objects for user lab"
                            ):
                                nursery.start_soon(old.stop)
            await wait_until(lambda: new.serving)
        kinds = [kind for kind, _ in events]
        messages = [str(data["message"]) for _, data in events]
        assert kinds[-1] == "complete", events
        assert "failed" not in kinds, events
        assert any("changed hands" in message for message in messages), messages
        progress = [data["progress"] for _, data in events if "progress" in data]
        assert progress == sorted(progress), progress
        # The new leader finished the spawn it took over, from Kubernetes alone.
        async with new.running.client("hub") as hub:
            state = await hub.get(f"{new.running.prefix}/spawner/v1/labs/alice")
        assert state.json()["status"] == "running"
        await new.stop()


async def test_a_leaders_waits_are_not_cut_short_by_its_fence() -> None:
    # The namespace's default ServiceAccount appears only after longer than the renew
    # deadline: the spawn's wait for it must last as long as the spawn allows, not end at
    # the fence, which every renewal moves on.
    site_config = fast_site_config()
    site_config.store.service_account_delay = 2 * float(TIMINGS["renewDeadline"])
    async with simulated_cluster(site_config) as site, trio.open_nursery() as nursery:
        leader = await start_replica(nursery, site)
        await wait_until(lambda: leader.serving)
        running = leader.running
        body = {
            "options": {"image_dropdown": [running.image()], "size": ["small"]},
            "env": {"JUPYTERHUB_SERVICE_PREFIX": "/nb/user/alice/"},
        }
        with trio.fail_after(30):
            async with running.client("alice") as alice:
                url = f"{running.prefix}/spawner/v1/labs/alice"
                created = await alice.post(f"{url}/create", json=body)
                assert created.status_code == 201, created.text
                events = await alice.get(f"{url}/events")
        assert "event: complete" in events.text, events.text
        await leader.stop()
