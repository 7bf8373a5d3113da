"""A follower relays plain HTTP requests to the leader over real HTTP, and refuses cleanly."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import httpx
import pytest
import trio

from tests.web.conftest import LogCapture
from tests.web.forwarding_site import (
    FakeRoute,
    closed_port_url,
    forwarding_pair,
    serve_follower,
)
from web.bounds import MAX_BODY_BYTES
from web.forwarding import SERVE_HERE, ForwardingTuning
from web.forwarding.http_relay import upstream_client

DEADLINE = 20


def headers_of(seen: dict[str, object]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in seen["headers"]:  # type: ignore[attr-defined]
        found.setdefault(name, []).append(value)
    return found


async def test_get_is_relayed_with_its_query_status_and_headers() -> None:
    with trio.fail_after(DEADLINE):
        async with forwarding_pair() as pair, httpx.AsyncClient(base_url=pair.url) as client:
            response = await client.get("/t/echo?a=1&b=%2F%20x&status=202")
            assert response.status_code == 202
            seen = response.json()
            assert seen["method"] == "GET"
            assert seen["raw_query"] == "a=1&b=%2F%20x&status=202"
            assert response.headers["x-leader"] == "yes"
            assert pair.controls.echoes == 1


async def test_post_body_is_streamed_to_the_leader_whole() -> None:
    body = bytes(range(256)) * 400  # 100 KiB, every byte value
    with trio.fail_after(DEADLINE):
        async with forwarding_pair() as pair, httpx.AsyncClient(base_url=pair.url) as client:
            response = await client.post("/t/echo?status=201", content=body)
            assert response.status_code == 201
            seen = response.json()
            assert seen["method"] == "POST"
            assert seen["body_length"] == len(body)
            # The leader built the Location from the Host the client used (the follower's).
            assert response.headers["location"] == f"{pair.url}/t/echo?made=1"

            async def chunked() -> AsyncIterator[bytes]:
                for start in range(0, len(body), 10_000):
                    yield body[start : start + 10_000]

            response = await client.put("/t/echo", content=chunked())
            assert response.json()["body_length"] == len(body)


async def test_delete_is_relayed() -> None:
    with trio.fail_after(DEADLINE):
        async with forwarding_pair() as pair, httpx.AsyncClient(base_url=pair.url) as client:
            response = await client.delete("/t/echo?status=204")
            assert response.status_code == 204
            assert response.content == b""
            response = await client.head("/t/echo")
            assert response.status_code == 200
            assert response.content == b""
            assert int(response.headers["content-length"]) > 0


async def test_hop_by_hop_headers_stay_behind_and_forwarding_headers_are_added() -> None:
    with trio.fail_after(DEADLINE):
        async with forwarding_pair() as pair, httpx.AsyncClient(base_url=pair.url) as client:
            response = await client.get(
                "/t/echo",
                headers={
                    "Connection": "keep-alive, X-Private-Hop",
                    "X-Private-Hop": "secret-of-this-hop",
                    "Keep-Alive": "timeout=5",
                    "Proxy-Authorization": "Basic Zm9vOmJhcg==",
                    "TE": "trailers",
                    "Authorization": "Bearer end-to-end",
                    "X-Forwarded-For": "203.0.113.9",
                    "X-Request-Id": "trace-me-42",
                },
            )
            seen = headers_of(response.json())
            for hop in ("x-private-hop", "keep-alive", "proxy-authorization", "te"):
                assert hop not in seen, hop
            assert seen["authorization"] == ["Bearer end-to-end"]
            assert seen["host"] == [pair.url.removeprefix("http://")]
            assert seen["x-forwarded-for"] == ["203.0.113.9, 127.0.0.1"]
            assert seen["nublado-forwarded-by"] == ["follower-1"]
            # One request id from client to leader and back.
            assert seen["x-request-id"] == ["trace-me-42"]
            assert response.headers["x-request-id"] == "trace-me-42"
            # And back: the leader's hop-by-hop headers are dropped, one Date only.
            assert "keep-alive" not in response.headers
            assert len(response.headers.get_list("date")) == 1
            assert response.headers["set-cookie"].startswith("session=abc")


async def test_scheme_and_host_from_a_trusted_proxy_reach_the_leader() -> None:
    """The ingress (here the test, from 127.0.0.1, which both replicas trust) says https."""
    with trio.fail_after(DEADLINE):
        async with forwarding_pair() as pair, httpx.AsyncClient(base_url=pair.url) as client:
            response = await client.post(
                "/t/echo?status=201",
                headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hub.example.org"},
            )
            seen = response.json()
            assert (seen["scheme"], seen["host"]) == ("https", "hub.example.org")
            assert response.headers["location"] == "https://hub.example.org/t/echo?made=1"


async def test_forwarded_headers_from_an_untrusted_client_never_reach_the_leader() -> None:
    """The follower trusts no proxy here; the leader trusts the follower (127.0.0.1). What
    the client claims must be dropped by the follower, not laundered through it."""
    with trio.fail_after(DEADLINE):
        async with forwarding_pair() as pair:
            route = FakeRoute(pair.leader.base_url)
            untrusting = {"server": {"trustedProxies": ["192.0.2.1"]}}
            async with (
                serve_follower(route, **untrusting) as follower,
                httpx.AsyncClient(base_url=follower.base_url) as client,
            ):
                response = await client.post(
                    "/t/echo?status=201",
                    headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"},
                )
            seen = response.json()
            assert (seen["scheme"], seen["host"]) == ("http", follower.base_url[7:])
            assert response.headers["location"].startswith(f"{follower.base_url}/")


async def test_probe_health_and_metrics_are_answered_by_the_follower_itself() -> None:
    # The route names a leader that does not exist: anything relayed would fail.
    async with serve_follower(FakeRoute(closed_port_url())) as follower:
        with trio.fail_after(DEADLINE):
            async with httpx.AsyncClient(base_url=follower.base_url) as client:
                for path in ("/", "/health", "/metrics"):
                    assert (await client.get(path)).status_code == 200, path


async def test_a_leading_replica_serves_everything_itself() -> None:
    route = FakeRoute(closed_port_url())
    route.local = True
    with trio.fail_after(DEADLINE):
        async with (
            serve_follower(route) as replica,
            httpx.AsyncClient(base_url=replica.base_url) as client,
        ):
            response = await client.get("/nublado/no-such-route")
            assert response.status_code == 404
            assert route.asked == 0


async def test_a_replica_elected_while_a_request_waits_answers_it_itself() -> None:
    """The route's wait ends with "serve here": the app gets the whole request."""
    with trio.fail_after(DEADLINE):
        async with (
            serve_follower(FakeRoute(SERVE_HERE)) as replica,
            httpx.AsyncClient(base_url=replica.base_url) as client,
        ):
            response = await client.post("/t/where", content=b"z" * 5000)
            assert response.status_code == 200
            assert response.text == "follower read 5000 bytes"


async def test_a_relayed_request_waits_for_an_elected_replica_to_serve() -> None:
    """Relayed here by a replica that saw this one win the election before its services were
    ready: it is answered here once they are, not turned away."""
    with trio.fail_after(DEADLINE):
        async with (
            serve_follower(FakeRoute(SERVE_HERE)) as replica,
            httpx.AsyncClient(base_url=replica.base_url) as client,
        ):
            response = await client.post(
                "/t/where", content=b"abc", headers={"Nublado-Forwarded-By": "follower-2"}
            )
            assert response.text == "follower read 3 bytes"


async def test_a_request_forwarded_once_is_never_forwarded_again() -> None:
    with trio.fail_after(DEADLINE):
        async with forwarding_pair() as pair, httpx.AsyncClient(base_url=pair.url) as client:
            response = await client.get("/t/echo", headers={"Nublado-Forwarded-By": "follower-2"})
            assert response.status_code == 503
            assert response.headers["retry-after"] == "1"
            [detail] = response.json()["detail"]
            assert detail["type"] == "not_leader"
            assert "follower-2" in detail["msg"]
            assert response.headers["nublado-not-served"] == "not_leader"
            assert pair.controls.echoes == 0


async def test_a_forged_forwarded_by_header_is_not_echoed_or_logged(logs: LogCapture) -> None:
    secret = "Bearer gt-abc.def"
    with trio.fail_after(DEADLINE):
        async with forwarding_pair() as pair, httpx.AsyncClient(base_url=pair.url) as client:
            response = await client.get("/t/echo", headers={"Nublado-Forwarded-By": secret})
            assert response.status_code == 503
            assert "gt-abc" not in response.text
    assert "gt-abc" not in logs.text
    assert any(r["event"].startswith("Relayed request reached") for r in logs.records())


async def test_no_leader_is_503_with_retry_after() -> None:
    with trio.fail_after(DEADLINE):
        async with (
            serve_follower(FakeRoute(None)) as follower,
            httpx.AsyncClient(base_url=follower.base_url) as client,
        ):
            response = await client.post("/nublado/spawner/v1/labs/alice/create", json={})
            assert response.status_code == 503
            assert response.headers["retry-after"] == "1"
            assert response.json() == {
                "detail": [
                    {
                        "msg": "No leader: no replica leads right now, retry shortly",
                        "type": "no_leader",
                    }
                ]
            }


async def test_unreachable_leader_is_503_without_its_address() -> None:
    dead = closed_port_url()
    route = FakeRoute(dead)
    with trio.fail_after(DEADLINE):
        async with (
            serve_follower(route, ForwardingTuning(connect_retry_window=0.3)) as follower,
            httpx.AsyncClient(base_url=follower.base_url) as client,
        ):
            response = await client.get(
                "/nublado/admin/actors", headers={"Authorization": "Bearer tok-123"}
            )
            assert response.status_code == 503
            assert response.headers["retry-after"] == "1"
            [detail] = response.json()["detail"]
            assert detail["type"] == "leader_unreachable"
            assert dead.rsplit(":", 1)[1] not in response.text
            assert "tok-123" not in response.text
            # It kept asking the route during the window: a new leader would have been found.
            assert route.asked >= 2


async def test_a_refused_connection_is_retried_on_the_new_leader() -> None:
    """A hand-off: the route still names the old leader once, then the new one."""
    with trio.fail_after(DEADLINE):
        async with forwarding_pair() as pair:
            pair.route._answers = [closed_port_url(), pair.leader.base_url]
            pair.route.asked = 0
            async with httpx.AsyncClient(base_url=pair.url) as client:
                response = await client.post("/t/echo", content=b"x" * 1000)
            assert response.status_code == 200
            assert response.json()["body_length"] == 1000
            assert pair.route.asked == 2


PIECE = 64 * 1024


async def raw_post(port: int, content: bytes, *, chunked: bool) -> tuple[int, bytes]:
    """POST over a plain socket, reading the answer while still sending (httpx would leave
    its body iterator unfinished when the server refuses half-way: a ResourceWarning)."""
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(content)}"
    head = f"POST /t/echo HTTP/1.1\r\nHost: test\r\n{framing}\r\n\r\n".encode()
    pieces = [content[start : start + PIECE] for start in range(0, len(content), PIECE)]
    if chunked:
        pieces = [b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces] + [b"0\r\n\r\n"]
    received = bytearray()
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:

        async def receive() -> None:
            try:
                while chunk := await stream.receive_some(PIECE):
                    received.extend(chunk)
            except trio.BrokenResourceError:
                pass

        async with trio.open_nursery() as nursery:
            nursery.start_soon(receive)
            try:
                await stream.send_all(head)
                for piece in pieces:
                    await stream.send_all(piece)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass
    status_line, _, rest = bytes(received).partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


async def test_a_request_turned_away_unread_goes_to_the_next_leader_body_and_all() -> None:
    """The replica first named turns the relayed request away (it does not lead: a hand-off
    under way); the follower asks again and sends the whole body to the next one."""
    body = bytes(range(256)) * 300
    with trio.fail_after(DEADLINE):
        async with (
            forwarding_pair() as pair,
            serve_follower(FakeRoute(None), identity="stale-leader") as stale,
        ):
            pair.route._answers = [stale.base_url, pair.leader.base_url]
            pair.route.asked = 0
            async with httpx.AsyncClient(base_url=pair.url) as client:
                response = await client.post("/t/echo", content=body)
            assert response.status_code == 200
            assert response.json()["body_length"] == len(body)
            assert pair.route.asked == 2
            assert pair.controls.echoes == 1


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_body_over_the_limit_is_refused_by_the_follower(chunked: bool) -> None:
    with trio.fail_after(DEADLINE):
        async with forwarding_pair() as pair:
            status, body = await raw_post(
                pair.follower.port, b"x" * (MAX_BODY_BYTES + 1), chunked=chunked
            )
            assert status == 413
            assert json.loads(body)["detail"][0]["type"] == "request_too_large"
            assert pair.controls.echoes == 0


async def test_a_leader_that_does_not_answer_in_time_is_504() -> None:
    with trio.fail_after(DEADLINE):
        async with (
            forwarding_pair(ForwardingTuning(response_timeout=0.5)) as pair,
            httpx.AsyncClient(base_url=pair.url) as client,
        ):
            response = await client.get("/t/held")
            assert response.status_code == 504
            assert response.json()["detail"][0]["type"] == "leader_timeout"
            # The relay gave up on the request: the leader's handler was cancelled.
            await pair.controls.held_cancelled.wait()


async def test_a_client_that_leaves_cancels_the_upstream_request() -> None:
    with trio.fail_after(DEADLINE):
        async with forwarding_pair() as pair:
            async with httpx.AsyncClient(base_url=pair.url) as client:
                with trio.move_on_after(0.5):
                    await client.get("/t/held")
            await pair.controls.held_cancelled.wait()


async def test_the_relay_keeps_no_cookies() -> None:
    with trio.fail_after(DEADLINE):
        async with forwarding_pair() as pair, upstream_client(ForwardingTuning()) as relay:
            response = await relay.get(f"{pair.leader.base_url}/t/echo")
            assert response.headers["set-cookie"].startswith("session=abc")
            assert len(relay.cookies.jar) == 0


class _RawLeader:
    """A TCP server that misbehaves as the test says: no answer, or a cut-off body."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.connections = 0

    async def handle(self, stream: trio.SocketStream) -> None:
        self.connections += 1
        async with stream:
            await stream.receive_some(65536)
            if self.reply:
                await stream.send_all(self.reply)


@asynccontextmanager
async def raw_leader(reply: bytes) -> AsyncIterator[tuple[_RawLeader, str]]:
    raw = _RawLeader(reply)
    async with trio.open_nursery() as nursery:
        serve = partial(trio.serve_tcp, raw.handle, 0, host="127.0.0.1")
        [listener] = await nursery.start(serve)
        yield raw, f"http://127.0.0.1:{listener.socket.getsockname()[1]}"
        nursery.cancel_scope.cancel()


CUT_OFF = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    b"transfer-encoding: chunked\r\n\r\n5\r\n[1, 2\r\n"
)


async def test_a_request_with_a_body_the_leader_closes_on_unanswered_is_sent_again() -> None:
    """Not a byte of answer: a replica stopping gracefully answers every request it read,
    so the request is sent again (with its body), here until the retry window closes."""
    with trio.fail_after(DEADLINE):
        async with (
            raw_leader(b"") as (raw, url),
            serve_follower(FakeRoute(url)) as follower,
            httpx.AsyncClient(base_url=follower.base_url) as client,
        ):
            response = await client.post("/anything", content=b"{}")
            assert response.status_code == 503
            assert response.json()["detail"][0]["type"] == "leader_unreachable"
            assert raw.connections > 1


async def test_a_request_with_a_body_cut_mid_answer_is_never_sent_twice() -> None:
    with trio.fail_after(DEADLINE):
        async with (
            raw_leader(CUT_OFF) as (raw, url),
            serve_follower(FakeRoute(url)) as follower,
            httpx.AsyncClient(base_url=follower.base_url) as client,
        ):
            with pytest.raises(httpx.RemoteProtocolError):
                await client.post("/anything", content=b"{}")
            assert raw.connections == 1, "a request with part of an answer is never sent twice"


async def test_a_get_the_leader_drops_unanswered_is_asked_again() -> None:
    """Read-only requests are safe to repeat: on the leader named next (a hand-off), or on
    the same one until the retry window closes."""
    with trio.fail_after(DEADLINE):
        async with raw_leader(b"") as (raw, url), forwarding_pair() as pair:
            pair.route._answers = [url, pair.leader.base_url]
            pair.route.asked = 0
            async with httpx.AsyncClient(base_url=pair.url) as client:
                response = await client.get("/t/echo")
            assert response.status_code == 200
            assert raw.connections == 1
            async with (
                serve_follower(FakeRoute(url)) as follower,
                httpx.AsyncClient(base_url=follower.base_url) as client,
            ):
                response = await client.get("/anything")
            assert response.status_code == 503
            assert response.json()["detail"][0]["type"] == "leader_unreachable"
            assert raw.connections > 2


async def test_a_body_cut_off_by_the_leader_is_never_completed() -> None:
    with trio.fail_after(DEADLINE):
        async with (
            raw_leader(CUT_OFF) as (_, url),
            serve_follower(FakeRoute(url)) as follower,
            httpx.AsyncClient(base_url=follower.base_url) as client,
        ):
            # The truncated body must not look complete to the client.
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get("/anything")


def test_for_config_outlasts_the_slowest_route() -> None:
    from tests.web.forwarding_site import config

    tuning = ForwardingTuning.for_config(config())
    assert tuning.response_timeout > config().fsadmin.timeout.total_seconds()
    assert json.dumps(tuning.response_timeout)


async def test_all_upstream_connections_in_use_is_503_busy() -> None:
    """One connection allowed: an open event stream holds it, the next request waits for
    the pool timeout and is refused."""
    tuning = ForwardingTuning(max_connections=1, pool_timeout=0.3)
    with trio.fail_after(DEADLINE):
        async with (
            forwarding_pair(tuning) as pair,
            httpx.AsyncClient(base_url=pair.url) as client,
            client.stream("GET", "/t/events") as stream,
        ):
            assert stream.status_code == 200
            response = await client.get("/t/echo")
            assert response.status_code == 503
            assert response.headers["retry-after"] == "1"
            assert response.json()["detail"][0]["type"] == "forwarding_busy"
            await pair.controls.end_stream()
            await stream.aread()


def test_request_headers_drop_every_hop_by_hop_kind() -> None:
    from web.forwarding.headers import request_headers

    sent = [
        (b"Host", b"hub.example.org"),
        (b"Connection", b"close, X-One"),
        (b"connection", b"X-Two"),
        (b"X-One", b"1"),
        (b"X-Two", b"2"),
        (b"Proxy-Connection", b"keep-alive"),
        (b"Expect", b"100-continue"),
        (b"Upgrade", b"h2c"),
        (b"Trailer", b"X-Sum"),
        (b"Nublado-Forwarded-By", b"forged"),
        (b"X-Forwarded-For", b"198.51.100.1"),
        (b"X-Forwarded-For", b"198.51.100.2"),
        (b"Accept", b"application/json"),
    ]
    kept = request_headers(
        sent, client_host="10.0.0.7", scheme="https", request_id="r-1", identity="pod-b"
    )
    assert kept == [
        (b"host", b"hub.example.org"),
        (b"accept", b"application/json"),
        (b"x-forwarded-for", b"198.51.100.1, 198.51.100.2, 10.0.0.7"),
        (b"x-forwarded-proto", b"https"),
        (b"x-request-id", b"r-1"),
        (b"nublado-forwarded-by", b"pod-b"),
    ]
