"""What a spawn costs the API server: one create per object, no reads, no watch of its own.

(The spawn follows its pod through the shared informer of lab pods, and the pod's Kubernetes
Events through the one relay of pod Events.)

The namespace comes first; every other object, the pod included, is created at once. The
only thing Kubernetes checks at a pod's creation that another object provides is its service
account, which a controller makes just after the namespace: a spawn that meets that race
waits for the account and creates the pod again, and still completes.
"""

from __future__ import annotations

from collections import Counter

import trio

from kubesim.site import SiteConfig
from kubesim.store import StoreConfig
from tests.e2e.harness import RunningController, running_controller
from tests.e2e.resilience_support import actor, finished_events, spawn_body

OBJECTS = Counter(
    {
        ("create", "namespaces"): 1,
        ("create", "configmaps"): 3,
        ("create", "secrets"): 1,
        ("create", "networkpolicies"): 1,
        ("create", "services"): 1,
        ("create", "resourcequotas"): 1,
        ("create", "pods"): 1,
    }
)
"""The objects of alice's demo lab (her notebook quota makes a ResourceQuota)."""


def _site(service_account_delay: float) -> SiteConfig:
    return SiteConfig(
        store=StoreConfig(namespace_delete_delay=0.05, service_account_delay=service_account_delay),
        bookmark_interval=1.0,
        seed=7,
        controllers={"kubelet": {}},
    )


async def _prepulls_done(nublado: RunningController) -> None:
    """Wait until the start-up prepulls are over: their pods would be counted with the lab's."""
    async with nublado.client("admin") as admin:
        while True:
            prepuller = await actor(admin, nublado.prefix, "prepuller")
            started = prepuller is not None and prepuller["details"]["cycles"] >= 1
            if started and prepuller is not None and prepuller["phase"] == "idle":
                return
            await trio.sleep(0.05)


async def _spawn_and_count(nublado: RunningController) -> Counter[tuple[str, str]]:
    """Requests the API server saw from creating alice's lab until the spawn completed."""
    stats = nublado.site.stats
    await _prepulls_done(nublado)
    async with nublado.client("alice") as alice:
        stats.reset()
        created = await alice.post(
            f"{nublado.prefix}/spawner/v1/labs/alice/create", json=spawn_body(nublado, "alice")
        )
        assert created.status_code == 201, created.text
        events = await finished_events(alice, nublado.prefix, "alice")
    assert events[-1].type == "complete", events
    seen: Counter[tuple[str, str]] = Counter()
    for row in stats.snapshot()["requests"]:
        if row["resource"] != "nodes":  # the image service's, not the spawn's
            seen[(row["verb"], row["resource"])] += row["count"]
    return seen


async def test_a_spawn_creates_each_object_once_and_reads_nothing() -> None:
    async with running_controller(site_config=_site(0.0)) as nublado:
        with trio.fail_after(30):
            seen = await _spawn_and_count(nublado)
    assert seen == OBJECTS, seen


async def test_a_pod_refused_for_its_missing_service_account_is_created_once_it_exists() -> None:
    async with running_controller(site_config=_site(0.5)) as nublado:
        with trio.fail_after(30):
            seen = await _spawn_and_count(nublado)
    assert seen[("create", "pods")] == 2, seen
    assert seen[("get", "serviceaccounts")] + seen[("watch", "serviceaccounts")] >= 1
