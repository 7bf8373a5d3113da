"""What Gafaelfawr's token-info API says about a token.

The user record (``user-info``) is :class:`actors.common.models.UserInfo`, shared with the lab
actors. Unknown fields are ignored so a newer Gafaelfawr does not break the controller. The
token's own key (the ``token`` field of the reply) is deliberately not kept.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

__all__ = ["TokenInfo"]


class TokenInfo(BaseModel):
    """Owner, kind, scopes and lifetime of a token (``GET /auth/api/v1/token-info``).

    ``created`` and ``expires`` arrive as seconds since the epoch (ISO 8601 is accepted too)
    and are held as aware UTC datetimes; ``expires`` is ``None`` for tokens that never expire.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    username: str
    token_type: str | None = None
    scopes: frozenset[str] = frozenset()
    created: datetime | None = None
    expires: datetime | None = None
    service: str | None = None

    def has_scope(self, scope: str) -> bool:
        """Whether the token carries ``scope``."""
        return scope in self.scopes
