"""HTTP transport to the API server: retries, deadlines and error mapping.

Requests go over :class:`~actors.kube.pool.StackPool` (HTTP/1.1 on h11, connections reused
most-recent-first, at most 256 in flight); watch streams each get a connection of their own
that is never pooled, and no read timeout (the watch keeps its own idle timer, because a
quiet watch is normal). Why not a general-purpose HTTP client: see ``actors/kube/http11.py``.

Transient failures (no response, 429, 500/502/503/504) are retried with capped exponential
backoff as long as the next attempt can start before the caller's deadline; everything else
is raised at once as :class:`KubernetesError`.
"""

from __future__ import annotations

import json
import math
import ssl
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import structlog
import trio

from .backoff import Backoff, parse_retry_after
from .credentials import Authorizer
from .deadline import KUBERNETES_REQUEST_TIMEOUT, remaining, request_timeout
from .errors import KubernetesError, ObjectRef
from .http11 import HttpTransportError, LineStream, Origin, TimedOut
from .observer import KubeObserver, verb_of
from .pool import Reply, StackPool

__all__ = ["ApiTransport"]

log = structlog.get_logger(__name__)

WATCH_CONNECT_TIMEOUT = 10.0
"""Bound on connecting and on receiving the response head of a watch (not on the stream)."""

_ACCEPT = (b"accept", b"application/json")
_JSON_BODY = (b"content-type", b"application/json")
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


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
        auth: Authorizer | None = None,
        request_timeout: float = KUBERNETES_REQUEST_TIMEOUT,
        max_attempts: int = 5,
        backoff: Callable[[], Backoff] = Backoff,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.origin = Origin.from_url(self.base_url)
        self.request_timeout = request_timeout
        self.max_attempts = max_attempts
        self.new_backoff = backoff
        self._auth = auth
        self.streaming_lists = True
        """Whether informers may list by watch (``sendInitialEvents``); cleared for good the
        first time the API server refuses it (see :mod:`actors.kube.watch`)."""
        ssl_context = _ssl_context(verify) if self.origin.tls else None
        self.pool = StackPool(self.origin, ssl_context)
        self.observer: KubeObserver | None = None
        """Told about every attempt and watch restart (metrics, health); set by its owner."""
        self.user_agent = (b"user-agent", b"nublado-trio")
        """Names this client to the API server (its audit log, kubesim's request log); a
        replica adds its identity (:meth:`identify`)."""
        self.write_fence: Callable[[], bool] | None = None
        """When set, a write (create, update, patch, delete) is sent only while it answers
        true: a replica that no longer leads refuses its own writes, whatever task tries."""

    def identify(self, name: str) -> None:
        """Send ``name`` in the ``User-Agent`` header from now on."""
        self.user_agent = (b"user-agent", f"nublado-trio ({name})".encode("latin-1", "replace"))

    async def aclose(self) -> None:
        """Close the idle pooled connections (watches close their own)."""
        await self.pool.aclose()

    async def request(
        self,
        method: str,
        path: str,
        ref: ObjectRef,
        *,
        params: Mapping[str, str] | None = None,
        body: dict[str, Any] | None = None,
        fenced: bool = True,
    ) -> dict[str, Any]:
        """Send one API call (retrying transient failures) and return the decoded JSON body.

        A write is ``fenced`` unless the caller is the one that keeps the fence (the elector
        writing its lease): see :attr:`write_fence`.
        """
        backoff = self.new_backoff()
        fence = self.write_fence if fenced and method in _WRITES else None
        target = self._target(path, params)
        content = b"" if body is None else json.dumps(body).encode()
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            started = trio.current_time()
            if fence is not None and not fence():
                raise KubernetesError(
                    status=503,
                    reason="NotLeader",
                    message="this replica no longer leads; the write was not sent",
                    kind=ref.kind,
                    namespace=ref.namespace,
                    name=ref.name,
                )
            try:
                reply = await self._send_once(method, target, content, has_body=body is not None)
            except HttpTransportError as exc:
                self._observe(method, ref, started, None)
                error = KubernetesError.unreachable(exc, ref)
            else:
                self._observe(method, ref, started, reply.status)
                if reply.status < 400:
                    return _decode_body(reply.status, reply.body, ref)
                error = KubernetesError.from_response(
                    reply.status, reply.body, ref, http_reason=reply.reason
                )
                if not error.transient:
                    raise error
                if reply.status == 429:
                    retry_after = parse_retry_after(reply.header(b"retry-after"))
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

    async def open_watch(self, path: str, ref: ObjectRef, params: Mapping[str, str]) -> LineStream:
        """Start a watch stream; the caller owns the returned stream and must ``aclose`` it.

        Not retried here: the watch loop owns restart policy. Raises ``KubernetesError`` for
        an HTTP error status (the body is read first so the Status message is available) and
        for transport failures (``status is None``).
        """
        connect = min(WATCH_CONNECT_TIMEOUT, max(0.001, remaining()))
        headers = await self._headers(False)
        opened = None
        started = trio.current_time()
        try:
            with trio.move_on_after(connect):
                opened = await self.pool.open_stream("GET", self._target(path, params), headers)
        except HttpTransportError as exc:
            self._observe("WATCH", ref, started, None)
            raise KubernetesError.unreachable(exc, ref) from exc
        if opened is None:
            self._observe("WATCH", ref, started, None)
            raise KubernetesError.unreachable(TimedOut(f"no response within {connect:g} s"), ref)
        connection, head = opened
        self._observe("WATCH", ref, started, head.status)
        stream = LineStream(connection, head)
        if head.status == 200:
            return stream
        try:
            with trio.move_on_after(connect):
                content = await stream.read_all()
        except HttpTransportError:
            content = b""
        finally:
            await stream.aclose()
        raise KubernetesError.from_response(head.status, content, ref, http_reason=head.reason)

    async def _send_once(
        self, method: str, target: str, content: bytes, *, has_body: bool
    ) -> Reply:
        """One attempt, bounded by the request timeout (a timeout is a transport failure)."""
        headers = await self._headers(has_body)
        timeout = request_timeout(self.request_timeout)
        with trio.move_on_after(timeout):
            return await self.pool.request(method, target, headers, content)
        raise TimedOut(f"no complete response within {timeout:g} s")

    def _observe(self, method: str, ref: ObjectRef, started: float, status: int | None) -> None:
        if self.observer is not None:
            verb = "watch" if method == "WATCH" else verb_of(method, named=ref.name is not None)
            self.observer.request_done(verb, ref.kind, trio.current_time() - started, status)

    def _target(self, path: str, params: Mapping[str, str] | None) -> str:
        target = self.origin.base_path + path
        return f"{target}?{urlencode(params)}" if params else target

    async def _headers(self, has_body: bool) -> list[tuple[bytes, bytes]]:
        headers = [(b"host", self.origin.host_header), _ACCEPT, self.user_agent]
        if has_body:
            headers.append(_JSON_BODY)
        if self._auth is not None:
            authorization = await self._auth.authorization()
            if authorization:
                headers.append((b"authorization", authorization.encode("latin-1")))
        return headers


def _decode_body(status: int, content: bytes, ref: ObjectRef) -> dict[str, Any]:
    if not content:
        return {}
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise KubernetesError(
            status=status,
            reason="InvalidResponse",
            message=f"response is not JSON: {exc}",
            kind=ref.kind,
            namespace=ref.namespace,
            name=ref.name,
        ) from exc
    if not isinstance(data, dict):
        raise KubernetesError(
            status=status,
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


def _ssl_context(verify: ssl.SSLContext | bool) -> ssl.SSLContext:
    """The TLS context for every connection, built once (loading the CA bundle is slow)."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
