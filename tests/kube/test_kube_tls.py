"""The client over TLS: certificate verification, SNI, and the bearer token on the wire."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trustme

from actors.kube import KubeClient, KubernetesError
from actors.kube.credentials import BearerTokenAuth, ClusterCredentials

from .rawserver import RawServer, serve_raw

_NAMESPACE = b'{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tls"}}'


@asynccontextmanager
async def tls_api_server(ca: trustme.CA) -> AsyncIterator[RawServer]:
    """A server that answers every request with the ``tls`` namespace, over TLS only."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)

    async def answer(server: RawServer, tcp: trio.SocketStream) -> None:
        stream = trio.SSLStream(tcp, context, server_side=True)
        try:
            await stream.do_handshake()
        except trio.BrokenResourceError:
            return  # the client refused our certificate
        while await server.read_request(stream):
            head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            await stream.send_all(head + b"content-length: %d\r\n\r\n" % len(_NAMESPACE))
            await stream.send_all(_NAMESPACE)

    async with serve_raw(answer) as server:
        yield server


def _client(server: RawServer, verify: ssl.SSLContext, token: str = "sa-token") -> KubeClient:
    auth = BearerTokenAuth(lambda: f"bearer {token}")
    url = f"https://127.0.0.1:{server.origin.port}"
    return KubeClient.from_credentials(ClusterCredentials(url, verify, auth))


async def test_requests_over_tls_verify_the_server_and_carry_the_token() -> None:
    ca = trustme.CA()
    verify = ssl.create_default_context()
    ca.configure_trust(verify)
    async with tls_api_server(ca) as server, _client(server, verify) as kube:
        with trio.fail_after(10):
            first = await kube.namespaces.read("tls")
            second = await kube.namespaces.read("tls")
    assert first is not None
    assert second is not None
    assert first.metadata is not None
    assert first.metadata.name == "tls"
    assert server.connections == 1  # kept alive and reused
    assert all(b"\r\nauthorization: Bearer sa-token\r\n" in r for r in server.requests)


async def test_a_server_certificate_from_an_unknown_ca_is_refused() -> None:
    trusted, untrusted = trustme.CA(), trustme.CA()
    verify = ssl.create_default_context()
    trusted.configure_trust(verify)
    async with tls_api_server(untrusted) as server, _client(server, verify) as kube:
        with trio.fail_after(10), pytest.raises(KubernetesError) as raised:
            await kube.namespaces.read("tls")
    assert raised.value.status is None
    assert "certificate" in str(raised.value).lower()
    assert server.requests == []
