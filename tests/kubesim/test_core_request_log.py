"""The request log: each Kubernetes API request with its times, client, object and status."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import trio

from kubesim.requestlog import RequestLog
from kubesim.site import Site, SiteConfig, run_site

REQUESTS = "/_kubesim/requests"
CMS = "/api/v1/namespaces/default/configmaps"
WRITES = "create,update,patch,delete,deletecollection"


def as_client(name: str) -> dict[str, str]:
    return {"user-agent": f"nublado-trio/9.9 (replica {name})"}


async def query(kube: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    answer = await kube.get(REQUESTS, params=params)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_each_request_is_logged_with_its_object_and_status(
    kubesim: Site, kube: httpx.AsyncClient
) -> None:
    with trio.fail_after(10):
        before_wall, before_monotonic = time.time(), time.monotonic()
        a = as_client("a")
        assert (await kube.post(CMS, json={"metadata": {"name": "c"}}, headers=a)).is_success
        refused = await kube.post(CMS, json={"metadata": {"name": "c"}}, headers=a)
        assert refused.status_code == 409
        await kube.get(f"{CMS}/c", headers=as_client("b"))
        await kube.delete(f"{CMS}/c", headers=a)
        await kube.get("/api/v1/namespaces/default", headers=a)
        await kube.get("/version", headers=a)

        log = await query(kube, client="(replica a)")
        assert log["complete"] is True
        assert log["capacity"] == 100_000
        assert log["evicted"] == 0
        rows = [
            (r["verb"], r["resource"], r["namespace"], r["name"], r["status"])
            for r in log["requests"]
        ]
        assert rows == [
            ("create", "configmaps", "default", "c", 201),
            ("create", "configmaps", "default", "c", 409),  # refused, but received
            ("delete", "configmaps", "default", "c", 200),
            ("get", "namespaces", "default", "default", 200),
            ("get", "/version", "", "", 200),
        ]
        first = log["requests"][0]
        assert first["client"] == "nublado-trio/9.9 (replica a)"
        assert first["partitioned"] is False
        assert before_wall <= first["time"] <= time.time()
        assert before_monotonic <= first["monotonic"] <= time.monotonic()
        times = [r["monotonic"] for r in log["requests"]]
        assert times == sorted(times)


async def test_filters_by_time_verb_resource_and_namespace(
    kubesim: Site, kube: httpx.AsyncClient
) -> None:
    with trio.fail_after(10):
        a = as_client("a")
        await kube.post(CMS, json={"metadata": {"name": "early"}}, headers=a)
        await kube.get(CMS, headers=a)
        middle = time.time()
        middle_monotonic = time.monotonic()
        await kube.post(CMS, json={"metadata": {"name": "late"}}, headers=a)
        await kube.patch(
            f"{CMS}/late",
            json={"data": {"k": "v"}},
            headers={**a, "content-type": "application/merge-patch+json"},
        )
        await kube.get(f"{CMS}/late", headers=a)
        await kube.get("/api/v1/namespaces", headers=a)

        def names(log: dict[str, Any]) -> list[tuple[str, str]]:
            return [(r["verb"], r["name"]) for r in log["requests"]]

        writes = await query(kube, client="replica a", since=middle, verbs=WRITES)
        assert names(writes) == [("create", "late"), ("patch", "late")]
        assert writes["complete"] is True
        by_monotonic = await query(kube, sinceMonotonic=middle_monotonic, verbs=WRITES)
        assert names(by_monotonic) == names(writes)
        assert names(await query(kube, verbs="list")) == [("list", ""), ("list", "")]
        assert [r["resource"] for r in (await query(kube, resource="namespaces"))["requests"]] == [
            "namespaces"
        ]
        in_default = await query(kube, namespace="default", since=middle)
        assert len(in_default["requests"]) == 3
        assert (await query(kube, client="replica b"))["requests"] == []
        # From Python, the same.
        python = kubesim.stats.log.query(client="replica a", since=middle, verbs=["create"])
        assert [r["name"] for r in python["requests"]] == ["late"]


async def test_a_partitioned_clients_attempts_are_logged_as_never_answered(
    kubesim: Site, kube: httpx.AsyncClient
) -> None:
    with trio.fail_after(10):
        kubesim.faults.partition("(replica a)")
        with pytest.raises(httpx.RemoteProtocolError):
            await kube.put(f"{CMS}/x", json={"metadata": {"name": "x"}}, headers=as_client("a"))
        (entry,) = (await query(kube, client="replica a"))["requests"]
        assert (entry["verb"], entry["name"], entry["status"], entry["partitioned"]) == (
            "update",
            "x",
            None,
            True,
        )


async def test_the_stats_reset_empties_the_log(kubesim: Site, kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await kube.get(CMS)
        assert len((await query(kube))["requests"]) == 1
        assert (await kube.post("/_kubesim/stats/reset")).status_code == 200
        after = await query(kube)
        assert (after["requests"], after["recorded"], after["complete"]) == ([], 0, True)
        # The admin API is not logged, as it is not counted.
        await kube.get("/_kubesim/faults")
        assert (await query(kube))["requests"] == []


async def test_the_log_keeps_the_newest_entries_and_says_when_it_lost_some() -> None:
    config = SiteConfig(request_log_size=3)
    with trio.fail_after(10):
        async with (
            run_site(config) as site,
            httpx.AsyncClient(base_url=site.url or "") as kube,
        ):
            for name in ("a", "b"):
                await kube.get(f"{CMS}/{name}")
            middle = time.time()
            for name in ("c", "d", "e"):
                await kube.get(f"{CMS}/{name}")
            log = await query(kube)
            assert [r["name"] for r in log["requests"]] == ["c", "d", "e"]
            assert (log["recorded"], log["evicted"], log["capacity"]) == (5, 2, 3)
            assert log["complete"] is False
            # Since a time before the oldest kept entry, nothing asked about was lost...
            assert (await query(kube, since=middle))["complete"] is True
            # ...but from the start it was.
            assert (await query(kube, since=0))["complete"] is False


async def test_size_zero_turns_the_log_off() -> None:
    with trio.fail_after(10):
        async with (
            run_site(SiteConfig(request_log_size=0)) as site,
            httpx.AsyncClient(base_url=site.url or "") as kube,
        ):
            await kube.get(CMS)
            log = await query(kube)
            assert (log["requests"], log["capacity"], log["complete"]) == ([], 0, False)
            assert site.stats.count("list", "configmaps") == 1


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "yesterday"}, "since must be a number of seconds"),
        ({"sinceMonotonic": "nan"}, "sinceMonotonic must be a finite number"),
        ({"verb": "create"}, "unknown query parameters ['verb']"),
    ],
)
async def test_bad_queries_are_refused(
    kube: httpx.AsyncClient, params: dict[str, str], message: str
) -> None:
    with trio.fail_after(10):
        refused = await kube.get(REQUESTS, params=params)
        assert refused.status_code == 400
        assert message in refused.json()["message"]
        assert (await kube.post(REQUESTS)).status_code == 405
        assert (await kube.get(f"{REQUESTS}/more")).status_code == 404


@pytest.mark.parametrize("size", [-1, "many", True])
def test_the_size_setting_is_checked(size: object) -> None:
    with pytest.raises(ValueError, match="request_log_size must be an integer >= 0"):
        SiteConfig.from_mapping({"request_log_size": size})
    assert SiteConfig.from_mapping({"request_log_size": 10}).request_log_size == 10
    with pytest.raises(ValueError, match="0 or more"):
        RequestLog(-1)
