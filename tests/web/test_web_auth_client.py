"""``actors.gafaelfawr``: the client's answers, errors, cache and secrecy, over real HTTP.

The TTL/LRU cache is also tested on its own with a fake clock; the client tests drive its
cache clock by hand (``clock=lambda: now[0]``) since real sockets and Trio's autojump clock
do not mix.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import trio

from actors.gafaelfawr import (
    GafaelfawrClient,
    GafaelfawrTokenRejected,
    GafaelfawrUnavailable,
    TtlLruCache,
)
from kubesim.gafaelfawr import TokenRecord
from kubesim.site import Site
from tests.web.auth_site import DEMO_TOKENS, GafaelfawrSwitchboard, refused_url, run_gafaelfawr

ALICE = DEMO_TOKENS["alice"]


@pytest.fixture
async def gafaelfawr() -> AsyncIterator[tuple[Site, GafaelfawrSwitchboard]]:
    async with run_gafaelfawr() as running:
        yield running


@pytest.fixture
def switchboard(gafaelfawr: tuple[Site, GafaelfawrSwitchboard]) -> GafaelfawrSwitchboard:
    return gafaelfawr[1]


@pytest.fixture
def now() -> list[float]:
    """The cache clock of the ``client`` fixture; tests move it forward by hand."""
    return [1000.0]


@pytest.fixture
async def client(
    gafaelfawr: tuple[Site, GafaelfawrSwitchboard], now: list[float]
) -> AsyncIterator[GafaelfawrClient]:
    site, _ = gafaelfawr
    async with GafaelfawrClient(site.url or "", cache_seconds=60, clock=lambda: now[0]) as client:
        yield client


# Answers.


async def test_user_info_is_the_gafaelfawr_user_record(client: GafaelfawrClient) -> None:
    with trio.fail_after(5):
        alice = await client.user_info(ALICE)
        carol = await client.user_info(DEMO_TOKENS["carol"])
    assert (alice.username, alice.uid, alice.gid, alice.name) == (
        "alice",
        1001,
        1001,
        "Alice Example",
    )
    assert [group.name for group in alice.groups] == ["alice", "g_users", "g_science"]
    assert alice.notebook_quota is not None
    assert alice.notebook_quota.memory_bytes == 16 * 1024**3
    assert (carol.uid, carol.gid, carol.quota) == (None, None, None)


async def test_token_info_gives_owner_scopes_and_expiry(
    client: GafaelfawrClient, switchboard: GafaelfawrSwitchboard
) -> None:
    expiry = int(time.time()) + 3600
    switchboard.fake.data.add_token(
        TokenRecord(token="gt-key.secret", username="alice", scopes=("read:image",), expires=expiry)
    )
    with trio.fail_after(5):
        hub = await client.token_info(DEMO_TOKENS["hub"])
        expiring = await client.token_info("gt-key.secret")
    assert hub.username == "bot-jupyterhub"
    assert hub.token_type == "service"
    assert hub.scopes == {"admin:jupyterlab"}
    assert hub.has_scope("admin:jupyterlab")
    assert not hub.has_scope("exec:admin")
    assert hub.expires is None
    assert expiring.expires == datetime.fromtimestamp(expiry, tz=UTC)


# Errors.


@pytest.mark.parametrize("token", ["no-such-token", DEMO_TOKENS["expired"]])
async def test_unknown_or_expired_token_is_rejected(client: GafaelfawrClient, token: str) -> None:
    with trio.fail_after(5):
        with pytest.raises(GafaelfawrTokenRejected):
            await client.user_info(token)
        with pytest.raises(GafaelfawrTokenRejected):
            await client.token_info(token)


@pytest.mark.parametrize("token", ["", "two words", "tökén", "x" * 5000, "line\r\nbreak"])
async def test_malformed_token_is_rejected_without_asking_gafaelfawr(
    client: GafaelfawrClient, switchboard: GafaelfawrSwitchboard, token: str
) -> None:
    with trio.fail_after(5), pytest.raises(GafaelfawrTokenRejected):
        await client.user_info(token)
    assert switchboard.total == 0


@pytest.mark.parametrize(
    ("status", "garbage"), [(500, False), (503, False), (418, False), (None, True)]
)
async def test_error_statuses_and_garbage_mean_unavailable(
    client: GafaelfawrClient, switchboard: GafaelfawrSwitchboard, status: int | None, garbage: bool
) -> None:
    switchboard.outage_status = status
    switchboard.garbage = garbage
    with trio.fail_after(5), pytest.raises(GafaelfawrUnavailable) as caught:
        await client.user_info(ALICE)
    assert ALICE not in str(caught.value)


async def test_refused_connection_means_unavailable() -> None:
    with trio.fail_after(5):
        async with GafaelfawrClient(refused_url()) as client:
            with pytest.raises(GafaelfawrUnavailable):
                await client.token_info(ALICE)


async def test_slow_gafaelfawr_times_out_as_unavailable(
    gafaelfawr: tuple[Site, GafaelfawrSwitchboard],
) -> None:
    site, switchboard = gafaelfawr
    switchboard.delay = 2.0
    with trio.fail_after(5):
        async with GafaelfawrClient(site.url or "", timeout=0.2) as client:
            with pytest.raises(GafaelfawrUnavailable, match="Timeout"):
                await client.user_info(ALICE)


# Cache.


async def test_answers_are_reused_until_they_expire(
    client: GafaelfawrClient, switchboard: GafaelfawrSwitchboard, now: list[float]
) -> None:
    with trio.fail_after(5):
        first = await client.user_info(ALICE)
        now[0] += 59
        assert await client.user_info(ALICE) == first
        assert switchboard.requests == {"user-info": 1}
        now[0] += 2
        await client.user_info(ALICE)
    assert switchboard.requests == {"user-info": 2}


async def test_user_info_and_token_info_are_cached_apart(
    client: GafaelfawrClient, switchboard: GafaelfawrSwitchboard
) -> None:
    with trio.fail_after(5):
        for _ in range(2):
            await client.user_info(ALICE)
            await client.token_info(ALICE)
    assert switchboard.requests == {"user-info": 1, "token-info": 1}


async def test_token_info_is_not_reused_past_the_tokens_expiry(
    client: GafaelfawrClient, switchboard: GafaelfawrSwitchboard, now: list[float]
) -> None:
    switchboard.fake.data.add_token(
        TokenRecord(token="short-lived", username="alice", scopes=(), expires=time.time() + 30)
    )
    with trio.fail_after(5):
        await client.token_info("short-lived")
        now[0] += 25
        await client.token_info("short-lived")
        assert switchboard.requests == {"token-info": 1}
        now[0] += 10
        await client.token_info("short-lived")
    assert switchboard.requests == {"token-info": 2}


async def test_cache_is_bounded_least_recently_used_first(
    gafaelfawr: tuple[Site, GafaelfawrSwitchboard],
) -> None:
    site, switchboard = gafaelfawr
    with trio.fail_after(5):
        async with GafaelfawrClient(site.url or "", max_cache_entries=2) as client:
            for token in (ALICE, DEMO_TOKENS["bob"], ALICE, DEMO_TOKENS["carol"]):
                await client.user_info(token)
            assert switchboard.requests == {"user-info": 3}  # alice was used again: kept
            await client.user_info(DEMO_TOKENS["bob"])  # bob was the oldest: evicted
    assert switchboard.requests == {"user-info": 4}


async def test_client_repr_names_no_token(client: GafaelfawrClient) -> None:
    with trio.fail_after(5):
        await client.user_info(ALICE)
        await client.token_info(DEMO_TOKENS["hub"])
    assert "demo-token" not in repr(client)
    assert "cache=2" in repr(client)


async def test_closed_client_reopens_on_next_use(client: GafaelfawrClient) -> None:
    with trio.fail_after(5):
        await client.aclose()
        await client.aclose()
        assert (await client.token_info(ALICE)).username == "alice"


# The cache on its own.


def test_cache_entry_expires_after_its_ttl() -> None:
    now = [0.0]
    cache: TtlLruCache[str, int] = TtlLruCache(max_entries=4, clock=lambda: now[0])
    cache.put("a", 1, ttl=10)
    now[0] = 9.9
    assert cache.get("a") == 1
    now[0] = 10.0
    assert cache.get("a") is None
    assert len(cache) == 0


def test_cache_get_refreshes_recency_and_put_evicts_the_oldest() -> None:
    cache: TtlLruCache[str, int] = TtlLruCache(max_entries=2, clock=lambda: 0.0)
    cache.put("a", 1, ttl=10)
    cache.put("b", 2, ttl=10)
    cache.get("a")
    cache.put("c", 3, ttl=10)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)


def test_cache_put_with_no_lifetime_forgets_the_key() -> None:
    cache: TtlLruCache[str, int] = TtlLruCache(max_entries=2, clock=lambda: 0.0)
    cache.put("a", 1, ttl=10)
    cache.put("a", 2, ttl=0)
    assert cache.get("a") is None
    assert repr(cache) == "<TtlLruCache 0/2 entries>"


def test_cache_needs_room_for_one_entry() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        TtlLruCache[str, int](max_entries=0, clock=time.monotonic)
