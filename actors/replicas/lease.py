"""The leader-election Lease as data: reading it, judging it, writing the next version.

Pure functions over the JSON of a ``coordination.k8s.io/v1`` Lease, with client-go's
semantics so that the same Lease could be read by standard tools (``kubectl get lease``
shows the holder):

* ``holderIdentity``: the replica that leads; empty once a leader released the lease.
* ``leaseDurationSeconds``: how long others must see the record unchanged before they may
  take it (a released lease says 1).
* ``acquireTime`` / ``renewTime``: when the holder took the lease / last renewed it
  (MicroTime, for people; nobody compares clocks across machines).
* ``leaseTransitions``: how many times the lease changed hands.

Expiry is judged on the *observer's own clock*: a follower notes when it last saw the record
change and waits ``leaseDurationSeconds`` from then. Clocks of different machines are never
compared, only their rates, which is what makes the fence (``actors.runtime.terms``) sound.

A nublado-trio annotation carries the holder's address, so that followers know where to
forward requests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["LEADER_URL_ANNOTATION", "LeaseRecord", "lease_body", "micro_time"]

LEADER_URL_ANNOTATION = "nublado.lsst.io/leader-url"


def micro_time(moment: datetime) -> str:
    """A Kubernetes MicroTime (RFC 3339 in UTC with microseconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """What one version of the lease says."""

    holder: str
    duration: float
    acquire_time: str | None
    renew_time: str | None
    transitions: int
    leader_url: str | None
    resource_version: str | None

    @classmethod
    def from_object(cls, obj: dict[str, Any]) -> LeaseRecord:
        """Read a Lease as the API server returned it (missing fields read as empty)."""
        metadata = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        annotations = metadata.get("annotations") or {}
        duration = spec.get("leaseDurationSeconds")
        transitions = spec.get("leaseTransitions")
        url = annotations.get(LEADER_URL_ANNOTATION)
        return cls(
            holder=str(spec.get("holderIdentity") or ""),
            duration=float(duration) if isinstance(duration, int) and duration > 0 else 0.0,
            acquire_time=spec.get("acquireTime"),
            renew_time=spec.get("renewTime"),
            transitions=transitions if isinstance(transitions, int) and transitions >= 0 else 0,
            leader_url=url if isinstance(url, str) and url else None,
            resource_version=metadata.get("resourceVersion"),
        )

    @property
    def change_key(self) -> tuple[object, ...]:
        """What must differ for the record to count as changed (renewals change it)."""
        return (self.holder, self.renew_time, self.acquire_time, self.transitions)

    def expired(self, observed_at: float, now: float) -> bool:
        """Whether a holder seen unchanged since ``observed_at`` may be replaced at ``now``
        (an empty holder never needs waiting for)."""
        return not self.holder or now >= observed_at + self.duration


def lease_body(
    *,
    name: str,
    namespace: str,
    holder: str,
    duration: float,
    acquire_time: str,
    renew_time: str,
    transitions: int,
    leader_url: str | None,
    resource_version: str | None,
) -> dict[str, Any]:
    """The Lease to create or write (``resource_version`` makes the write conditional)."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if resource_version is not None:
        metadata["resourceVersion"] = resource_version
    if leader_url is not None:
        metadata["annotations"] = {LEADER_URL_ANNOTATION: leader_url}
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": metadata,
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": max(1, math.ceil(duration)),
            "acquireTime": acquire_time,
            "renewTime": renew_time,
            "leaseTransitions": transitions,
        },
    }
