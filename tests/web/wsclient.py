"""WebSocket client for the tests (trio-websocket), closing its socket in every case."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from trio_websocket import WebSocketConnection, open_websocket_url


@asynccontextmanager
async def connect(url: str) -> AsyncIterator[WebSocketConnection]:
    """Open a WebSocket to ``url`` for the block.

    trio-websocket 0.12.2 leaves the TCP socket open when the server closes first (a
    ``ResourceWarning``, an error under ``filterwarnings = error``), so the underlying stream
    is closed here once the connection is done, whoever closed it.
    """
    connection: WebSocketConnection | None = None
    try:
        async with open_websocket_url(url) as connection:
            yield connection
    finally:
        if connection is not None:
            await connection._stream.aclose()
