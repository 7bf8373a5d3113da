"""File servers and migrations follow Kubernetes through shared informers.

What the shared watches must guarantee, end to end over HTTP against kubesim: the file
servers and migrations of many users hold one watch connection per kind; a change the watch
could not see as it happened (a cut connection and expired history, so only a relist shows
it; a crashed and restarted informer) reaches the one file server it concerns and no other;
and a refused watch neither fails running servers nor a creation in progress, which waits
within its deadline and fails cleanly, objects removed, if Kubernetes stays closed.
"""

from __future__ import annotations

from typing import Any

import httpx
import trio

from kubesim.gafaelfawr import API_PREFIX, FakeGafaelfawr, Group, TokenRecord, UserRecord
from kubesim.site import Site, SiteConfig
from kubesim.store import StoreConfig
from tests.e2e.harness import RunningController, running_controller
from tests.e2e.resilience_support import actor
from tests.e2e.test_e2e_fileservers_lifecycle import FILESERVER, names, prompt_exit_site

NAMESPACE = "fileservers"
POLL = 0.02


def long_copies_site() -> SiteConfig:
    """:func:`prompt_exit_site` where migration copies run for ten minutes."""
    return SiteConfig(
        store=StoreConfig(namespace_delete_delay=0.05, default_pod_grace_seconds=1),
        bookmark_interval=1.0,
        seed=7,
        controllers={"kubelet": {"pod_exits": {"migrator-*": {"after": 600, "code": 0}}}},
    )


def add_files_user(site: Site, username: str, uid: int) -> str:
    """A user with UID/GID who may use file servers; returns their token."""
    fake = site.mounted(API_PREFIX)
    assert isinstance(fake, FakeGafaelfawr)
    fake.data.add_user(
        UserRecord(username=username, uid=uid, gid=uid, groups=(Group(username, uid),))
    )
    token = f"{username}-files-token"
    fake.data.add_token(TokenRecord(token=token, username=username, scopes=("write:files",)))
    return token


async def open_watches(site: Site, *resources: str) -> dict[str, int]:
    """Watch connections open on the API server now on each of ``resources`` (kubesim's
    statistics)."""
    assert site.url is not None
    async with httpx.AsyncClient(base_url=site.url) as client:
        stats = (await client.get("/_kubesim/stats")).json()
    watches: dict[str, int] = stats["watches"]["open"]
    return {resource: watches.get(resource, 0) for resource in resources}


async def informer(admin: httpx.AsyncClient, nublado: RunningController, name: str) -> Any:
    snapshot = await actor(admin, nublado.prefix, f"informer/{name}")
    assert snapshot is not None, f"informer/{name} is not in the actor tree"
    return snapshot


async def wait_for_phase(
    admin: httpx.AsyncClient, nublado: RunningController, name: str, phase: str
) -> Any:
    while (snapshot := await actor(admin, nublado.prefix, name)) is None or (
        snapshot["phase"] != phase
    ):
        await trio.sleep(POLL)
    return snapshot


def pods_of(site: Site, username: str) -> list[dict[str, Any]]:
    """The pods of ``username``'s file server, as the store has them."""
    pods, _ = site.store.list(
        site.store.resource("pods"), NAMESPACE, label_selector=f"nublado.lsst.io/user={username}"
    )
    return pods


def pod_of(site: Site, username: str) -> dict[str, Any]:
    """The one pod of ``username``'s file server."""
    pods = pods_of(site, username)
    assert len(pods) == 1, pods
    return pods[0]


def running(site: Site, username: str) -> bool:
    """Whether ``username``'s file server pod runs, as the store has it."""
    return [pod["status"].get("phase") for pod in pods_of(site, username)] == ["Running"]


def exit_behind_the_controllers_back(site: Site, username: str) -> None:
    """The WebDAV server exits (as after its idle timeout): the kubelet writes the pod's end."""
    name = pod_of(site, username)["metadata"]["name"]
    site.store.patch(
        site.store.resource("pods"),
        NAMESPACE,
        name,
        {"status": {"phase": "Succeeded"}},
        subresource="status",
    )


async def wait_until_removed(
    nublado: RunningController, admin: httpx.AsyncClient, user: str
) -> None:
    url = f"{nublado.prefix}/fileserver/v1/users"
    while f"{user}-fs" in names(nublado, "jobs", "batch") or user in (await admin.get(url)).json():
        await trio.sleep(POLL)


async def wait_until_retired(
    nublado: RunningController, admin: httpx.AsyncClient, user: str
) -> None:
    """Until ``fileserver/<user>`` has left the actor tree (an idle server's actor retires)."""
    while await actor(admin, nublado.prefix, f"fileserver/{user}") is not None:
        await trio.sleep(POLL)


async def test_the_file_servers_and_migrations_of_many_users_hold_one_watch_per_kind() -> None:
    users = [f"many{i}" for i in range(8)]
    with trio.fail_after(60):
        async with (
            running_controller(site_config=long_copies_site()) as nublado,
            nublado.client("admin") as admin,
        ):
            tokens = {
                user: add_files_user(nublado.site, user, 7000 + i) for i, user in enumerate(users)
            }
            migrations = f"{nublado.prefix}/migrator/v1/service"

            async def serve_files(user: str) -> None:
                async with nublado.client(tokens[user]) as client:
                    assert (await client.get("/files")).status_code == 200

            async def migrate(old: str, new: str) -> None:
                body = {"old_user": old, "new_user": new}
                started = await admin.post(migrations, json=body)
                assert started.status_code == 200, started.text
                assert started.json()["running"] is True

            async with trio.open_nursery() as nursery:
                for i, user in enumerate(users):
                    nursery.start_soon(serve_files, user)
                    nursery.start_soon(migrate, user, users[(i + 1) % len(users)])

            running = await admin.get(f"{nublado.prefix}/fileserver/v1/users")
            assert running.json() == sorted(users)
            # One watch per kind: lab pods, file-server pods and migration pods, and the
            # file servers' Ingresses (other kinds are other services' business). A wait
            # elsewhere (a prepull pod's) may hold another pod watch for a moment; a watch
            # per file server or copy would stay open.
            while await open_watches(nublado.site, "pods", "ingresses") != {
                "pods": 3,
                "ingresses": 1,
            }:
                await trio.sleep(POLL)
            pods = await informer(admin, nublado, "fileserver-pods")
            assert pods["details"]["watched"] == len(users), "a server does not follow its pods"
            copies = await informer(admin, nublado, "migration-pods")
            assert copies["details"]["watched"] == len(users), "a copy does not follow its pod"
            ingresses = await informer(admin, nublado, "fileserver-ingresses")
            assert ingresses["details"]["watched"] == 0, "a running server kept its Ingress view"


async def test_a_change_only_a_relist_can_show_reaches_its_file_server_alone() -> None:
    with trio.fail_after(60):
        async with (
            running_controller(site_config=prompt_exit_site()) as nublado,
            nublado.client("alice") as alice,
            nublado.client("bob") as bob,
            nublado.client("admin") as admin,
        ):
            site = nublado.site
            assert (await alice.get("/files")).status_code == 200
            assert (await bob.get("/files")).status_code == 200
            lists = (await informer(admin, nublado, "fileserver-pods"))["details"]["lists"]
            # The shared watch is cut and kept from reconnecting while alice's server exits;
            # then the history that would have told the reconnecting watch is compacted away.
            blocked = site.faults.add_error(verb="watch", resource="pods", status=503)
            assert site.faults.drop_watches() > 0
            exit_behind_the_controllers_back(site, "alice")
            site.faults.expire_resource_versions()
            site.faults.errors.remove(blocked)

            await wait_until_removed(nublado, admin, "alice")
            await wait_until_retired(nublado, admin, "alice")
            relisted = (await informer(admin, nublado, "fileserver-pods"))["details"]["lists"]
            assert relisted > lists, "the exit was not found by a relist"
            assert names(nublado, "jobs", "batch") == ["bob-fs"]
            status = await admin.get(f"{nublado.prefix}/fileserver/v1/users/bob")
            assert status.json() == {"running": True}
            assert pod_of(site, "bob")["status"]["phase"] == "Running"


async def test_a_restarted_informer_delivers_what_changed_to_its_file_server() -> None:
    with trio.fail_after(60):
        async with (
            running_controller(site_config=prompt_exit_site()) as nublado,
            nublado.client("alice") as alice,
            nublado.client("bob") as bob,
            nublado.client("admin") as admin,
        ):
            site = nublado.site
            assert (await alice.get("/files")).status_code == 200
            assert (await bob.get("/files")).status_code == 200
            assert (await informer(admin, nublado, "fileserver-pods"))["restarts"] == 0
            # The informer relists into an answer no client can read (a broken proxy, say)
            # and crashes; alice's server exits while it is down.
            blocked = site.faults.add_error(verb="watch", resource="pods", status=503)
            assert site.faults.drop_watches() > 0
            exit_behind_the_controllers_back(site, "alice")
            site.faults.expire_resource_versions()
            # (It lists by watching: a streaming list, so the corrupt answer is a watch's.)
            corrupt = site.faults.add_corruption(verb="watch", resource="pods")
            site.faults.errors.remove(blocked)
            while (await informer(admin, nublado, "fileserver-pods"))["last_error"] is None:
                await trio.sleep(POLL)
            site.faults.corruptions.remove(corrupt)

            # Its next incarnation lists again and finds the change for alice's server.
            await wait_until_removed(nublado, admin, "alice")
            restarted = await wait_for_phase(admin, nublado, "informer/fileserver-pods", "watching")
            assert restarted["restarts"] >= 1
            assert names(nublado, "jobs", "batch") == ["bob-fs"]
            status = await admin.get(f"{nublado.prefix}/fileserver/v1/users/bob")
            assert status.json() == {"running": True}
            server = await actor(admin, nublado.prefix, "fileserver/bob")
            assert server is not None
            assert server["restarts"] == 0
            assert server["details"]["watch"] is True


def refuse_pod_watches(site: Site) -> None:
    """Refuse every pod list and watch from now on (an RBAC mistake) and cut open watches."""
    site.faults.add_error(verb="watch", resource="pods", status=403)
    site.faults.add_error(verb="list", resource="pods", status=403)
    assert site.faults.drop_watches() > 0


async def test_a_refused_watch_leaves_servers_running_and_a_creation_waits_for_it() -> None:
    with trio.fail_after(60):
        async with (
            running_controller(site_config=prompt_exit_site()) as nublado,
            nublado.client("alice") as alice,
            nublado.client("bob") as bob,
            nublado.client("admin") as admin,
        ):
            site = nublado.site
            assert (await alice.get("/files")).status_code == 200
            refuse_pod_watches(site)
            refused = await wait_for_phase(admin, nublado, "informer/fileserver-pods", "refused")
            assert refused["details"]["refusals"] >= 1

            answers: list[httpx.Response] = []

            async def visit() -> None:
                answers.append(await bob.get("/files"))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(visit)
                # Bob's pod runs, but nothing can show it to the controller: the creation
                # waits for the informer instead of failing.
                while not running(site, "bob"):
                    await trio.sleep(POLL)
                await wait_for_phase(admin, nublado, "fileserver/bob", "creating")
                assert not answers
                status = await admin.get(f"{nublado.prefix}/fileserver/v1/users/alice")
                assert status.json() == {"running": True}
                site.faults.clear()
            assert [answer.status_code for answer in answers] == [200]
            for user in ("alice", "bob"):
                server = await actor(admin, nublado.prefix, f"fileserver/{user}")
                assert server is not None
                assert server["restarts"] == 0
                assert server["phase"] == "running"


async def test_a_creation_that_cannot_see_its_pod_times_out_and_cleans_up() -> None:
    fileserver = {**FILESERVER, "creationTimeout": "2s"}
    with trio.fail_after(60):
        async with (
            running_controller(
                site_config=prompt_exit_site(), config_overrides={"fileserver": fileserver}
            ) as nublado,
            nublado.client("bob") as bob,
            nublado.client("admin") as admin,
        ):
            site = nublado.site
            refuse_pod_watches(site)
            await wait_for_phase(admin, nublado, "informer/fileserver-pods", "refused")
            failed = await bob.get("/files")
            assert failed.status_code == 500
            detail = failed.json()["detail"][0]
            assert detail["type"] == "file_server_create_failed"
            assert "File server creation timed out after 2" in detail["msg"]
            for plural, group in (
                ("jobs", "batch"),
                ("services", ""),
                ("gafaelfawringresses", "gafaelfawr.lsst.io"),
                ("ingresses", "networking.k8s.io"),
            ):
                assert names(nublado, plural, group) == [], plural
            assert (await admin.get(f"{nublado.prefix}/fileserver/v1/users")).json() == []
            # Nothing runs: the actor retires, as after any failed creation.
            await wait_until_retired(nublado, admin, "bob")
