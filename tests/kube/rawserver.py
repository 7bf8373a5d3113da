"""A scripted HTTP server for connection-level tests: each test writes its raw answers.

kubesim always behaves; these tests need a server that hangs up, stays silent or sends
malformed bytes at a chosen moment, so the handler gets the bare stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress

import trio

from actors.kube.http11 import Origin

Handler = Callable[["RawServer", trio.SocketStream], Awaitable[None]]


class RawServer:
    def __init__(self, port: int) -> None:
        self.origin = Origin("http", "127.0.0.1", port, "")
        self.connections = 0
        self.requests: list[bytes] = []
        self._buffers: dict[int, bytes] = {}
        self._client_closed = trio.Event()

    async def read_request(self, stream: trio.abc.Stream) -> bool:
        """Read one whole request (head and ``content-length`` body); ``False`` at EOF."""
        key = id(stream)
        buffer = self._buffers.get(key, b"")
        while b"\r\n\r\n" not in buffer:
            chunk = await stream.receive_some()
            if not chunk:
                self._client_closed.set()
                return False
            buffer += chunk
        head, _, rest = buffer.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            chunk = await stream.receive_some()
            if not chunk:
                self._client_closed.set()
                return False
            rest += chunk
        self.requests.append(head + b"\r\n\r\n" + rest[:length])
        self._buffers[key] = rest[length:]
        return True

    async def wait_closed_by_client(self) -> None:
        await self._client_closed.wait()


@asynccontextmanager
async def serve_raw(handler: Handler) -> AsyncIterator[RawServer]:
    """Serve on 127.0.0.1 (a free port); each connection runs ``handler`` then is closed."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    server = RawServer(listeners[0].socket.getsockname()[1])

    async def connection(stream: trio.SocketStream) -> None:
        server.connections += 1
        async with stream:
            with suppress(trio.BrokenResourceError):
                await handler(server, stream)

    async with trio.open_nursery() as nursery:
        await nursery.start(trio.serve_listeners, connection, listeners)
        yield server
        nursery.cancel_scope.cancel()
