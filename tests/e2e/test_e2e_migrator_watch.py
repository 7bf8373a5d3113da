"""Migrations follow their pods through one shared watch of migration pods.

While the API server refuses that watch, a running copy keeps its status and a start waits
for its pod within ``fsadmin.timeout`` instead of failing at once (or, as a per-copy watch
did, crashing its actor); once Kubernetes answers again, the informer's list hands each pair
its own pod, and a copy that ended meanwhile is recorded and cleaned up.
"""

from __future__ import annotations

from typing import Any

import httpx
import trio

from kubesim.site import Site, SiteConfig
from kubesim.store import StoreConfig
from tests.e2e.harness import RunningController, running_controller
from tests.e2e.resilience_support import actor
from tests.e2e.test_e2e_migrator_copies import status, wait_finished

POLL = 0.02

EXITS = {
    "migrator-ivan-to-judy": {"after": 600.0, "code": 0},
    "migrator-alice-to-bob": {"after": 1.0, "code": 0},
}


def site_config() -> SiteConfig:
    return SiteConfig(
        store=StoreConfig(namespace_delete_delay=0.05, default_pod_grace_seconds=1),
        bookmark_interval=1.0,
        seed=7,
        controllers={"kubelet": {"pod_exits": EXITS}},
    )


def refuse_pod_watches(site: Site) -> None:
    """Refuse every pod list and watch from now on (an RBAC mistake) and cut open watches."""
    site.faults.add_error(verb="watch", resource="pods", status=403)
    site.faults.add_error(verb="list", resource="pods", status=403)
    assert site.faults.drop_watches() > 0


def pod_phase(nublado: RunningController, name: str) -> str | None:
    pods, _ = nublado.site.store.list(
        nublado.site.store.resource("pods"), "nublado", field_selector=f"metadata.name={name}"
    )
    return pods[0]["status"].get("phase") if pods else None


async def wait_for_phase(
    admin: httpx.AsyncClient, nublado: RunningController, name: str, phase: str
) -> Any:
    while (snapshot := await actor(admin, nublado.prefix, name)) is None or (
        snapshot["phase"] != phase
    ):
        await trio.sleep(POLL)
    return snapshot


async def test_a_refused_watch_fails_no_copy_and_a_start_waits_for_kubernetes() -> None:
    with trio.fail_after(60):
        async with (
            running_controller(site_config=site_config()) as nublado,
            nublado.client("admin") as admin,
        ):
            url = f"{nublado.prefix}/migrator/v1/service"
            long_copy = await admin.post(url, json={"old_user": "ivan", "new_user": "judy"})
            assert long_copy.status_code == 200
            refuse_pod_watches(nublado.site)
            await wait_for_phase(admin, nublado, "informer/migration-pods", "refused")

            answers: list[httpx.Response] = []

            async def start() -> None:
                body = {"old_user": "alice", "new_user": "bob"}
                answers.append(await admin.post(url, json=body))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(start)
                # The copy runs, but the controller cannot see it: the start keeps waiting.
                while pod_phase(nublado, "migrator-alice-to-bob") in (None, "Pending"):
                    await trio.sleep(POLL)
                starting = await actor(admin, nublado.prefix, "migration/alice-to-bob")
                assert starting is not None
                assert starting["current_message"] == "Start"
                assert not answers
                ivan = await status(admin, url, "ivan", "judy")
                assert ivan.json()["running"] is True
                nublado.site.faults.clear()
            assert [answer.status_code for answer in answers] == [200], answers[0].text

            # The copy ends (after a second) and reaches its own pair, not the other one.
            finished = await wait_finished(admin, url, "alice", "bob")
            assert finished["exit_code"] == 0
            while pod_phase(nublado, "migrator-alice-to-bob") is not None:
                await trio.sleep(POLL)
            assert (await status(admin, url, "ivan", "judy")).json()["running"] is True
            for pair in ("alice-to-bob", "ivan-to-judy"):
                snapshot = await actor(admin, nublado.prefix, f"migration/{pair}")
                assert snapshot is not None
                assert snapshot["restarts"] == 0
            refusals = await actor(admin, nublado.prefix, "informer/migration-pods")
            assert refusals is not None
            assert refusals["details"]["refusals"] >= 1


async def test_a_start_that_cannot_see_its_pod_times_out_and_follows_it_afterwards() -> None:
    with trio.fail_after(60):
        async with (
            running_controller(
                site_config=site_config(), config_overrides={"fsadmin": {"timeout": "2s"}}
            ) as nublado,
            nublado.client("admin") as admin,
        ):
            url = f"{nublado.prefix}/migrator/v1/service"
            refuse_pod_watches(nublado.site)
            await wait_for_phase(admin, nublado, "informer/migration-pods", "refused")
            failed = await admin.post(url, json={"old_user": "alice", "new_user": "bob"})
            assert failed.status_code == 500
            detail = failed.json()["detail"][0]
            assert detail["type"] == "controller_timeout"
            assert detail["msg"].startswith("Migration creation timed out after 2")
            assert (await status(admin, url, "alice", "bob")).status_code == 204

            # Kubernetes answers again: the pair still follows the pod it made.
            nublado.site.faults.clear()
            finished = await wait_finished(admin, url, "alice", "bob")
            assert finished["exit_code"] == 0
