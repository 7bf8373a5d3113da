"""HTTP transport to the API server: retries, deadlines and error mapping.

The ``httpx.AsyncClient`` instances share one base URL, TLS context and auth:

* ``client`` for ordinary request/response calls (``KUBERNETES_REQUEST_TIMEOUT``), on a
  :class:`~actors.kube.pool.StackPool` whose cost per request stays flat under load;
* ``watch_client`` for long-lived watch streams: HTTP/1.1, one connection per stream and no
  pool at all (see :class:`ConnectionPerRequest`), and no read timeout (the watch keeps its
  own idle timer, because a quiet watch is normal).

Transient failures (no response, 429, 500/502/503/504) are retried with capped exponential
backoff as long as the next attempt can start before the caller's deadline; everything else
is raised at once as :class:`KubernetesError`.
"""

from __future__ import annotations

import math
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import httpx
import structlog
import trio

from .backoff import Backoff, parse_retry_after
from .deadline import KUBERNETES_REQUEST_TIMEOUT, remaining, request_timeout
from .errors import KubernetesError, ObjectRef
from .pool import StackPool

__all__ = ["ApiTransport", "ConnectionPerRequest"]

log = structlog.get_logger(__name__)

WATCH_CONNECT_TIMEOUT = 10.0
"""Bound on connecting and on receiving the response head of a watch (not on the stream)."""


class ApiTransport:
    """Send API requests with retries; open watch streams.

    ``max_attempts`` bounds retries for callers without a deadline; with a deadline, a retry is
    also skipped when its backoff delay would end past it (the last error is raised instead of
    a bare timeout, which tells the caller more).
    """

    def __init__(
        self,
        base_url: str,
        *,
        verify: ssl.SSLContext | bool = True,
        auth: httpx.Auth | None = None,
        request_timeout: float = KUBERNETES_REQUEST_TIMEOUT,
        max_attempts: int = 5,
        backoff: Callable[[], Backoff] = Backoff,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.request_timeout = request_timeout
        self.max_attempts = max_attempts
        self.new_backoff = backoff
        ssl_context = _ssl_context(verify)
        self.client = httpx.AsyncClient(
            base_url=self.base_url,
            auth=auth,
            transport=StackPool(ssl_context),
            timeout=request_timeout,
            headers={"Accept": "application/json"},
        )
        self.watch_client = httpx.AsyncClient(
            base_url=self.base_url,
            auth=auth,
            transport=ConnectionPerRequest(ssl_context if ssl_context is not None else verify),
            timeout=httpx.Timeout(WATCH_CONNECT_TIMEOUT, read=None),
            headers={"Accept": "application/json"},
        )

    async def aclose(self) -> None:
        """Close both connection pools."""
        with trio.CancelScope(shield=True):
            await self.client.aclose()
            await self.watch_client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        ref: ObjectRef,
        *,
        params: Mapping[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one API call (retrying transient failures) and return the decoded JSON body."""
        backoff = self.new_backoff()
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            client = self.client
            try:
                request = client.build_request(
                    method,
                    path,
                    params=params,
                    json=body,
                    timeout=request_timeout(self.request_timeout),
                )
                # Every request, even a body-less GET (see _RequestBody).
                request.stream = _RequestBody(request.content)
                response = await client.send(request)
            except httpx.TransportError as exc:
                error = KubernetesError.unreachable(exc, ref)
            else:
                if response.status_code < 400:
                    return _decode_body(response, ref)
                error = KubernetesError.from_response(
                    response.status_code, response.content, ref, http_reason=response.reason_phrase
                )
                if not error.transient:
                    raise error
                if response.status_code == 429:
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
            delay = max(backoff.next_delay(), retry_after or 0.0)
            if attempt >= self.max_attempts or delay >= remaining():
                raise error
            log.warning(
                "Retrying Kubernetes API call",
                method=method,
                object=str(ref),
                status=error.status,
                reason=error.reason,
                attempt=attempt,
                delay=round(delay, 3),
            )
            await trio.sleep(delay)

    async def open_watch(
        self, path: str, ref: ObjectRef, params: Mapping[str, str]
    ) -> httpx.Response:
        """Start a watch stream; the caller owns the returned response and must ``aclose`` it.

        Not retried here: the watch loop owns restart policy. Raises ``KubernetesError`` for
        an HTTP error status (the body is read first so the Status message is available) and
        for transport failures (``status is None``).
        """
        connect = min(WATCH_CONNECT_TIMEOUT, max(0.001, remaining()))
        timeout = httpx.Timeout(connect, read=None)
        request = self.watch_client.build_request("GET", path, params=params, timeout=timeout)
        request.stream = _RequestBody(b"")
        try:
            response = await self.watch_client.send(request, stream=True)
        except httpx.TransportError as exc:
            raise KubernetesError.unreachable(exc, ref) from exc
        if response.status_code == 200:
            return response
        try:
            content = await response.aread()
        except httpx.TransportError:
            content = b""
        finally:
            await response.aclose()
        raise KubernetesError.from_response(
            response.status_code, content, ref, http_reason=response.reason_phrase
        )


class _RequestBody(httpx.AsyncByteStream):
    """A request body sent through a plain iterator object instead of an async generator.

    httpx sends ``json=`` bodies with an async generator (``ByteStream.__aiter__``). A request
    cancelled while its body is being written (a spawn cancelled by a delete, or a sibling
    create failing in the same round) abandons that generator half-way, and Trio warns about
    it when it is garbage collected (httpx issue #3686): noise in production and an error
    under ``filterwarnings = error``. A plain iterator has nothing to finalise.
    """

    def __init__(self, content: bytes) -> None:
        self._content = content

    def __aiter__(self) -> AsyncIterator[bytes]:
        return _OneChunk(self._content)


class _OneChunk:
    """Async iterator over a single chunk of bytes."""

    def __init__(self, content: bytes) -> None:
        self._content: bytes | None = content or None  # an empty body sends no chunk

    def __aiter__(self) -> _OneChunk:
        return self

    async def __anext__(self) -> bytes:
        content, self._content = self._content, None
        if content is None:
            raise StopAsyncIteration
        return content


def _decode_body(response: httpx.Response, ref: ObjectRef) -> dict[str, Any]:
    if not response.content:
        return {}
    try:
        data = response.json()
    except ValueError as exc:
        raise KubernetesError(
            status=response.status_code,
            reason="InvalidResponse",
            message=f"response is not JSON: {exc}",
            kind=ref.kind,
            namespace=ref.namespace,
            name=ref.name,
        ) from exc
    if not isinstance(data, dict):
        raise KubernetesError(
            status=response.status_code,
            reason="InvalidResponse",
            message="response is not a JSON object",
            kind=ref.kind,
            namespace=ref.namespace,
            name=ref.name,
        )
    return data


def timeout_seconds(reconnect_timeout: float) -> int:
    """Server-side ``timeoutSeconds`` for one watch request, reduced to the time left."""
    return max(1, math.ceil(min(reconnect_timeout, remaining())))


class ConnectionPerRequest(httpx.AsyncBaseTransport):
    """A transport that gives every request its own connection, closed with its response.

    Watches never share or reuse connections, and a shared pool costs more than it saves:
    httpcore's pool scans every open connection each time a request is queued or finishes,
    so with thousands of open watch streams that scan dominated the controller's CPU
    (measured with ``bench/spawn_storm.py``). This also means there is no connection limit
    that could make a watch wait silently.
    """

    def __init__(self, verify: ssl.SSLContext | bool = True) -> None:
        # Built once: making a default context per watch would reload the CA bundle.
        self._ssl_context = _ssl_context(verify)
        self._verify = verify

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        verify: ssl.SSLContext | bool = (
            self._ssl_context if self._ssl_context is not None else self._verify
        )
        transport = httpx.AsyncHTTPTransport(verify=verify, http1=True, http2=False)
        try:
            response = await transport.handle_async_request(request)
        except BaseException:
            with trio.CancelScope(shield=True):
                await transport.aclose()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _ClosingStream(response.stream, transport)
        return response


class _ClosingStream(httpx.AsyncByteStream):
    """A response body that closes its private transport when the body is closed."""

    def __init__(self, stream: httpx.AsyncByteStream, transport: httpx.AsyncHTTPTransport) -> None:
        self._stream = stream
        self._transport = transport

    def __aiter__(self) -> AsyncIterator[bytes]:
        # The inner stream's own iterator, not a generator of ours: one less generator that
        # an abandoned stream would leave for the garbage collector to finalise.
        return self._stream.__aiter__()

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            with trio.CancelScope(shield=True):
                await self._transport.aclose()


def _ssl_context(verify: ssl.SSLContext | bool) -> ssl.SSLContext | None:
    """One TLS context for every pool: ``verify=True`` would build (and load CAs) per pool."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    return ssl.create_default_context() if verify else None
