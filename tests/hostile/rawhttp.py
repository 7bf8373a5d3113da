"""Raw-socket helpers: what a hostile or broken client sends, byte for byte.

httpx and trio-websocket refuse to send malformed HTTP, so these tests talk TCP directly.
Every helper has a deadline; a read that sees the server close returns what it got.
"""

from __future__ import annotations

import base64
import os
import socket

import httpx
import trio

READ_DEADLINE = 10.0


def websocket_upgrade(path: str, host: str = "test") -> bytes:
    """A well-formed WebSocket upgrade request for ``path``."""
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def get(path: str, *headers: str) -> bytes:
    """A plain keep-alive ``GET`` with extra ``Name: value`` header lines."""
    extra = "".join(f"{line}\r\n" for line in headers)
    return f"GET {path} HTTP/1.1\r\nHost: test\r\n{extra}\r\n".encode()


async def open_stream(port: int, *, receive_buffer: int | None = None) -> trio.SocketStream:
    """A TCP connection to the server; ``receive_buffer`` shrinks the kernel's buffer."""
    sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_STREAM)
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    await sock.connect(("127.0.0.1", port))
    return trio.SocketStream(sock)


async def exchange(port: int, data: bytes) -> bytes:
    """Send ``data`` in one write and read until the server closes (or the deadline)."""
    stream = await open_stream(port)
    async with stream:
        await stream.send_all(data)
        return await read_until_closed(stream)


async def read_until_closed(stream: trio.SocketStream) -> bytes:
    """Everything the server sends until it closes the connection (bounded by a deadline)."""
    received = bytearray()
    with trio.move_on_after(READ_DEADLINE):
        try:
            while chunk := await stream.receive_some(65536):
                received += chunk
        except trio.BrokenResourceError:
            pass  # reset by the server: what came before is the answer
    return bytes(received)


def status_line(response: bytes) -> bytes:
    """The first line of a raw response."""
    return response.split(b"\r\n", 1)[0]


async def still_serving(base_url: str) -> bool:
    """True when a fresh client gets the health route's 200."""
    async with httpx.AsyncClient(base_url=base_url, timeout=5.0) as client:
        response = await client.get("/")
    return response.status_code == 200
