"""Client of Gafaelfawr, the platform's token service: who owns a token, and what it may do.

Public entry points::

    from actors.gafaelfawr import GafaelfawrClient, GafaelfawrTokenRejected, GafaelfawrUnavailable

    async with GafaelfawrClient("https://rsp.example.org", cache_seconds=60) as gafaelfawr:
        user = await gafaelfawr.user_info(token)    # actors.common.models.UserInfo
        info = await gafaelfawr.token_info(token)   # TokenInfo: username, scopes, expires ...

Tokens are secrets: they are sent to Gafaelfawr and nowhere else, never logged, never part of
an exception message or a repr, and the answer cache keys them by a keyed hash.
"""

from .cache import TtlLruCache
from .client import DEFAULT_TIMEOUT, GafaelfawrClient
from .errors import GafaelfawrError, GafaelfawrTokenRejected, GafaelfawrUnavailable
from .models import TokenInfo

__all__ = [
    "DEFAULT_TIMEOUT",
    "GafaelfawrClient",
    "GafaelfawrError",
    "GafaelfawrTokenRejected",
    "GafaelfawrUnavailable",
    "TokenInfo",
    "TtlLruCache",
]
