"""Which headers cross the relay, in each direction.

Hop-by-hop headers describe one connection (RFC 9110 §7.6.1) and never cross a proxy: the
fixed list, anything ``Proxy-*``, and every header the ``Connection`` header names. ``Host``
does cross: the leader's ``Location`` URLs and origin checks must see the host the client
used. ``Date`` and ``Server`` from the leader are dropped because the follower's server adds
its own (a response must not carry two ``Date`` fields).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from web.forwarding.route import FORWARDED_BY_HEADER

__all__ = [
    "Headers",
    "end_to_end",
    "header",
    "request_headers",
    "response_headers",
    "websocket_request_headers",
]

Headers = list[tuple[bytes, bytes]]

_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)

_REPLACED_ON_REQUESTS = frozenset(
    {
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-request-id",
        FORWARDED_BY_HEADER.encode(),
        # httpx cannot wait for "100 Continue"; the follower reads the body anyway.
        b"expect",
    }
)

_DROPPED_FROM_RESPONSES = frozenset({b"date", b"server"})

_WEBSOCKET_HANDSHAKE = frozenset(
    {
        b"host",
        b"sec-websocket-key",
        b"sec-websocket-version",
        b"sec-websocket-extensions",
        b"sec-websocket-protocol",
        b"sec-websocket-accept",
    }
)
"""Headers the follower's own WebSocket client writes for the upstream handshake."""


def header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The first value of ``name`` (lower-case) in ``headers``."""
    for key, value in headers:
        if key.lower() == name:
            return bytes(value)
    return None


def _connection_tokens(headers: Sequence[tuple[bytes, bytes]]) -> set[bytes]:
    tokens: set[bytes] = set()
    for key, value in headers:
        if key.lower() == b"connection":
            tokens.update(part.strip().lower() for part in bytes(value).split(b","))
    return tokens


def end_to_end(headers: Sequence[tuple[bytes, bytes]]) -> Headers:
    """``headers`` without the hop-by-hop ones, names lower-cased."""
    listed = _connection_tokens(headers)
    kept: Headers = []
    for key, value in headers:
        name = bytes(key).lower()
        if name in _HOP_BY_HOP or name in listed or name.startswith(b"proxy-"):
            continue
        kept.append((name, bytes(value)))
    return kept


def _additions(
    headers: Sequence[tuple[bytes, bytes]],
    *,
    client_host: str | None,
    scheme: str,
    request_id: str | None,
    identity: str,
) -> Headers:
    added: Headers = []
    chain = [bytes(value) for key, value in headers if key.lower() == b"x-forwarded-for"]
    if client_host:
        chain.append(client_host.encode("latin-1"))
    if chain:
        added.append((b"x-forwarded-for", b", ".join(chain)))
    # The scheme the follower settled on (from its trusted proxies, see web.proxy_headers);
    # the leader believes it only if the follower is among *its* trusted proxies.
    added.append((b"x-forwarded-proto", b"https" if scheme in ("https", "wss") else b"http"))
    if request_id is not None:
        added.append((b"x-request-id", request_id.encode("latin-1")))
    added.append((FORWARDED_BY_HEADER.encode(), identity.encode("latin-1")))
    return added


def request_headers(
    headers: Sequence[tuple[bytes, bytes]],
    *,
    client_host: str | None,
    scheme: str,
    request_id: str | None,
    identity: str,
) -> Headers:
    """The headers of the request the follower sends to the leader for an HTTP request."""
    kept = [(k, v) for k, v in end_to_end(headers) if k not in _REPLACED_ON_REQUESTS]
    return kept + _additions(
        headers, client_host=client_host, scheme=scheme, request_id=request_id, identity=identity
    )


def websocket_request_headers(
    headers: Sequence[tuple[bytes, bytes]],
    *,
    client_host: str | None,
    scheme: str,
    request_id: str | None,
    identity: str,
) -> Headers:
    """Extra headers of the upstream WebSocket handshake (``Host`` is passed on its own)."""
    kept = [
        (k, v)
        for k, v in end_to_end(headers)
        if k not in _REPLACED_ON_REQUESTS and k not in _WEBSOCKET_HANDSHAKE
    ]
    return kept + _additions(
        headers, client_host=client_host, scheme=scheme, request_id=request_id, identity=identity
    )


def response_headers(headers: Sequence[tuple[bytes, bytes]]) -> Headers:
    """The leader's response headers as the follower passes them on."""
    return [(k, v) for k, v in end_to_end(headers) if k not in _DROPPED_FROM_RESPONSES]
