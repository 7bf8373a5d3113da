"""``actors --watch``: the actor tree, redrawn whenever the controller pushes a new one.

It reads ``{prefix}/admin/actors/ws`` (at most four trees a second) with trio-websocket and
redraws in place with ``rich.live``. The stream ends when the controller closes it (1001 on
shutdown) or on Ctrl-C; neither is an error.
"""

from __future__ import annotations

import json
import ssl
from urllib.parse import urlsplit, urlunsplit

import trio
from trio_websocket import ConnectionClosed, HandshakeError, open_websocket_url

from web.client.connection import ClientError, Connection

__all__ = ["watch_actors"]

MAX_MESSAGE = 64 * 1024 * 1024
"""A tree of 3,000 labs is about 1.5 MB; leave room."""

CONNECT_TIMEOUT = 30.0


def _websocket_url(connection: Connection) -> str:
    parts = urlsplit(connection.url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path + "/admin/actors/ws", "", ""))


async def _watch(connection: Connection) -> None:
    from rich.live import Live

    from web.client.render import actor_tree

    url = _websocket_url(connection)
    headers = [(b"authorization", f"Bearer {connection.token}".encode())]
    context = ssl.create_default_context() if url.startswith("wss:") else None
    try:
        async with open_websocket_url(
            url,
            context,
            extra_headers=headers,
            max_message_size=MAX_MESSAGE,
            connect_timeout=CONNECT_TIMEOUT,
            disconnect_timeout=5.0,
        ) as socket:
            with Live(auto_refresh=False) as live:
                try:
                    while True:
                        tree = json.loads(await socket.get_message())
                        live.update(actor_tree(tree), refresh=True)
                except ConnectionClosed:
                    pass
                finally:
                    # trio-websocket leaves the TCP stream open when the server closes first.
                    await socket._stream.aclose()
    except HandshakeError as error:
        status = getattr(error, "status_code", None)
        raise ClientError(f"the controller refused the WebSocket (HTTP {status})") from None
    except OSError as error:
        raise ClientError(f"cannot reach the controller at {connection.url}: {error}") from None


def watch_actors(connection: Connection) -> int:
    """Follow the tree until the controller closes the stream or the user presses Ctrl-C."""
    try:
        trio.run(_watch, connection)
    except KeyboardInterrupt:
        return 130
    return 0
