"""Many requests at once: users spawning together, racing creates, deletes during spawns."""

from __future__ import annotations

import httpx
import trio

from tests.e2e.harness import RunningController, fast_site_config, running_controller
from tests.e2e.resilience_support import (
    SLOW_TAG,
    Event,
    add_user,
    bearer,
    finished_events,
    lab_namespaces,
    lab_status,
    open_events,
    parse_events,
    slow_lab_site,
    spawn_body,
)

CROWD = 100


async def test_a_hundred_users_spawning_at_once_all_reach_running(
    nublado: RunningController,
) -> None:
    prefix = nublado.prefix
    names = [f"crowd{i:03d}" for i in range(CROWD)]
    users = {name: add_user(nublado.site, name, 5000 + i) for i, name in enumerate(names)}
    created: dict[str, int] = {}
    streams: dict[str, list[Event]] = {}
    limits = httpx.Limits(max_connections=2 * CROWD)
    with trio.fail_after(60):
        async with nublado.client(limits=limits) as client, nublado.client("hub") as hub:

            async def spawn(user: str, token: str) -> None:
                response = await client.post(
                    f"{prefix}/spawner/v1/labs/{user}/create",
                    json=spawn_body(nublado, user),
                    headers=bearer(token),
                )
                created[user] = response.status_code
                events = await client.get(
                    f"{prefix}/spawner/v1/labs/{user}/events", headers=bearer(token)
                )
                streams[user] = _parse(events)

            async with trio.open_nursery() as nursery:
                for user, token in users.items():
                    nursery.start_soon(spawn, user, token)

            assert created == dict.fromkeys(users, 201)
            for user, events in streams.items():
                assert [e.type for e in events if e.type != "info"] == ["complete"], (user, events)
            running = (await hub.get(f"{prefix}/spawner/v1/labs")).json()
            assert sorted(running) == sorted(users)
            for user in users:
                assert await lab_status(hub, prefix, user) == "running"


def _parse(response: httpx.Response) -> list[Event]:
    assert response.status_code == 200, response.text
    return parse_events(response.text)


async def test_two_concurrent_creates_for_one_user_give_one_lab_and_one_conflict() -> None:
    async with running_controller(site_config=slow_lab_site(1.0)) as nublado:
        prefix = nublado.prefix
        with trio.fail_after(30):
            async with nublado.client("alice") as alice, nublado.client("hub") as hub:
                responses: list[httpx.Response] = []

                async def create() -> None:
                    url = f"{prefix}/spawner/v1/labs/alice/create"
                    responses.append(
                        await alice.post(url, json=spawn_body(nublado, "alice", tag=SLOW_TAG))
                    )

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(create)
                    nursery.start_soon(create)

                codes = sorted(r.status_code for r in responses)
                assert codes == [201, 409]
                conflict = next(r for r in responses if r.status_code == 409)
                assert conflict.json()["detail"][0]["type"] == "operation_in_progress"
                events = await finished_events(alice, prefix, "alice")
                assert events[-1].type == "complete"
                assert [e.message for e in events].count("Starting lab creation for alice") == 1
                assert await lab_status(hub, prefix, "alice") == "running"
                assert lab_namespaces(nublado.site) == {"nublado-alice"}
                pods, _ = nublado.site.store.list(
                    nublado.site.store.resource("pods"), "nublado-alice"
                )
                assert len(pods) == 1


async def test_a_delete_during_a_spawn_cancels_it_and_leaves_nothing() -> None:
    async with running_controller(site_config=slow_lab_site(2.0)) as nublado:
        prefix = nublado.prefix
        with trio.fail_after(30):
            async with nublado.client("alice") as alice, nublado.client("hub") as hub:
                url = f"{prefix}/spawner/v1/labs/alice/create"
                created = await alice.post(url, json=spawn_body(nublado, "alice", tag=SLOW_TAG))
                assert created.status_code == 201, created.text
                async with open_events(alice, prefix, "alice") as spawn_stream:
                    await spawn_stream.until("Created Kubernetes objects")
                    deleted = await hub.delete(f"{prefix}/spawner/v1/labs/alice")
                    assert deleted.status_code == 204, deleted.text
                    events = await spawn_stream.rest()
                assert events[-1] == Event("failed", "Operation cancelled")
                assert "complete" not in [e.type for e in events]
                assert await lab_status(hub, prefix, "alice") is None
                assert lab_namespaces(nublado.site) == set()


async def test_a_delete_while_lab_objects_are_being_created_leaves_nothing() -> None:
    async with running_controller(site_config=fast_site_config()) as nublado:
        prefix = nublado.prefix
        site = nublado.site
        # Creations of the second round hang in the API server when the delete arrives.
        site.faults.add_latency(0.5, verb="create", resource="configmaps")
        with trio.fail_after(30):
            async with nublado.client("alice") as alice, nublado.client("hub") as hub:
                url = f"{prefix}/spawner/v1/labs/alice/create"
                created = await alice.post(url, json=spawn_body(nublado, "alice"))
                assert created.status_code == 201, created.text
                while "nublado-alice" not in lab_namespaces(site):
                    await trio.sleep(0.01)
                deleted = await hub.delete(f"{prefix}/spawner/v1/labs/alice")
                assert deleted.status_code == 204, deleted.text
                assert await lab_status(hub, prefix, "alice") is None
                assert lab_namespaces(site) == set()
                await trio.sleep(1.0)  # past the injected latency: nothing comes back
                assert lab_namespaces(site) == set()


async def test_concurrent_deletes_are_coalesced() -> None:
    async with running_controller(site_config=fast_site_config()) as nublado:
        prefix = nublado.prefix
        with trio.fail_after(30):
            async with nublado.client("alice") as alice, nublado.client("hub") as hub:
                url = f"{prefix}/spawner/v1/labs/alice/create"
                created = await alice.post(url, json=spawn_body(nublado, "alice"))
                assert created.status_code == 201, created.text
                assert (await finished_events(alice, prefix, "alice"))[-1].type == "complete"
                codes: list[int] = []

                async def delete() -> None:
                    codes.append((await hub.delete(f"{prefix}/spawner/v1/labs/alice")).status_code)

                async with trio.open_nursery() as nursery:
                    for _ in range(5):
                        nursery.start_soon(delete)

                assert set(codes) <= {204, 404}
                assert 204 in codes
                assert await lab_status(hub, prefix, "alice") is None
                assert lab_namespaces(nublado.site) == set()
