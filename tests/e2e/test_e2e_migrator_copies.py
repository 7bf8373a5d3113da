"""The migrator end to end (``api.md`` §12): success, failures by exit code, conflicts.

kubesim runs ``nublado migrator`` pods to an exit; ``pod_exits`` (by pod name) chooses how
long a copy takes and its exit code.
"""

from __future__ import annotations

from typing import Any

import httpx
import trio

from kubesim.site import SiteConfig
from kubesim.store import StoreConfig
from tests.e2e.harness import running_controller

EXITS = {
    "migrator-alice-to-bob": {"after": 0.3, "code": 0},
    "migrator-carol-to-dave": {"after": 0.0, "code": 4},
    "migrator-dave-to-carol": {"after": 0.0, "code": 5},
    "migrator-erin-to-frank": {"after": 0.0, "code": 6},
    "migrator-frank-to-erin": {"after": 0.0, "code": 7},
    "migrator-gina-to-hank": {"after": 0.0, "code": 3},
    "migrator-ivan-to-judy": {"after": 30.0, "code": 0},
}


def migrator_site() -> SiteConfig:
    return SiteConfig(
        store=StoreConfig(namespace_delete_delay=0.05, default_pod_grace_seconds=1),
        bookmark_interval=1.0,
        seed=7,
        controllers={"kubelet": {"pod_exits": EXITS}},
    )


async def status(admin: httpx.AsyncClient, url: str, old: str, new: str) -> httpx.Response:
    return await admin.get(url, params={"old_user": old, "new_user": new})


async def wait_finished(admin: httpx.AsyncClient, url: str, old: str, new: str) -> Any:
    while True:
        response = await status(admin, url, old, new)
        if response.status_code == 200 and not response.json()["running"]:
            return response.json()
        await trio.sleep(0.05)


async def test_migrations_report_their_outcome_and_keep_it_after_cleanup() -> None:
    with trio.fail_after(60):
        async with (
            running_controller(site_config=migrator_site()) as nublado,
            nublado.client("admin") as admin,
        ):
            url = f"{nublado.prefix}/migrator/v1/service"
            assert (await status(admin, url, "alice", "bob")).status_code == 204
            started = await admin.post(url, json={"old_user": "alice", "new_user": "bob"})
            assert started.status_code == 200, started.text
            assert started.json()["running"] is True
            assert started.json()["exit_code"] is None
            final = await wait_finished(admin, url, "alice", "bob")
            assert final["exit_code"] == 0
            assert final["end_time"] >= final["start_time"]
            assert final["start_time"].endswith("+00:00")
            pods = nublado.site.store.resource("pods")
            while "migrator-alice-to-bob" in [
                p["metadata"]["name"] for p in nublado.site.store.list(pods, "nublado")[0]
            ]:
                await trio.sleep(0.05)
            assert (await status(admin, url, "alice", "bob")).json() == final

            expected = {
                ("carol", "dave"): (404, "no_source_directory", "carol"),
                ("dave", "carol"): (404, "no_target_directory", "carol"),
                ("erin", "frank"): (406, "copy_failed", "erin -> frank"),
                ("frank", "erin"): (403, "copy_permission_failed", "frank -> erin"),
                ("gina", "hank"): (500, "migration_failed", None),
            }
            for (old, new), (code, error_type, msg) in expected.items():
                response = await admin.post(url, json={"old_user": old, "new_user": new})
                assert response.status_code == code, (old, new, response.text)
                detail = response.json()["detail"][0]
                assert detail["type"] == error_type
                if msg is not None:
                    assert detail["msg"] == msg
                # GET reports a finished failed copy with its code, not as an HTTP error.
                finished = await wait_finished(admin, url, old, new)
                assert finished["exit_code"] == EXITS[f"migrator-{old}-to-{new}"]["code"]


async def test_one_migration_per_pair_and_never_both_directions() -> None:
    with trio.fail_after(60):
        async with (
            running_controller(site_config=migrator_site()) as nublado,
            nublado.client("admin") as admin,
        ):
            url = f"{nublado.prefix}/migrator/v1/service"
            body = {"old_user": "ivan", "new_user": "judy"}
            first = await admin.post(url, json=body)
            assert first.status_code == 200
            again = await admin.post(url, json=body)
            assert again.json() == first.json()
            reverse = await admin.post(url, json={"old_user": "judy", "new_user": "ivan"})
            assert reverse.status_code == 409
            assert reverse.json() == {
                "detail": [
                    {
                        "msg": "Migration for ivan -> judy already in progress",
                        "type": "operation_in_progress",
                    }
                ]
            }
            cancelled = await admin.delete(url, params=body)
            assert cancelled.status_code == 204
            assert (await status(admin, url, "ivan", "judy")).status_code == 204
            unblocked = await admin.post(url, json={"old_user": "judy", "new_user": "ivan"})
            assert unblocked.status_code == 200


async def test_invalid_pairs_are_refused() -> None:
    with trio.fail_after(30):
        async with running_controller() as nublado, nublado.client("admin") as admin:
            url = f"{nublado.prefix}/migrator/v1/service"
            for body in (
                {"old_user": "alice"},
                {"old_user": "alice", "new_user": "alice"},
                {"old_user": "Alice", "new_user": "bob"},
                {"old_user": "ab-to", "new_user": "cd"},
            ):
                assert (await admin.post(url, json=body)).status_code == 422, body
            missing = await admin.get(url, params={"old_user": "alice"})
            assert missing.status_code == 422
            assert missing.json()["detail"][0]["loc"] == ["query", "new_user"]
