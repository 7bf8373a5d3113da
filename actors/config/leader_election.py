"""The ``leaderElection`` section (a nublado-trio extension): running several replicas.

Off by default: one replica acts alone, as the reference controller does. On, every replica
keeps its informers warm and one of them, the holder of a ``coordination.k8s.io/v1`` Lease in
the controller's namespace, owns the actors and writes to the cluster; the others forward
requests to it. The timings follow client-go's leader election and its defaults:

* ``leaseDuration``: how long a follower waits, after it last saw the lease change, before
  it may take the lease over from a silent leader. The failover time after a crash.
* ``renewDeadline``: how long a leader keeps acting without a successful renewal. It must
  be shorter than ``leaseDuration``: the gap is the margin that keeps a cut-off leader from
  writing at the same time as its successor.
* ``retryPeriod``: how often the leader renews and a follower tries to acquire.
* ``handoffTimeout``: how long a leader that is shutting down lets spawns finish creating
  their objects before it gives the lease away (the rest is cut short and cleaned up by the
  next leader).
* ``forwardTimeout``: how long a request waits for a leader to be known before it is
  answered 503.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Self

from pydantic import Field, model_validator

from .base import ConfigModel
from .units import K8sName, PositiveDuration

__all__ = ["LeaderElectionConfig"]


class LeaderElectionConfig(ConfigModel):
    """Whether and how replicas elect the one that acts."""

    enabled: bool = False
    lease_name: K8sName = "nublado-controller"
    """Name of the Lease in the controller's namespace."""
    lease_duration: PositiveDuration = timedelta(seconds=15)
    renew_deadline: PositiveDuration = timedelta(seconds=10)
    retry_period: PositiveDuration = timedelta(seconds=2)
    handoff_timeout: PositiveDuration = timedelta(seconds=5)
    forward_timeout: PositiveDuration = timedelta(seconds=10)
    advertise_url: str | None = Field(None, pattern=r"^https?://[^/\s]+$")
    """How the other replicas reach this one (``http://host:port``). Default:
    ``http://$POD_IP:<listening port>``."""

    @model_validator(mode="after")
    def _timings_nest(self) -> Self:
        # client-go's own checks: renewals must fit in the deadline, the deadline in the lease.
        if self.renew_deadline >= self.lease_duration:
            raise ValueError("renewDeadline must be shorter than leaseDuration")
        if self.retry_period * 1.2 >= self.renew_deadline:
            raise ValueError("retryPeriod times 1.2 (jitter) must be shorter than renewDeadline")
        return self
