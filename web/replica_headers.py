"""The two headers replicas speak to each other in (``web.forwarding``, ``web.handoff``).

A module of its own because the error handlers, the forwarder and the stream relay all need
them and must not import each other.
"""

from __future__ import annotations

__all__ = ["FOLLOWS_HANDOFF_HEADER", "FORWARDED_BY_HEADER", "NOT_SERVED_HEADER"]

FORWARDED_BY_HEADER = "nublado-forwarded-by"
"""Set on every request one replica relays to another, to the sender's identity. A request
carrying it is never relayed again, so two replicas that each think the other leads cannot
bounce a request between them."""

NOT_SERVED_HEADER = "nublado-not-served"
"""On a 503 that means "not done here, ask whoever leads now": a replica with no leader to
send a request to, one that was sent a request it does not lead for, or one whose term ended
under a request before it did anything irrevocable. The forwarder that gets it sends the
request, body included, to the next leader."""

FOLLOWS_HANDOFF_HEADER = "nublado-follows-handoff"
"""On the event-stream request a leader that handed off sends its successor to keep a
client's stream going (``web.handoff``): if the successor has no operation of that lab to
replay (the pod started in between), it answers with the spawn's final event at once
instead of waiting for the next operation. Harmless from anyone else: it only tells a user
how their own lab's last spawn ended."""
