"""Followers answer every API request by relaying it to the leader (HTTP, SSE, WebSocket).

See ``docs/replicas-forwarding.md`` for why forwarding was chosen and how it behaves.
"""

from web.forwarding.middleware import LeaderForwarder
from web.forwarding.route import FORWARDED_BY_HEADER, SERVE_HERE, ForwardingTuning, LeaderRoute

__all__ = [
    "FORWARDED_BY_HEADER",
    "SERVE_HERE",
    "ForwardingTuning",
    "LeaderForwarder",
    "LeaderRoute",
]
