"""File servers end to end: create, reuse, admin routes, idle exit, disabled configuration."""

from __future__ import annotations

from typing import Any

import trio

from kubesim.site import SiteConfig
from kubesim.store import StoreConfig
from tests.e2e.harness import RunningController, running_controller


def prompt_exit_site() -> SiteConfig:
    """Instant pods whose processes exit at once on SIGTERM (1 s grace instead of 30 s)."""
    return SiteConfig(
        store=StoreConfig(namespace_delete_delay=0.05, default_pod_grace_seconds=1),
        bookmark_interval=1.0,
        seed=7,
    )


FILESERVER = {
    "enabled": True,
    "namespace": "fileservers",
    "idleTimeout": "1h",
    "volumeMounts": [{"containerPath": "/home", "volumeName": "home"}],
}


def names(running: RunningController, plural: str, group: str = "") -> list[str]:
    items, _ = running.site.store.list(running.site.store.resource(plural, group), "fileservers")
    return sorted(item["metadata"]["name"] for item in items)


async def test_first_visit_creates_the_server_and_later_visits_reuse_it(
    nublado: RunningController,
) -> None:
    prefix = nublado.prefix
    with trio.fail_after(30):
        async with nublado.client("alice") as alice, nublado.client("admin") as admin:
            pages: list[Any] = []

            async def visit() -> None:
                pages.append(await alice.get("/files"))

            async with trio.open_nursery() as nursery:
                for _ in range(3):
                    nursery.start_soon(visit)
            assert [page.status_code for page in pages] == [200, 200, 200]
            assert pages[0].headers["content-type"].startswith("text/html")
            assert "http://127.0.0.1:8080/files/alice" in pages[0].text
            assert "write:files" in pages[0].text
            assert names(nublado, "jobs", "batch") == ["alice-fs"]
            assert names(nublado, "services") == ["alice-fs"]
            assert names(nublado, "gafaelfawringresses", "gafaelfawr.lsst.io") == ["alice-fs"]
            assert len(names(nublado, "pods")) == 1
            job_uid = nublado.site.store.get(
                nublado.site.store.resource("jobs", "batch"), "fileservers", "alice-fs"
            )["metadata"]["uid"]

            again = await alice.get("/files")
            assert again.status_code == 200
            still = nublado.site.store.get(
                nublado.site.store.resource("jobs", "batch"), "fileservers", "alice-fs"
            )
            assert still["metadata"]["uid"] == job_uid

            assert (await admin.get(f"{prefix}/fileserver/v1/users")).json() == ["alice"]
            status = await admin.get(f"{prefix}/fileserver/v1/users/alice")
            assert status.json() == {"running": True}
            own = await alice.get(f"{prefix}/fileserver/v1/user-status")
            assert own.json() == {"running": True}


async def test_admin_delete_removes_every_object() -> None:
    with trio.fail_after(30):
        async with (
            running_controller(site_config=prompt_exit_site()) as nublado,
            nublado.client("alice") as alice,
            nublado.client("admin") as admin,
        ):
            prefix = nublado.prefix
            unknown = await admin.delete(f"{prefix}/fileserver/v1/users/alice")
            assert unknown.status_code == 404
            assert unknown.json() == {
                "detail": [{"msg": "Unknown user alice", "type": "unknown_user"}]
            }
            assert (await alice.get("/files")).status_code == 200
            deleted = await admin.delete(f"{prefix}/fileserver/v1/users/alice")
            assert deleted.status_code == 204
            for plural, group in (
                ("jobs", "batch"),
                ("services", ""),
                ("ingresses", "networking.k8s.io"),
            ):
                assert names(nublado, plural, group) == []
            assert names(nublado, "gafaelfawringresses", "gafaelfawr.lsst.io") == []
            assert (await admin.get(f"{prefix}/fileserver/v1/users")).json() == []
            gone = await admin.get(f"{prefix}/fileserver/v1/users/alice")
            assert gone.json() == {
                "detail": [{"msg": "No file server running", "type": "unknown_user"}]
            }
            again = await admin.delete(f"{prefix}/fileserver/v1/users/alice")
            assert again.json()["detail"][0]["msg"] == "File server for alice not running"
            assert (await alice.get(f"{prefix}/fileserver/v1/user-status")).status_code == 404


async def test_an_idle_server_exits_and_is_cleaned_up() -> None:
    idle = {**FILESERVER, "idleTimeout": "2s"}
    with trio.fail_after(40):
        async with running_controller(config_overrides={"fileserver": idle}) as nublado:  # noqa: SIM117
            async with nublado.client("alice") as alice, nublado.client("admin") as admin:
                assert (await alice.get("/files")).status_code == 200
                assert (await admin.get(f"{nublado.prefix}/fileserver/v1/users")).json() == [
                    "alice"
                ]
                while names(nublado, "jobs", "batch"):
                    await trio.sleep(0.1)
                while (await admin.get(f"{nublado.prefix}/fileserver/v1/users")).json():
                    await trio.sleep(0.1)
                while names(nublado, "services"):
                    await trio.sleep(0.1)
                assert names(nublado, "gafaelfawringresses", "gafaelfawr.lsst.io") == []
                # The next visit starts a fresh one.
                assert (await alice.get("/files")).status_code == 200
                assert names(nublado, "jobs", "batch") == ["alice-fs"]


async def test_disabled_file_servers_answer_not_supported() -> None:
    expected = {
        "detail": [{"msg": "Fileserver is disabled in configuration", "type": "not_supported"}]
    }
    with trio.fail_after(30):
        async with running_controller(config_overrides={"fileserver": {"enabled": False}}) as nb:  # noqa: SIM117
            async with nb.client("alice") as alice, nb.client("admin") as admin:
                for response in (
                    await alice.get("/files"),
                    await admin.get(f"{nb.prefix}/fileserver/v1/users"),
                    await admin.get(f"{nb.prefix}/fileserver/v1/users/alice"),
                    await admin.delete(f"{nb.prefix}/fileserver/v1/users/alice"),
                    await alice.get(f"{nb.prefix}/fileserver/v1/user-status"),
                ):
                    assert response.status_code == 404
                    assert response.json() == expected
                async with nb.client() as anonymous:
                    assert (await anonymous.get("/files")).status_code == 401
