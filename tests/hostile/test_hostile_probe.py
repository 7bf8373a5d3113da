"""Findings of a probe of the running controller as an attacker and a flaky network.

Each test reproduces one finding over real HTTP against the controller on kubesim, asserts the
exact answer the fix gives, and checks that the controller still answers afterwards.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

import trio

from tests.e2e.harness import RunningController, fast_site_config, serving_controller
from tests.e2e.spawner_client import jupyterhub_env
from tests.hostile.rawhttp import open_stream, read_until_closed, still_serving
from web.simulate import DEMO_TOKENS, simulated_cluster

CEILING = 30


def _create_body(nublado: RunningController) -> dict[str, Any]:
    return {
        "options": {"image_dropdown": nublado.image(), "size": "small"},
        "env": jupyterhub_env("alice"),
    }


async def _lab_details(nublado: RunningController, user: str) -> dict[str, Any]:
    async with nublado.client("admin") as admin:
        response = await admin.get(f"{nublado.prefix}/admin/actors/lab/{user}")
    assert response.status_code == 200, response.text
    details: dict[str, Any] = response.json()["details"]
    return details


async def _wait_for_subscribers(nublado: RunningController, user: str, count: int) -> int:
    """The lab's subscriber count once it is ``count``, or the last one seen after 5 s."""
    seen = -1
    with trio.move_on_after(5):
        while (seen := (await _lab_details(nublado, user))["subscribers"]) != count:
            await trio.sleep(0.1)
    return seen


async def test_head_on_the_events_route_answers_at_once_and_holds_nothing(
    nublado: RunningController,
) -> None:
    """``HEAD`` on the SSE events route must be a complete response, not a body-less stream.

    Before the fix quart ran the GET handler and streamed the SSE body into hypercorn, which
    drops a HEAD response's body: the client had its complete answer (headers only), but the
    server kept the request open until the operation ended (``lab.spawnTimeout``, 10 minutes)
    or, for a registered user without an operation, forever. A keep-alive client's next
    request on that connection got no answer, and a client that left after pipelining it was
    never noticed (hypercorn stops reading while a request is in flight, and nothing is
    written), so each such connection held a socket, a task and an event subscription.
    """
    prefix = nublado.prefix
    with trio.fail_after(CEILING):
        nublado.site.faults.kubelet_frozen = True  # the spawn stays pending
        async with nublado.client("alice") as alice:
            created = await alice.post(
                f"{prefix}/spawner/v1/labs/alice/create", json=_create_body(nublado)
            )
        assert created.status_code == 201, created.text
        head = (
            f"HEAD {prefix}/spawner/v1/labs/alice/events HTTP/1.1\r\nHost: test\r\n"
            f"Authorization: Bearer {DEMO_TOKENS['alice']}\r\n\r\n"
        ).encode()
        follow_up = b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
        for _ in range(3):
            stream = await open_stream(nublado.server.port)
            async with stream:
                await stream.send_all(head + follow_up)
                answer = await read_until_closed(stream)
            statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)
            assert statuses == [b"200", b"200"], answer[:400]
            head_response = answer.split(b"\r\n\r\n", 1)[0].lower()
            assert b"content-type: text/event-stream" in head_response
        # Every HEAD let its subscription go; only the spawn itself is going on.
        assert await _wait_for_subscribers(nublado, "alice", 0) == 0
        nublado.site.faults.kubelet_frozen = False
        assert await still_serving(nublado.url)


async def _leave_at_once(port: int, request: bytes) -> None:
    """Send ``request`` and close the connection without reading anything."""
    stream = await open_stream(port)
    async with stream:
        await stream.send_all(request)


async def test_sse_clients_that_leave_at_once_leave_no_subscription_behind(
    nublado: RunningController,
) -> None:
    """An SSE subscriber whose client is gone must be released, however early it left.

    Before the fix the route subscribed, then returned a response whose body (an async
    generator) released the subscription in its ``finally``. A client that disconnected
    before the body started (quart passes several checkpoints between the handler's return
    and the first byte of the body) cancelled the request there: the generator never ran,
    so its ``finally`` never did, and the subscription stayed registered with the lab's event
    stream until the next operation began. Of 150 clients that connected and left at once
    during a pending spawn, about half left a subscription behind; for a lab without an
    operation (one found running at startup) they stay until the user's next create or
    delete, so any user could grow the controller's memory without bound.
    """
    prefix = nublado.prefix
    request = (
        f"GET {prefix}/spawner/v1/labs/alice/events HTTP/1.1\r\nHost: test\r\n"
        f"Authorization: Bearer {DEMO_TOKENS['alice']}\r\n\r\n"
    ).encode()
    with trio.fail_after(CEILING):
        nublado.site.faults.kubelet_frozen = True
        async with nublado.client("alice") as alice:
            created = await alice.post(
                f"{prefix}/spawner/v1/labs/alice/create", json=_create_body(nublado)
            )
        assert created.status_code == 201, created.text
        async with trio.open_nursery() as nursery:
            for _ in range(150):
                nursery.start_soon(_leave_at_once, nublado.server.port, request)
        assert await _wait_for_subscribers(nublado, "alice", 0) == 0
        nublado.site.faults.kubelet_frozen = False
        assert await still_serving(nublado.url)


async def test_sse_clients_that_leave_while_the_lab_is_busy_leave_no_subscription_behind() -> None:
    """A subscriber whose client left while its subscribe request was queued is released.

    The lab actor answers a subscribe request with a new subscription. Before the fix, a
    client that disconnected while the request waited in the actor's mailbox cancelled the
    route's wait for the reply; the actor still made the subscription and nobody ever closed
    it. Here the actor is busy re-reading the pod of a lab found at startup (a create for a
    known lab reads its pod first; the pod read is made slow): such a lab has no operation,
    so its stray subscriptions stay until the user's next create or delete.
    """
    with trio.fail_after(2 * CEILING):
        async with simulated_cluster(fast_site_config()) as site:
            async with serving_controller(site) as first, first.client("alice") as alice:
                created = await alice.post(
                    f"{first.prefix}/spawner/v1/labs/alice/create", json=_create_body(first)
                )
                assert created.status_code == 201, created.text
                async with first.client("alice") as follower:
                    await follower.get(f"{first.prefix}/spawner/v1/labs/alice/events")
            async with serving_controller(site) as nublado, nublado.client("alice") as alice:
                prefix = nublado.prefix
                request = (
                    f"GET {prefix}/spawner/v1/labs/alice/events HTTP/1.1\r\nHost: test\r\n"
                    f"Authorization: Bearer {DEMO_TOKENS['alice']}\r\n\r\n"
                ).encode()
                slow = site.faults.add_latency(1.0, verb="get", resource="pods")
                async with trio.open_nursery() as nursery:
                    # The create's pod read holds the actor; the subscribes queue behind it.
                    nursery.start_soon(
                        partial(
                            alice.post,
                            f"{prefix}/spawner/v1/labs/alice/create",
                            json=_create_body(nublado),
                        )
                    )
                    await trio.sleep(0.3)
                    for _ in range(20):
                        nursery.start_soon(_leave_at_once, nublado.server.port, request)
                site.faults.latencies.remove(slow)
                assert await _wait_for_subscribers(nublado, "alice", 0) == 0
                assert await still_serving(nublado.url)
