"""Deterministic fault injection for the simulated API server.

What can be injected (from Python through ``site.faults`` or over HTTP, see
:func:`admin_handler` and docs/kubesim.md):

* **errors**: a rule ``(verb, resource, rate, status, retry_after, count)`` makes matching
  Kubernetes API requests fail with ``status`` (500 InternalError, 503 ServiceUnavailable,
  429 TooManyRequests, 504 Timeout, ...) with probability ``rate``; ``retry_after`` adds a
  ``Retry-After`` header and ``details.retryAfterSeconds``; ``count`` limits how many
  failures the rule produces. Verbs: get, list, watch, create, update, patch, delete,
  deletecollection, or ``*``; resources are plurals ("pods") or ``*``.
* **latency**: extra seconds before matching requests are handled.
* **drop watches**: cut every open HTTP watch connection now (optionally only those on one
  namespace).
* **expire resource versions**: compact the store's history; older RVs then get 410.
* **kubelet_frozen**: a flag the simulated kubelet reads; while set it makes no progress.
* **partition**: cut one client off the API server, as a network partition between one
  controller replica and the cluster would. The client is named by a substring of its
  ``User-Agent`` (``"(replica b)"``). While partitioned, each of its Kubernetes API requests
  gets no answer at all: in ``close`` mode (the default) the connection is closed at once
  without a response, so the client fails fast with a connection error; in ``hang`` mode
  the request is held unanswered until the client gives up (its own timeout) or the
  partition heals, and is then closed without a response, so the client sees a timeout, as
  across a real partition. Either way the request never reaches the API server (nothing is
  read or written, not even after healing) and its watch connections are cut the moment
  the partition starts. Other clients are untouched; ``heal`` (or ``clear``) ends it.

Randomness comes only from ``random.Random(seed)``, so a run is reproducible for a given
seed and request sequence.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import trio

from kubesim.errors import ApiError, bad_request, method_not_allowed, path_not_found
from kubesim.http import Request, Response

if TYPE_CHECKING:
    from kubesim.store import Store

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    410: "Expired",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


@dataclass
class ErrorRule:
    verb: str = "*"
    resource: str = "*"
    rate: float = 1.0
    status: int = 503
    retry_after: int | None = None
    count: int | None = None

    def matches(self, verb: str, resource: str) -> bool:
        return self.verb in ("*", verb) and self.resource in ("*", resource)


@dataclass
class CorruptionRule:
    """Answer matching requests with a 200 whose object has fields of the wrong types."""

    verb: str = "*"
    resource: str = "*"
    count: int | None = None

    def matches(self, verb: str, resource: str) -> bool:
        return self.verb in ("*", verb) and self.resource in ("*", resource)


CORRUPT_OBJECT: dict[str, Any] = {
    "metadata": "corrupted by kubesim",
    "spec": "corrupted by kubesim",
    "status": "corrupted by kubesim",
}
"""What a corruption fault answers: JSON, but not an object any client can read. It stands for
a broken proxy or an API server of an incompatible version; a client must treat it as a bug
in what it talks to, not as a Kubernetes status."""


@dataclass
class LatencyRule:
    seconds: float
    verb: str = "*"
    resource: str = "*"

    def matches(self, verb: str, resource: str) -> bool:
        return self.verb in ("*", verb) and self.resource in ("*", resource)


PARTITION_MODES = ("close", "hang")
#: Longest a request is held in ``hang`` mode (a forgotten partition must not keep
#: connections forever); far beyond any client's request timeout.
HANG_LIMIT_SECONDS = 600.0


class Partition:
    """One partitioned client (a ``User-Agent`` substring); see the module docstring."""

    __slots__ = ("client", "healed", "mode")

    def __init__(self, client: str, mode: str) -> None:
        self.client = client
        self.mode = mode
        #: Set when the partition ends: requests held in ``hang`` mode are then dropped.
        self.healed = trio.Event()

    def snapshot(self) -> dict[str, Any]:
        return {"client": self.client, "mode": self.mode}

    async def hold(self) -> None:
        """Keep a request unanswered for as long as this mode says (not at all for close).

        The wait ends when the partition heals, after :data:`HANG_LIMIT_SECONDS` or when the
        site stops. A client that gives up sooner is not noticed (nobody reads its socket
        meanwhile): its connection lingers, unanswered, until one of those.
        """
        if self.mode == "hang":
            with trio.move_on_after(HANG_LIMIT_SECONDS):
                await self.healed.wait()


class Faults:
    """Fault state shared by the API layer, the store and the controllers."""

    def __init__(self, store: Store, *, seed: int = 0) -> None:
        self._store = store
        self.seed = seed
        self.rng = random.Random(seed)
        self.errors: list[ErrorRule] = []
        self.latencies: list[LatencyRule] = []
        self.corruptions: list[CorruptionRule] = []
        #: Read by the simulated kubelet: while True it makes no progress on any pod.
        self.kubelet_frozen = False
        self.partitions: list[Partition] = []

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)

    def add_error(
        self,
        *,
        verb: str = "*",
        resource: str = "*",
        rate: float = 1.0,
        status: int = 503,
        retry_after: int | None = None,
        count: int | None = None,
    ) -> ErrorRule:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status")
        rule = ErrorRule(verb, resource, rate, status, retry_after, count)
        self.errors.append(rule)
        return rule

    def add_corruption(
        self, *, verb: str = "*", resource: str = "*", count: int | None = None
    ) -> CorruptionRule:
        rule = CorruptionRule(verb, resource, count)
        self.corruptions.append(rule)
        return rule

    def pick_corruption(self, verb: str, resource: str) -> bool:
        """Whether this request gets :data:`CORRUPT_OBJECT` (a rule fires)."""
        for rule in self.corruptions:
            if rule.matches(verb, resource) and rule.count != 0:
                if rule.count is not None:
                    rule.count -= 1
                return True
        return False

    def add_latency(self, seconds: float, *, verb: str = "*", resource: str = "*") -> LatencyRule:
        if seconds < 0:
            raise ValueError("latency must not be negative")
        rule = LatencyRule(seconds, verb, resource)
        self.latencies.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every error and latency rule, unfreeze the kubelet, heal every partition."""
        self.errors.clear()
        self.latencies.clear()
        self.corruptions.clear()
        self.kubelet_frozen = False
        self.heal()

    def partition(self, client: str, *, mode: str = "close") -> int:
        """Cut off every client whose ``User-Agent`` contains ``client``; returns how many of
        its watch connections were cut. Partitioning a client again changes its mode."""
        if not isinstance(client, str) or not client:
            raise ValueError("client must be a non-empty User-Agent substring")
        if mode not in PARTITION_MODES:
            raise ValueError(f"mode must be one of {', '.join(PARTITION_MODES)}, not {mode!r}")
        self.heal(client)
        self.partitions.append(Partition(client, mode))
        return self._store.drop_watches(client=client)

    def heal(self, client: str | None = None) -> int:
        """End the partition of ``client`` (the substring it was partitioned with), or every
        partition; returns how many ended. Requests still held are dropped, not served."""
        ended = [p for p in self.partitions if client is None or p.client == client]
        self.partitions = [p for p in self.partitions if p not in ended]
        for partition in ended:
            partition.healed.set()
        return len(ended)

    def partition_for(self, user_agent: str) -> Partition | None:
        """The partition that cuts off a request with this ``User-Agent``, if any."""
        for partition in self.partitions:
            if partition.client in user_agent:
                return partition
        return None

    def drop_watches(self, namespace: str | None = None) -> int:
        """Cut every open HTTP watch (or only the watches on ``namespace``, to disturb one
        tenant and not the others); returns how many were cut."""
        return self._store.drop_watches(namespace)

    def expire_resource_versions(self) -> int:
        """Compact history; returns the oldest resourceVersion still valid for watches."""
        return self._store.compact()

    def latency_for(self, verb: str, resource: str) -> float:
        return sum(rule.seconds for rule in self.latencies if rule.matches(verb, resource))

    def pick_error(self, verb: str, resource: str) -> ApiError | None:
        """The injected failure for this request, if a rule fires (consumes randomness)."""
        for rule in self.errors:
            if not rule.matches(verb, resource) or rule.count == 0:
                continue
            if self.rng.random() >= rule.rate:
                continue
            if rule.count is not None:
                rule.count -= 1
            reason = _REASONS.get(rule.status, "InternalError")
            details: dict[str, Any] = {"kind": resource}
            headers: list[tuple[str, str]] = []
            if rule.retry_after is not None:
                details["retryAfterSeconds"] = rule.retry_after
                headers.append(("retry-after", str(rule.retry_after)))
            return ApiError(
                rule.status,
                reason,
                f"kubesim injected fault ({verb} {resource})",
                details,
                headers=headers,
            )
        return None

    def snapshot(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "errors": [asdict(rule) for rule in self.errors],
            "latencies": [asdict(rule) for rule in self.latencies],
            "corruptions": [asdict(rule) for rule in self.corruptions],
            "kubeletFrozen": self.kubelet_frozen,
            "partitions": [partition.snapshot() for partition in self.partitions],
            "oldestResourceVersion": str(self._store.oldest_resource_version),
        }


ADMIN_PREFIX = "/_kubesim/faults"


def _body(request: Request) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        data = request.json()
    except ValueError as exc:
        raise bad_request(f"invalid JSON body: {exc}") from None
    if not isinstance(data, dict):
        raise bad_request("the body must be a JSON object")
    return data


def _rule_args(data: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    unknown = set(data) - allowed
    if unknown:
        raise bad_request(f"unknown fields: {sorted(unknown)}")
    return {{"retryAfter": "retry_after"}.get(key, key): value for key, value in data.items()}


async def admin_handler(faults: Faults, request: Request) -> Response:
    """Serve the fault-injection API under ``/_kubesim/faults``.

    ``GET`` the state; ``DELETE`` clears all rules; ``POST .../errors``,
    ``POST .../latency`` and ``POST .../corruptions`` add rules; ``POST .../drop-watches``,
    ``POST .../expire``, ``PUT .../kubelet`` ``{"frozen": bool}``,
    ``PUT .../seed`` ``{"seed": int}``, ``POST .../partitions``
    ``{"client": str, "mode": "close"|"hang"}``, ``DELETE .../partitions[?client=str]``.
    """
    sub = request.path[len(ADMIN_PREFIX) :].strip("/")
    method = request.method
    try:
        if sub == "":
            if method == "GET":
                return Response.json(200, faults.snapshot())
            if method == "DELETE":
                faults.clear()
                return Response.json(200, faults.snapshot())
        elif sub == "errors" and method == "POST":
            args = _rule_args(
                _body(request), {"verb", "resource", "rate", "status", "retryAfter", "count"}
            )
            return Response.json(201, asdict(faults.add_error(**args)))
        elif sub == "corruptions" and method == "POST":
            args = _rule_args(_body(request), {"verb", "resource", "count"})
            return Response.json(201, asdict(faults.add_corruption(**args)))
        elif sub == "latency" and method == "POST":
            args = _rule_args(_body(request), {"verb", "resource", "seconds"})
            return Response.json(201, asdict(faults.add_latency(**args)))
        elif sub == "partitions" and method == "POST":
            data = _body(request)
            args = _rule_args(data, {"client", "mode"})
            if "client" not in args:
                raise bad_request('body must be {"client": "<User-Agent substring>"}')
            cut = faults.partition(args["client"], mode=args.get("mode", "close"))
            return Response.json(
                201,
                {"client": args["client"], "mode": args.get("mode", "close"), "watchesCut": cut},
            )
        elif sub == "partitions" and method == "DELETE":
            client = request.query.get("client")
            if client is not None and not client:
                raise bad_request("client must be a non-empty User-Agent substring")
            healed = faults.heal(client)
            if client is not None and not healed:
                raise ApiError(404, "NotFound", f"no partition for client {client[:100]!r}", {})
            return Response.json(200, {"healed": healed, **faults.snapshot()})
        elif sub == "drop-watches" and method == "POST":
            return Response.json(200, {"dropped": faults.drop_watches()})
        elif sub == "expire" and method == "POST":
            oldest = faults.expire_resource_versions()
            return Response.json(200, {"oldestResourceVersion": str(oldest)})
        elif sub == "kubelet" and method == "PUT":
            frozen = _body(request).get("frozen")
            if not isinstance(frozen, bool):
                raise bad_request('body must be {"frozen": true|false}')
            faults.kubelet_frozen = frozen
            return Response.json(200, faults.snapshot())
        elif sub == "seed" and method == "PUT":
            seed = _body(request).get("seed")
            if not isinstance(seed, int):
                raise bad_request('body must be {"seed": <int>}')
            faults.reseed(seed)
            return Response.json(200, faults.snapshot())
        else:
            if sub in (
                "errors",
                "partitions",
                "latency",
                "corruptions",
                "drop-watches",
                "expire",
                "kubelet",
                "seed",
            ):
                raise method_not_allowed(method, request.path)
            raise path_not_found(request.path)
        raise method_not_allowed(method, request.path)
    except (TypeError, ValueError) as exc:
        raise bad_request(str(exc)) from None


__all__ = [
    "ADMIN_PREFIX",
    "CORRUPT_OBJECT",
    "CorruptionRule",
    "ErrorRule",
    "Faults",
    "LatencyRule",
    "Partition",
    "admin_handler",
]
