"""Right after a controller restart, while the labs an earlier controller left behind are
being removed, status, create and delete agree, and JupyterHub's spawner recovers every user.

The earlier controller leaves two kinds of leftovers, as a crash does:

* half-built labs (namespace and objects but no pod: its spawn died before the pod), which
  the new controller removes on its own and which are no lab to the API (status and delete
  answer 404, a create is accepted and removes them first);
* dead labs (the pod exited), which the new controller deletes at once and which read
  ``terminating`` meanwhile (a create answers 409 ``operation_in_progress``, a delete waits
  for the deletion and answers 204, a create then succeeds: the spawner's 409 recovery).

Namespace deletion takes seconds (as on a real cluster with many objects), so every user
arrives while the removal runs. Each user's calls are logged in the order they were answered
and checked for contradictions; a sampler reads every user's status all along and checks
that it only ever moves forward.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import trio

from kubesim.kubelet import ANNOTATION_EXIT_AFTER
from kubesim.site import SiteConfig
from kubesim.store import StoreConfig
from tests.e2e.harness import RunningController, serving_controller
from tests.e2e.resilience_support import (
    add_user,
    bearer,
    finished_events,
    lab_namespaces,
    lab_status,
    objects_in,
    spawn_body,
    wait_for_status,
)
from tests.e2e.spawner_client import (
    Credentials,
    SpawnerClient,
    SpawnerError,
    demo_token,
    jupyterhub_env,
)
from web.simulate import demo_config_data, simulated_cluster

HALF_BUILT = 40
DEAD = 20
NAMESPACE_DELETE_DELAY = 3.0
"""Seconds an emptied namespace lingers in kubesim before it is gone (the issue's figure)."""

ABSENT = "absent"
"""What the log records for a status read answered 404."""

STATUS_RANK = {"terminating": 0, ABSENT: 1, "pending": 2, "running": 3}
"""The only statuses a user may read here, in the only order they may come."""


def _slow_namespace_deletion_site() -> SiteConfig:
    return SiteConfig(
        store=StoreConfig(namespace_delete_delay=NAMESPACE_DELETE_DELAY),
        bookmark_interval=1.0,
        seed=7,
        controllers={"kubelet": {}},
    )


def _labs_exit_after_start() -> dict[str, Any]:
    lab = copy.deepcopy(demo_config_data("http://127.0.0.1:1", Path("unused"))["lab"])
    lab["extraAnnotations"] = {ANNOTATION_EXIT_AFTER: "300ms"}
    return {"lab": lab}


@dataclass
class Answers:
    """One user's calls, in the order they were answered: ``(call, HTTP status, what)``,
    where ``what`` is the lab status of a 200 status read or the error ``type``."""

    log: list[tuple[str, int, str]] = field(default_factory=list)

    async def record(self, response: httpx.Response) -> None:
        path = response.request.url.path
        if path.endswith("/events"):
            return  # a stream: the spawner reads it, and it says nothing about consistency
        call = {"GET": "status", "POST": "create", "DELETE": "delete"}[response.request.method]
        await response.aread()
        what = ""
        if response.status_code == 200 and call == "status":
            what = response.json()["status"]
        elif response.status_code == 404 and call == "status":
            what = ABSENT
        elif response.status_code >= 400:
            what = response.json()["detail"][0]["type"]
        self.log.append((call, response.status_code, what))

    def contradictions(self) -> list[str]:
        """Pairs of consecutive answers that cannot both be true.

        Each answer says what the lab was when it was given (and, for a create or a delete,
        what it left). Between two answers the lab may only have moved on by itself: a
        deletion finishing (``terminating`` to absent) or a pod starting (``pending`` to
        ``running``); nothing else acts on these users. A status 404 and then a create 409
        (or a delete 404 and then a create 409) is the contradiction JupyterHub cannot get
        past.
        """
        problems: list[str] = []
        previous: tuple[str, int, str] | None = None
        for answer in self.log:
            before, _ = _meaning(answer)
            if previous is not None:
                _, left = _meaning(previous)
                if not any(was in MOVES_ON[state] for state in left for was in before):
                    problems.append(f"{previous} then {answer}")
            previous = answer
        return problems


MOVES_ON = {
    "terminating": {"terminating", ABSENT},
    ABSENT: {ABSENT},
    "pending": {"pending", "running"},
    "running": {"running"},
}
"""Where a lab may get to by itself between two answers."""


def _meaning(answer: tuple[str, int, str]) -> tuple[set[str], set[str]]:
    """What the lab may have been when ``answer`` was given, and what the call left."""
    match answer:
        case ("status", _, status):
            return {status}, {status}
        case ("create", 201, _):
            return {ABSENT}, {"pending"}
        case ("create", 409, "operation_in_progress"):
            return {"terminating", "pending"}, {"terminating", "pending"}
        case ("create", 409, "lab_exists"):
            return {"pending", "running"}, {"pending", "running"}
        case ("delete", 204, _):
            return {"terminating", "pending", "running"}, {ABSENT}
        case ("delete", 404, "unknown_user"):
            return {ABSENT}, {ABSENT}
    raise AssertionError(f"unexpected answer {answer}")


async def _first_controller(
    first: RunningController, half_built: list[str], dead: list[str]
) -> None:
    """Leave dead labs (pods that exited) and half-built ones (no pod) in the cluster."""
    prefix = first.prefix
    async with first.client(limits=httpx.Limits(max_connections=None)) as client:

        async def spawn(user: str, last_event: str) -> None:
            token = f"{user}-resilience-token"
            url = f"{prefix}/spawner/v1/labs/{user}/create"
            created = await client.post(url, json=spawn_body(first, user), headers=bearer(token))
            assert created.status_code == 201, created.text
            events = await client.get(
                f"{prefix}/spawner/v1/labs/{user}/events", headers=bearer(token)
            )
            assert events.status_code == 200
            assert events.text.count(f"event: {last_event}") == 1, events.text

        async with trio.open_nursery() as nursery:
            for user in dead:
                nursery.start_soon(spawn, user, "complete")
        async with first.client("hub") as hub:
            for user in dead:
                await wait_for_status(hub, prefix, user, "terminated")
        # Pods can no longer be created: these spawns stop after the namespace and the other
        # objects exist, which is what a controller dying in mid-spawn leaves.
        first.site.faults.add_error(verb="create", resource="pods", status=403)
        async with trio.open_nursery() as nursery:
            for user in half_built:
                nursery.start_soon(spawn, user, "failed")
    first.site.faults.clear()


async def test_after_a_restart_status_create_and_delete_agree_and_every_spawner_recovers() -> None:
    half_built = [f"half{i:02d}" for i in range(HALF_BUILT)]
    dead = [f"dead{i:02d}" for i in range(DEAD)]
    everyone = half_built + dead
    answers = {user: Answers() for user in everyone}
    sampled: dict[str, list[str]] = {user: [] for user in everyone}
    failures: dict[str, str] = {}
    async with simulated_cluster(_slow_namespace_deletion_site()) as site:
        for index, user in enumerate(everyone):
            add_user(site, user, 6000 + index)
        with trio.fail_after(120):
            async with serving_controller(site, config_overrides=_labs_exit_after_start()) as old:
                await _first_controller(old, half_built, dead)
            for user in half_built:
                namespace = f"nublado-{user}"
                assert namespace in lab_namespaces(site)
                assert objects_in(site, namespace, "configmaps")
                assert not objects_in(site, namespace, "pods")

            async with serving_controller(site) as new:
                await _recover_everyone(new, half_built, answers, sampled, failures)

    contradictions = {u: a.log for u, a in answers.items() if a.contradictions()}
    assert contradictions == {}, f"{len(contradictions)} users met contradictions"
    assert failures == {}
    for user in everyone:
        ranks = [STATUS_RANK.get(status, -1) for status in sampled[user]]
        assert -1 not in ranks, (user, sampled[user])
        assert ranks == sorted(ranks), (user, sampled[user])
    # Each kind of leftover met the answers of its kind at least once (the test exercised
    # what it claims to): 404 for a half-built lab, terminating and the 409 recovery for a
    # dead one.
    assert any(("status", 404, ABSENT) in answers[user].log for user in half_built)
    assert any(("create", 409, "operation_in_progress") in answers[user].log for user in dead)
    assert any(("delete", 204, "") in answers[user].log for user in dead)


async def _recover_everyone(
    new: RunningController,
    half_built: list[str],
    answers: dict[str, Answers],
    sampled: dict[str, list[str]],
    failures: dict[str, str],
) -> None:
    """Every user's spawner starts a lab (with its one 409 recovery) while a sampler reads
    every status; a spawner that fails is recorded in ``failures``."""
    prefix = new.prefix
    base_url = f"{new.url}{prefix}"
    options = {
        "image_list": ["use_image_from_dropdown"],
        "image_dropdown": [new.image()],
        "size": ["small"],
    }
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    done = trio.Event()

    async def sample(hub: httpx.AsyncClient) -> None:
        while not done.is_set():
            for user in sampled:
                status = await lab_status(hub, prefix, user)
                sampled[user].append(status or ABSENT)
            await trio.sleep(0.02)

    async def recover(user: str) -> None:
        token = f"{user}-resilience-token"
        hub_headers = bearer(demo_token("hub"))
        async with httpx.AsyncClient(
            limits=limits, timeout=60.0, event_hooks={"response": [answers[user].record]}
        ) as http:
            spawner = SpawnerClient(
                http, base_url, user, Credentials.direct(token, demo_token("hub"))
            )
            # The moment before the spawner arrives, as the hub and an admin would see it. A
            # delete is only sampled for a half-built lab: on a dead one it would do the
            # spawner's recovery for it.
            await http.get(f"{base_url}/spawner/v1/labs/{user}", headers=hub_headers)
            if user in half_built:
                await http.delete(f"{base_url}/spawner/v1/labs/{user}", headers=hub_headers)
                await http.get(f"{base_url}/spawner/v1/labs/{user}", headers=hub_headers)
            try:
                url = await spawner.start(options, jupyterhub_env(user))
            except SpawnerError as error:
                failures[user] = str(error)
                return
            assert url == f"http://lab.nublado-{user}:8888/nb/user/{user}/"
            assert [p.severity for p in spawner.progress].count("error") == 0, spawner.progress
            assert await spawner.poll() is None

    async with new.client("hub", limits=limits) as hub, trio.open_nursery() as nursery:
        nursery.start_soon(sample, hub)
        async with trio.open_nursery() as spawners:
            for user in answers:
                spawners.start_soon(recover, user)
        done.set()
        for user in answers:
            if user in failures:
                continue
            assert await lab_status(hub, prefix, user) == "running"
            headers = bearer(f"{user}-resilience-token")
            async with new.client(headers=headers) as client:
                events = await finished_events(client, prefix, user)
                assert events[-1].type == "complete"
