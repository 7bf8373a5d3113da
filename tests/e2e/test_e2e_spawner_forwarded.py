"""JupyterHub's whole spawn flow through a follower that relays to the real controller.

The leader is the real controller on a simulated site; the follower is another replica's
app (no actors of its own to speak of) that relays everything to it. The spawner cannot
tell: form, create, progress events (SSE) to ``complete``, status and delete all work, and
the ``Location`` of the new lab names the host the spawner used, the follower's.
"""

from __future__ import annotations

import dataclasses
import json

import trio

from tests.e2e.harness import RunningController
from tests.e2e.spawner_client import (
    SpawnForm,
    jupyterhub_env,
    open_events_websocket,
    open_spawner,
    receive_all_json,
)
from tests.e2e.test_e2e_spawner_flow import assert_normal_spawn
from tests.web.forwarding_site import FakeRoute, serve_follower


async def test_a_spawn_through_a_follower_is_the_same_as_on_the_leader(
    nublado: RunningController,
) -> None:
    route = FakeRoute(nublado.url)
    with trio.fail_after(60):
        async with serve_follower(route) as follower:
            via_follower = dataclasses.replace(nublado, server=follower)
            async with open_spawner(via_follower, "alice") as spawner:
                assert await spawner.poll() == 0
                form = SpawnForm(await spawner.options_form())
                options = form.submission()
                created = await spawner.create(options, jupyterhub_env("alice"))
                assert created.status_code == 201, created.text
                assert created.headers["location"].startswith(f"{follower.base_url}/")
                await spawner._follow_progress()
                assert_normal_spawn(spawner.progress, "alice")
                assert await spawner.poll() is None
                await spawner.stop()
                assert await spawner.poll() == 0
    assert route.asked > 0, "the requests went through the follower"


async def test_progress_over_a_websocket_through_a_follower_replays_and_closes_1000(
    nublado: RunningController,
) -> None:
    with trio.fail_after(60):
        async with serve_follower(FakeRoute(nublado.url)) as follower:
            via_follower = dataclasses.replace(nublado, server=follower)
            async with open_spawner(via_follower, "alice") as spawner:
                options = SpawnForm(await spawner.options_form()).submission()
                created = await spawner.create(options, jupyterhub_env("alice"))
                assert created.status_code == 201, created.text
                over_sse = await spawner.read_events()
                url = f"{follower.base_url}{nublado.prefix}/spawner/v1/labs/alice/events"
                headers = dict(spawner.credentials.user)
                async with open_events_websocket(url, headers) as connection:
                    over_ws = await receive_all_json(connection)
                    assert connection.closed is not None
                    code = connection.closed.code
    assert over_sse[-1].event == "complete"
    assert over_ws == [{"event": e.event, **json.loads(e.data)} for e in over_sse]
    assert code == 1000
