"""WebSockets relayed by a follower: handshake, messages both ways, close codes, refusals.

The leader here is a trio-websocket server the test steers (it can choose subprotocols,
close with any code and see the client's close code), except for the refusal test, which
uses the real app's authenticated route.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial

import pytest
import trio
from trio_websocket import (
    ConnectionClosed,
    ConnectionRejected,
    WebSocketConnection,
    WebSocketRequest,
    serve_websocket,
    wrap_client_stream,
)

from tests.web.forwarding_site import FakeRoute, forwarding_pair, serve_follower
from web.forwarding import SERVE_HERE, ForwardingTuning
from web.server import RunningServer, ServerTuning

DEADLINE = 20


@dataclass
class EchoLeader:
    """What the leader's WebSocket handler saw."""

    port: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    target: str = ""
    offered: list[str] = field(default_factory=list)
    client_close: int | None = None
    closed: trio.Event = field(default_factory=trio.Event)

    async def handle(self, request: WebSocketRequest) -> None:
        self.headers = {k.decode().lower(): v.decode() for k, v in request.headers}
        self.headers["host"] = request._event.host  # wsproto keeps Host apart
        self.target = request.path
        self.offered = list(request.proposed_subprotocols)
        chosen = "v2.nublado" if "v2.nublado" in self.offered else None
        socket = await request.accept(subprotocol=chosen)
        try:
            while True:
                message = await socket.get_message()
                if message == "close please":
                    await socket.aclose(4001, "bye")
                    return
                if message == "drop please":
                    # A leader that dies: the TCP connection ends without a close frame.
                    await trio.aclose_forcefully(socket._stream)
                    return
                if message == "big please":
                    await socket.send_message("x" * 5000)
                    continue
                await socket.send_message(message)
        except ConnectionClosed as closed:
            self.client_close = closed.reason.code if closed.reason else None
        finally:
            self.closed.set()


@asynccontextmanager
async def echo_leader() -> AsyncIterator[EchoLeader]:
    leader = EchoLeader()
    async with trio.open_nursery() as nursery:
        server = await nursery.start(
            partial(serve_websocket, leader.handle, "127.0.0.1", 0, ssl_context=None)
        )
        leader.port = server.port
        yield leader
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def follower_of(
    leader: EchoLeader, tuning: ServerTuning | None = None, **forwarding: float
) -> AsyncIterator[RunningServer]:
    route = FakeRoute(f"http://127.0.0.1:{leader.port}")
    async with serve_follower(route, ForwardingTuning(**forwarding), tuning) as follower:  # type: ignore[arg-type]
        yield follower


@asynccontextmanager
async def client(
    port: int,
    resource: str,
    *,
    subprotocols: list[str] | None = None,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> AsyncIterator[WebSocketConnection]:
    """A WebSocket to the follower whose TCP socket is closed however it ends (trio-websocket
    0.12 leaves it open when the server closes first or refuses the upgrade); a refusal
    comes out as a plain ``ConnectionRejected``."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    try:
        async with trio.open_nursery() as nursery:
            connection = await wrap_client_stream(
                nursery,
                stream,
                f"127.0.0.1:{port}",
                resource,
                subprotocols=subprotocols,
                extra_headers=extra_headers,
            )
            try:
                yield connection
            finally:
                with trio.move_on_after(5):
                    await connection.aclose()
    except BaseExceptionGroup as group:
        rejected, rest = group.split(ConnectionRejected)
        if rejected is None or rest is not None:
            raise
        leaf: BaseException = rejected
        while isinstance(leaf, BaseExceptionGroup):
            leaf = leaf.exceptions[0]
        raise leaf from None
    finally:
        await stream.aclose()


async def test_messages_flow_both_ways_with_the_leaders_subprotocol_and_close_code() -> None:
    with trio.fail_after(DEADLINE):
        async with echo_leader() as leader, follower_of(leader) as follower:
            async with client(
                follower.port,
                "/nublado/some/socket?since=5&x=%2F",
                subprotocols=["v1.nublado", "v2.nublado"],
                extra_headers=[(b"authorization", b"Bearer tok"), (b"cookie", b"s=1")],
            ) as socket:
                assert socket.subprotocol == "v2.nublado"
                await socket.send_message("hello")
                assert await socket.get_message() == "hello"
                await socket.send_message(b"\x00\x01binary")
                assert await socket.get_message() == b"\x00\x01binary"
                await socket.send_message("close please")
                with pytest.raises(ConnectionClosed) as closed:
                    await socket.get_message()
            assert closed.value.reason.code == 4001
            assert closed.value.reason.reason == "bye"
            assert leader.target == "/nublado/some/socket?since=5&x=%2F"
            assert leader.offered == ["v1.nublado", "v2.nublado"]
            assert leader.headers["authorization"] == "Bearer tok"
            assert leader.headers["cookie"] == "s=1"
            assert leader.headers["host"] == f"127.0.0.1:{follower.port}"
            assert leader.headers["nublado-forwarded-by"] == "follower-1"
            assert leader.headers["x-forwarded-for"] == "127.0.0.1"


async def test_a_client_that_closes_closes_the_leaders_socket_normally() -> None:
    """Hypercorn reports every client close to the app as 1006 (the client's own code is
    lost there); the leader gets a normal closure, not an abnormal one."""
    with trio.fail_after(DEADLINE):
        async with echo_leader() as leader, follower_of(leader) as follower:
            async with client(follower.port, "/ws") as socket:
                await socket.send_message("ping")
                await socket.get_message()
                await socket.aclose(4002, "leaving")
            await leader.closed.wait()
            assert leader.client_close == 1000


async def test_a_lost_leader_connection_closes_the_client_with_1012() -> None:
    with trio.fail_after(DEADLINE):
        async with (
            echo_leader() as leader,
            follower_of(leader) as follower,
            client(follower.port, "/ws") as socket,
        ):
            await socket.send_message("drop please")
            with pytest.raises(ConnectionClosed) as closed:
                await socket.get_message()
            assert closed.value.reason.code == 1012
            assert closed.value.reason.reason == "lost the connection to the leader"


async def test_a_message_over_the_relay_limit_closes_with_1009() -> None:
    with trio.fail_after(DEADLINE):
        async with (
            echo_leader() as leader,
            follower_of(leader, max_websocket_message=1000) as follower,
            client(follower.port, "/ws") as socket,
        ):
            await socket.send_message("big please")
            with pytest.raises(ConnectionClosed) as closed:
                await socket.get_message()
            assert closed.value.reason.code == 1009


async def test_the_followers_shutdown_closes_relayed_sockets_with_1001() -> None:
    tuning = ServerTuning(graceful_timeout=30, stream_close_timeout=30)
    with trio.fail_after(DEADLINE):
        async with echo_leader() as leader:
            async with (
                follower_of(leader, tuning) as follower,
                client(follower.port, "/ws") as socket,
            ):
                await socket.send_message("ping")
                await socket.get_message()
                follower.request_shutdown()
                with pytest.raises(ConnectionClosed) as closed:
                    await socket.get_message()
                assert closed.value.reason.code == 1001
            await leader.closed.wait()
            assert leader.client_close == 1001


async def test_a_leader_that_refuses_the_handshake_has_its_refusal_passed_on() -> None:
    """The leader's app refuses the upgrade with its JSON error; the client gets exactly it."""
    with trio.fail_after(DEADLINE):
        async with forwarding_pair() as pair:
            with pytest.raises(ConnectionRejected) as rejected:
                async with client(pair.follower.port, "/t/ws-refused"):
                    pass
            assert rejected.value.status_code == 403
            body = json.loads(rejected.value.body or b"{}")
            assert body == {
                "detail": [{"msg": "Permission denied: not for you", "type": "permission_denied"}]
            }


async def test_an_upgrade_turned_away_unread_goes_to_the_next_leader() -> None:
    with trio.fail_after(DEADLINE):
        async with (
            echo_leader() as leader,
            serve_follower(FakeRoute(None), identity="stale-leader") as stale,
        ):
            route = FakeRoute([stale.base_url, f"http://127.0.0.1:{leader.port}"])
            async with serve_follower(route) as follower, client(follower.port, "/ws") as socket:
                await socket.send_message("hello")
                assert await socket.get_message() == "hello"
            assert route.asked == 2


async def test_a_websocket_waiting_for_a_leader_is_served_here_if_elected() -> None:
    with trio.fail_after(DEADLINE):
        async with (
            serve_follower(FakeRoute(SERVE_HERE)) as replica,
            client(replica.port, "/t/where") as socket,
        ):
            assert await socket.get_message() == "follower"


@pytest.mark.parametrize("case", ["no leader", "loop"])
async def test_websocket_refusals_by_the_follower(case: str) -> None:
    with trio.fail_after(DEADLINE):
        if case == "no leader":
            follower_context = serve_follower(FakeRoute(None))
            headers: list[tuple[bytes, bytes]] = []
            expected = "no_leader"
        else:
            follower_context = forwarding_pair_follower()
            headers = [(b"nublado-forwarded-by", b"follower-2")]
            expected = "not_leader"
        async with follower_context as follower:
            with pytest.raises(ConnectionRejected) as rejected:
                async with client(follower.port, "/ws", extra_headers=headers):
                    pass
            assert rejected.value.status_code == 503
            assert json.loads(rejected.value.body or b"{}")["detail"][0]["type"] == expected


@asynccontextmanager
async def forwarding_pair_follower() -> AsyncIterator[RunningServer]:
    async with forwarding_pair() as pair:
        yield pair.follower


async def test_a_handshake_the_leader_drops_is_tried_again_on_the_next_leader() -> None:
    """A stopping leader may close a connection it had just accepted; the upgrade had no
    effect yet, so the follower asks again who leads and opens the socket there."""
    drops = 0

    async def hang_up(stream: trio.SocketStream) -> None:
        nonlocal drops
        drops += 1
        async with stream:
            await stream.receive_some(65536)

    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery, echo_leader() as leader:
            [listener] = await nursery.start(partial(trio.serve_tcp, hang_up, 0, host="127.0.0.1"))
            dropping = f"http://127.0.0.1:{listener.socket.getsockname()[1]}"
            route = FakeRoute([dropping, f"http://127.0.0.1:{leader.port}"])
            async with serve_follower(route) as follower, client(follower.port, "/ws") as socket:
                await socket.send_message("hello")
                assert await socket.get_message() == "hello"
            assert drops == 1
            async with serve_follower(FakeRoute(dropping)) as follower:
                with pytest.raises(ConnectionRejected) as rejected:
                    async with client(follower.port, "/ws"):
                        pass
            assert rejected.value.status_code == 503
            body = json.loads(rejected.value.body or b"{}")
            assert body["detail"][0]["type"] == "leader_unreachable"
            nursery.cancel_scope.cancel()
