"""``actors --watch``: the actor tree, redrawn whenever the controller pushes a new one.

It reads ``{prefix}/admin/actors/ws`` (at most four trees a second) with trio-websocket and
redraws in place with ``rich.live``. The stream ends when the controller closes it (1001 on
shutdown) or on Ctrl-C; neither is an error. The TCP (or TLS) stream is opened and closed
here: trio-websocket 0.12 leaves it open when the server closes first or refuses the upgrade.
"""

from __future__ import annotations

import json
import ssl
from urllib.parse import urlsplit

import trio
from trio_websocket import ConnectionClosed, ConnectionRejected, wrap_client_stream

from web.client.connection import ClientError, Connection

__all__ = ["watch_actors"]

MAX_MESSAGE = 64 * 1024 * 1024
"""A tree of 3,000 labs is about 1.5 MB; leave room."""

CONNECT_TIMEOUT = 30.0
CLOSE_TIMEOUT = 5.0


Stream = trio.SocketStream | trio.SSLStream[trio.SocketStream]


async def _open_stream(connection: Connection) -> tuple[Stream, str, str]:
    parts = urlsplit(connection.url)
    secure = parts.scheme == "https"
    host = parts.hostname or "localhost"
    port = parts.port or (443 if secure else 80)
    stream: Stream
    with trio.fail_after(CONNECT_TIMEOUT):
        if secure:
            context = ssl.create_default_context()
            stream = await trio.open_ssl_over_tcp_stream(host, port, ssl_context=context)
        else:
            stream = await trio.open_tcp_stream(host, port)
    return stream, parts.netloc, parts.path + "/admin/actors/ws"


async def _show(stream: Stream, host: str, resource: str, token: str) -> None:
    from rich.console import Console
    from rich.live import Live

    from web.client.render import actor_tree

    headers = [(b"authorization", f"Bearer {token}".encode())]
    async with trio.open_nursery() as nursery:
        socket = await wrap_client_stream(
            nursery, stream, host, resource, extra_headers=headers, max_message_size=MAX_MESSAGE
        )
        console = Console()
        try:
            if console.is_terminal:
                with Live(console=console, auto_refresh=False) as live:
                    while True:
                        tree = json.loads(await socket.get_message())
                        live.update(actor_tree(tree), refresh=True)
            else:
                # Into a pipe or file: one tree after another (a live display would only
                # show its last frame, when the watch ends).
                while True:
                    tree = json.loads(await socket.get_message())
                    console.rule()
                    console.print(actor_tree(tree))
                    console.file.flush()
        except ConnectionClosed:
            pass
        finally:
            with trio.move_on_after(CLOSE_TIMEOUT) as cleanup:
                cleanup.shield = True
                await socket.aclose()


async def _watch(connection: Connection) -> None:
    try:
        stream, host, resource = await _open_stream(connection)
    except (OSError, trio.TooSlowError) as error:
        raise ClientError(f"cannot reach the controller at {connection.url}: {error}") from None
    try:
        await _show(stream, host, resource, connection.token)
    except BaseExceptionGroup as group:
        rejected, rest = group.split(ConnectionRejected)
        if rejected is None or rest is not None:
            raise
        leaf: BaseException = rejected
        while isinstance(leaf, BaseExceptionGroup):
            leaf = leaf.exceptions[0]
        status = getattr(leaf, "status_code", None)
        raise ClientError(f"the controller refused the WebSocket (HTTP {status})") from None
    finally:
        await stream.aclose()


def watch_actors(connection: Connection) -> int:
    """Follow the tree until the controller closes the stream or the user presses Ctrl-C."""
    try:
        trio.run(_watch, connection)
    except KeyboardInterrupt:
        return 130
    except BaseExceptionGroup as group:
        # Ctrl-C while the WebSocket's nursery runs arrives wrapped in a group.
        if group.split(KeyboardInterrupt)[1] is None:
            return 130
        raise
    return 0
