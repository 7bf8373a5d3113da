"""Benchmark: simple GET requests per second against an in-process kubesim.

Usage: ``python bench/kubesim.py [--short] [--seconds N] [--clients N]``

Keep-alive HTTP/1.1 clients (raw sockets, so the client costs little CPU) fetch one pod
repeatedly for a fixed time; the script prints requests/s. Client and server share one Trio
thread, so the figure is a lower bound of what the server does on one core. ``--short``
runs for two seconds (CI).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# Run as a script, this file's directory comes first on sys.path and its name would shadow
# the ``kubesim`` package; drop that entry before importing it.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import trio  # noqa: E402

from kubesim.site import Site, run_site  # noqa: E402

REQUEST = (
    b"GET /api/v1/namespaces/bench/pods/lab HTTP/1.1\r\n"
    b"Host: kubesim\r\nAccept: application/json\r\n\r\n"
)


async def _read_response(stream: trio.SocketStream, buffer: bytearray) -> None:
    """Read one Content-Length response off ``stream`` (leftover bytes stay in ``buffer``)."""
    while True:
        end = buffer.find(b"\r\n\r\n")
        if end >= 0:
            head = bytes(buffer[:end]).lower()
            start = head.index(b"content-length:") + len(b"content-length:")
            line_end = head.find(b"\r\n", start)
            length = int(head[start : line_end if line_end >= 0 else len(head)].strip())
            total = end + 4 + length
            if len(buffer) >= total:
                if not head.startswith(b"http/1.1 200"):
                    raise RuntimeError(bytes(buffer[:total]).decode(errors="replace"))
                del buffer[:total]
                return
        chunk = await stream.receive_some(65536)
        if not chunk:
            raise RuntimeError("server closed the connection")
        buffer += chunk


async def _client(site: Site, deadline: float, counts: list[int]) -> None:
    assert site.port is not None
    stream = await trio.open_tcp_stream("127.0.0.1", site.port)
    buffer = bytearray()
    async with stream:
        while trio.current_time() < deadline:
            await stream.send_all(REQUEST)
            await _read_response(stream, buffer)
            counts[0] += 1


async def run(seconds: float, clients: int) -> float:
    async with run_site() as site:
        store = site.store
        store.create(store.resource("namespaces"), None, {"metadata": {"name": "bench"}})
        # The simulated service-account controller runs on the site's timers, like the real
        # one; pods are refused until the namespace has its ``default`` account.
        with trio.fail_after(5):
            while not store.list(store.resource("serviceaccounts"), "bench")[0]:
                await trio.sleep(0.01)
        store.create(
            store.resource("pods"),
            "bench",
            {
                "metadata": {"name": "lab", "labels": {"app": "lab"}},
                "spec": {"containers": [{"name": "main", "image": "lab:1"}]},
            },
        )
        counts = [0]
        start = trio.current_time()
        deadline = start + seconds
        async with trio.open_nursery() as nursery:
            for _ in range(clients):
                nursery.start_soon(_client, site, deadline, counts)
        return counts[0] / (trio.current_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="run for 2 seconds (CI)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    seconds = 2.0 if args.short else args.seconds
    rate = trio.run(run, seconds, args.clients)
    print(
        f"kubesim simple GET: {rate:,.0f} requests/s ({args.clients} keep-alive clients,"
        f" {seconds:g} s, client and server on one core)"
    )


if __name__ == "__main__":
    main()
