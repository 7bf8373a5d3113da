"""The partition fault: one client (by User-Agent) cut off the API server, the others not."""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import trio

from kubesim.site import Site
from tests.e2e.processes import child_process
from tests.kubesim.kubectl_helpers import Kubectl, read_lines_until, stop
from tests.kubesim.test_core_watch import watching
from tests.kubesim.test_kubectl_pods import running_lab

FAULTS = "/_kubesim/faults"
CMS = "/api/v1/namespaces/default/configmaps"
REPLICA_A = "nublado-trio/9.9 (replica a)"
REPLICA_B = "nublado-trio/9.9 (replica b)"


@asynccontextmanager
async def client(site: Site, user_agent: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=site.url or "",
        headers={"user-agent": user_agent},
        timeout=httpx.Timeout(5, read=None),
    ) as http:
        yield http


async def test_a_partitioned_client_gets_no_answer_and_others_are_served(
    kubesim: Site, kube: httpx.AsyncClient
) -> None:
    with trio.fail_after(10):
        async with client(kubesim, REPLICA_A) as a, client(kubesim, REPLICA_B) as b:
            assert (await a.get(CMS)).status_code == 200  # a kept-alive connection
            added = await kube.post(f"{FAULTS}/partitions", json={"client": "(replica a)"})
            assert added.status_code == 201
            assert added.json() == {"client": "(replica a)", "mode": "close", "watchesCut": 0}
            with pytest.raises(httpx.RemoteProtocolError):
                await a.post(CMS, json={"metadata": {"name": "from-a"}})
            with pytest.raises(httpx.RemoteProtocolError):  # on a new connection too
                await a.get(CMS)
            assert (await b.post(CMS, json={"metadata": {"name": "from-b"}})).status_code == 201
            # The cut-off write never reached the server.
            assert (await kube.get(f"{CMS}/from-a")).status_code == 404
            # Nor is it load on the server: the statistics count only what arrived.
            assert kubesim.stats.count("create", "configmaps", client=REPLICA_A) == 0
            assert kubesim.stats.count("create", "configmaps", client=REPLICA_B) == 1

            state = (await kube.get(FAULTS)).json()
            assert state["partitions"] == [{"client": "(replica a)", "mode": "close"}]
            healed = await kube.delete(f"{FAULTS}/partitions", params={"client": "(replica a)"})
            assert healed.status_code == 200
            assert healed.json()["healed"] == 1
            assert healed.json()["partitions"] == []
            assert (await a.post(CMS, json={"metadata": {"name": "from-a"}})).status_code == 201


async def test_the_partition_cuts_the_clients_open_watches_at_once(
    kubesim: Site, kube: httpx.AsyncClient
) -> None:
    with trio.fail_after(10):
        async with (
            client(kubesim, REPLICA_A) as a,
            client(kubesim, REPLICA_B) as b,
            a.stream("GET", CMS, params={"watch": "1"}) as cut,
            watching(b, CMS) as kept,
        ):
            assert cut.status_code == 200
            assert kubesim.stats.open_watches("configmaps") == 2
            assert kubesim.faults.partition("replica a") == 1
            with pytest.raises(httpx.RemoteProtocolError):
                await cut.aread()
            # The other replica's watch still streams.
            await kube.post(CMS, json={"metadata": {"name": "after"}})
            event = await kept.next()
            assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "after")
            assert kubesim.stats.open_watches("configmaps") == 1


async def test_hang_mode_holds_requests_until_the_client_gives_up(
    kubesim: Site, kube: httpx.AsyncClient
) -> None:
    with trio.fail_after(10):
        async with client(kubesim, REPLICA_A) as a:
            kubesim.faults.partition("(replica a)", mode="hang")
            # The client's own deadline ends the request: it sees a timeout, not a refusal.
            with pytest.raises(httpx.ReadTimeout):
                await a.get(CMS, timeout=0.2)

            # A write held when the partition heals is dropped, never served late.
            outcome: list[BaseException] = []

            async def held_write() -> None:
                try:
                    await a.post(CMS, json={"metadata": {"name": "late"}})
                except httpx.TransportError as exc:
                    outcome.append(exc)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(held_write)
                while not kubesim.stats.log.query(verbs=["create"])["requests"]:
                    await trio.sleep(0.01)
                assert kubesim.faults.heal("(replica a)") == 1
            assert [type(e) for e in outcome] == [httpx.RemoteProtocolError]
            assert (await kube.get(f"{CMS}/late")).status_code == 404
            assert (await a.get(CMS)).status_code == 200


async def test_clear_heals_every_partition(kubesim: Site, kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        async with client(kubesim, REPLICA_A) as a, client(kubesim, REPLICA_B) as b:
            kubesim.faults.partition("(replica a)")
            kubesim.faults.partition("(replica b)", mode="hang")
            # Partitioning again replaces the mode rather than adding a second rule.
            kubesim.faults.partition("(replica a)", mode="hang")
            assert [p.snapshot() for p in kubesim.faults.partitions] == [
                {"client": "(replica b)", "mode": "hang"},
                {"client": "(replica a)", "mode": "hang"},
            ]
            assert (await kube.delete(FAULTS)).json()["partitions"] == []
            assert (await a.get(CMS)).status_code == 200
            assert (await b.get(CMS)).status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, '{"client": "<User-Agent substring>"}'),
        ({"client": ""}, "non-empty"),
        ({"client": 3}, "non-empty"),
        ({"client": "x", "mode": "slow"}, "mode must be one of close, hang"),
        ({"client": "x", "seconds": 1}, "unknown fields"),
    ],
)
async def test_bad_partition_requests_are_refused(
    kube: httpx.AsyncClient, body: dict[str, object], message: str
) -> None:
    with trio.fail_after(10):
        refused = await kube.post(f"{FAULTS}/partitions", json=body)
        assert refused.status_code == 400
        assert message in refused.json()["message"]
        assert (await kube.get(FAULTS)).json()["partitions"] == []


async def test_healing_an_unknown_client_is_not_found(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        missing = await kube.delete(f"{FAULTS}/partitions", params={"client": "nobody"})
        assert missing.status_code == 404
        assert "no partition for client 'nobody'" in missing.json()["message"]
        everything = await kube.delete(f"{FAULTS}/partitions")
        assert (everything.status_code, everything.json()["healed"]) == (200, 0)
        assert (await kube.put(f"{FAULTS}/partitions", json={})).status_code == 405


async def test_a_followed_log_is_cut_like_a_watch(kubectl: Kubectl) -> None:
    await running_lab(kubectl)
    process = await kubectl.open("logs", "-f", "lab")
    try:
        await read_lines_until(process, lambda seen: any("Use Control-C" in s for s in seen))
        site = kubectl.site
        assert site is not None
        assert site.faults.partition("kubectl/") == 1
        with trio.fail_after(20):
            await process.wait()
        # The stream ended because its client was cut off: the container still runs.
        pod = site.store.get(site.store.resource("pods"), "default", "lab")
        assert pod["status"]["phase"] == "Running"
    finally:
        await stop(process)


async def test_a_standalone_kubesim_partitions_one_replica_and_logs_both(
    tmp_path: Path,
) -> None:
    """As the leader-election tests use it: ``python -m kubesim`` in its own process, driven
    over its admin API only."""
    config = tmp_path / "kubesim.yaml"
    config.write_text("request_log_size: 50\n")
    command = [sys.executable, "-m", "kubesim", "--port", "0", "--config", str(config)]
    with trio.fail_after(30):
        async with child_process(command, tmp_path / "kubesim.log") as process:
            line = await process.first_line(lambda text: text.startswith("kubesim serving"))
            url = line.split(" on ", 1)[1].split()[0]
            async with (
                httpx.AsyncClient(base_url=url, timeout=5) as admin,
                httpx.AsyncClient(base_url=url, headers={"user-agent": REPLICA_A}) as a,
                httpx.AsyncClient(base_url=url, headers={"user-agent": REPLICA_B}) as b,
            ):
                start = time.time()
                cut = await admin.post(f"{FAULTS}/partitions", json={"client": "(replica a)"})
                assert cut.status_code == 201
                with pytest.raises(httpx.RemoteProtocolError):
                    await a.post(CMS, json={"metadata": {"name": "from-a"}})
                assert (await b.post(CMS, json={"metadata": {"name": "from-b"}})).is_success
                assert (await admin.delete(f"{FAULTS}/partitions")).json()["healed"] == 1
                assert (await a.get(f"{CMS}/from-b")).status_code == 200

                log = (
                    await admin.get(
                        "/_kubesim/requests", params={"since": start, "verbs": "create"}
                    )
                ).json()
                assert log["capacity"] == 50
                assert log["complete"] is True
                assert [
                    (r["client"], r["name"], r["status"], r["partitioned"]) for r in log["requests"]
                ] == [
                    (REPLICA_A, "from-a", None, True),
                    (REPLICA_B, "from-b", 201, False),
                ]


async def test_a_request_held_by_latency_is_dropped_if_its_client_is_cut_meanwhile(
    kubesim: Site, kube: httpx.AsyncClient
) -> None:
    with trio.fail_after(10):
        kubesim.faults.add_latency(1.0, verb="create", resource="configmaps")
        outcome: list[BaseException] = []

        async def slow_write() -> None:
            async with client(kubesim, REPLICA_A) as a:
                try:
                    await a.post(CMS, json={"metadata": {"name": "slow"}})
                except httpx.TransportError as exc:
                    outcome.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(slow_write)
            while not kubesim.stats.log.query(verbs=["create"])["requests"]:
                await trio.sleep(0.01)
            kubesim.faults.partition("(replica a)")
        assert [type(e) for e in outcome] == [httpx.RemoteProtocolError]
        assert (await kube.get(f"{CMS}/slow")).status_code == 404
        (entry,) = kubesim.stats.log.query(verbs=["create"])["requests"]
        assert (entry["name"], entry["status"], entry["partitioned"]) == ("slow", None, True)
