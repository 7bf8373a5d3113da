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

Randomness comes only from ``random.Random(seed)``, so a run is reproducible for a given
seed and request sequence.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

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
        """Remove every error and latency rule and unfreeze the kubelet."""
        self.errors.clear()
        self.latencies.clear()
        self.corruptions.clear()
        self.kubelet_frozen = False

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
    ``PUT .../seed`` ``{"seed": int}``.
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
    "admin_handler",
]
