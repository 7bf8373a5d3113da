"""A restarted controller rebuilds its file servers from Kubernetes and removes broken ones."""

from __future__ import annotations

import trio

from tests.e2e.harness import serving_controller
from tests.e2e.test_e2e_fileservers_lifecycle import prompt_exit_site
from web.simulate import simulated_cluster


async def test_a_new_controller_adopts_running_servers_and_removes_broken_ones() -> None:
    with trio.fail_after(60):
        async with simulated_cluster(prompt_exit_site()) as site:
            async with (
                serving_controller(site) as first,
                first.client("alice") as alice,
                first.client("bob") as bob,
            ):
                assert (await alice.get("/files")).status_code == 200
                assert (await bob.get("/files")).status_code == 200
            store = site.store
            # While no controller runs, bob's ingress disappears: his server is broken.
            ingresses = store.resource("ingresses", "networking.k8s.io")
            store.delete(ingresses, "fileservers", "bob-fs")
            gafaelfawr = store.resource("gafaelfawringresses", "gafaelfawr.lsst.io")
            store.delete(gafaelfawr, "fileservers", "bob-fs")
            async with serving_controller(site) as second, second.client("admin") as admin:
                users = await admin.get(f"{second.prefix}/fileserver/v1/users")
                assert users.json() == ["alice"]
                jobs = store.resource("jobs", "batch")
                while "bob-fs" in [
                    j["metadata"]["name"] for j in store.list(jobs, "fileservers")[0]
                ]:
                    await trio.sleep(0.05)
                status = await admin.get(f"{second.prefix}/fileserver/v1/users/alice")
                assert status.json() == {"running": True}
