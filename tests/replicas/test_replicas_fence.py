"""A leader that dies or is cut off from the API server stops writing before anyone else
starts: the fence, checked in kubesim's request log (its audit log)."""

from __future__ import annotations

from datetime import datetime

import trio

from tests.e2e.harness import fast_site_config
from tests.replicas.support import TIMINGS, lease, start_replica, wait_until
from web.simulate import simulated_cluster

WRITES = ["create", "update", "patch", "delete", "deletecollection"]


def _acquired_at(site: object) -> float:
    held = lease(site)  # type: ignore[arg-type]
    assert held is not None
    return datetime.fromisoformat(held["spec"]["acquireTime"].replace("Z", "+00:00")).timestamp()


async def test_a_partitioned_leader_stops_writing_before_another_takes_over() -> None:
    async with simulated_cluster(fast_site_config()) as site, trio.open_nursery() as nursery:
        old = await start_replica(nursery, site)
        await wait_until(lambda: old.serving)
        new = await start_replica(nursery, site)
        await wait_until(lambda: new.replicas.view.leader is not None)
        # Slow creates: the spawn below is still creating objects when the partition comes.
        site.faults.add_latency(0.4, verb="create", resource="configmaps")
        running = old.running
        body = {
            "options": {"image_dropdown": [running.image()], "size": ["small"]},
            "env": {"JUPYTERHUB_SERVICE_PREFIX": "/nb/user/alice/"},
        }
        async with running.client("alice") as alice:
            created = await alice.post(f"{running.prefix}/spawner/v1/labs/alice/create", json=body)
        assert created.status_code == 201, created.text
        site.faults.partition(old.identity)
        cut_at = trio.current_time()
        with trio.fail_after(20):
            await wait_until(lambda: not old.replicas.terms.leading)
            await wait_until(lambda: new.serving)
        renew_deadline = float(TIMINGS["renewDeadline"])
        # The old leader's own clock: its term ended by its fence, not by luck.
        assert trio.current_time() - cut_at >= float(TIMINGS["leaseDuration"]) - 0.5
        log = site.stats.log.query(client=old.identity, verbs=WRITES)
        assert log["complete"]
        writes = [entry for entry in log["requests"] if entry["resource"] != "leases"]
        attempted = [entry for entry in writes if entry["partitioned"]]
        assert attempted, "the old leader tried no write during the partition: nothing tested"
        takeover = _acquired_at(site)
        last_write = max(entry["time"] for entry in writes)
        assert last_write < takeover, (last_write, takeover)
        assert takeover - last_write > float(TIMINGS["leaseDuration"]) - renew_deadline - 0.3
        site.faults.heal()
        await new.stop()
        await old.stop()


async def test_a_crashed_leader_is_replaced_within_the_lease_duration() -> None:
    async with simulated_cluster(fast_site_config()) as site, trio.open_nursery() as nursery:
        old = await start_replica(nursery, site)
        await wait_until(lambda: old.serving)
        new = await start_replica(nursery, site)
        await wait_until(lambda: new.replicas.view.leader is not None)
        identity = old.identity
        await old.crash()
        held = lease(site)
        assert held is not None
        assert held["spec"]["holderIdentity"] == identity  # nobody released it
        with trio.fail_after(20):
            await wait_until(lambda: new.serving)
        after = lease(site)
        assert after is not None
        assert after["spec"]["holderIdentity"] == new.identity
        assert after["spec"]["leaseTransitions"] == held["spec"]["leaseTransitions"] + 1
        await new.stop()
