"""A fake Gafaelfawr: the two read-only token APIs the lab controller calls.

Served under ``/auth/api/v1`` (the prefix real Gafaelfawr uses):

- ``GET /auth/api/v1/user-info``: the user record of the bearer token's owner (spec/api.md
  §2.4): ``username``, ``name``, ``email``, ``uid``, ``gid``, ``groups`` (``[{name, id}]``)
  and ``quota`` (``{"notebook": {"cpu", "memory" (GiB), "spawn"}}``). Fields the fake does not
  know are ``null`` (``groups`` is ``[]``), which is how Gafaelfawr answers for service tokens.
- ``GET /auth/api/v1/token-info``: ``{token, username, token_type, scopes, created, expires}``
  plus ``service`` for internal tokens. ``token`` is the token's *key* (the part between
  ``gt-`` and ``.`` for tokens shaped like Gafaelfawr's ``gt-<key>.<secret>``, the whole string
  otherwise); ``created``/``expires`` are seconds since the epoch (``expires`` may be null).

Unknown, expired or missing tokens get 401 with a ``WWW-Authenticate: Bearer`` challenge and a
``{"detail": [{"msg": ..., "type": ...}]}`` body, as FastAPI-based Gafaelfawr answers. The
token value itself never appears in a response body other than token-info's ``token`` key.

Data comes from YAML (see :func:`parse_config`)::

    users:
      - username: alice            # required
        name: Alice Example        # optional
        email: alice@example.org   # optional
        uid: 1001                  # optional (a lab cannot be spawned without uid/gid)
        gid: 1001
        groups: [{name: alice, id: 1001}, {name: g_science, id: 2001}]
        quota: {notebook: {cpu: 4.0, memory: 16, spawn: true}}   # optional
    tokens:
      - token: alice-demo-token    # the bearer string clients send
        username: alice            # need not be a listed user (service tokens)
        scopes: [exec:notebook, read:image, write:files]
        token_type: user           # session | user | notebook | internal | service
        service: null              # for internal tokens
        created: 1735689600        # epoch seconds; defaults to load time
        expires: null              # epoch seconds, or use expires_in (seconds from load)

The built-in demo set lives in ``kubesim/data/gafaelfawr.yaml`` (see :func:`demo_gafaelfawr`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from kubesim.http import Request, Response

__all__ = [
    "FakeGafaelfawr",
    "GafaelfawrData",
    "Group",
    "NotebookQuota",
    "TokenRecord",
    "UserRecord",
    "demo_gafaelfawr",
    "install",
    "parse_config",
]

API_PREFIX = "/auth/api/v1"
TOKEN_TYPES = frozenset({"session", "user", "notebook", "internal", "service"})


@dataclass(frozen=True)
class Group:
    name: str
    id: int


@dataclass(frozen=True)
class NotebookQuota:
    cpu: float
    memory: float  # GiB, may be fractional
    spawn: bool = True


@dataclass(frozen=True)
class UserRecord:
    username: str
    name: str | None = None
    email: str | None = None
    uid: int | None = None
    gid: int | None = None
    groups: tuple[Group, ...] = ()
    notebook_quota: NotebookQuota | None = None

    def to_json(self) -> dict[str, Any]:
        quota: dict[str, Any] | None = None
        if self.notebook_quota is not None:
            q = self.notebook_quota
            quota = {"notebook": {"cpu": q.cpu, "memory": q.memory, "spawn": q.spawn}}
        return {
            "username": self.username,
            "name": self.name,
            "email": self.email,
            "uid": self.uid,
            "gid": self.gid,
            "groups": [{"name": g.name, "id": g.id} for g in self.groups],
            "quota": quota,
        }


@dataclass(frozen=True)
class TokenRecord:
    token: str
    username: str
    scopes: tuple[str, ...]
    token_type: str = "user"
    created: float = 0.0
    expires: float | None = None
    service: str | None = None

    @property
    def key(self) -> str:
        """The public half of a Gafaelfawr-shaped token (``gt-<key>.<secret>``)."""
        if self.token.startswith("gt-") and "." in self.token:
            return self.token[3:].split(".", 1)[0]
        return self.token

    def is_valid_at(self, now: float) -> bool:
        return self.expires is None or now < self.expires

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "token": self.key,
            "username": self.username,
            "token_type": self.token_type,
            "scopes": sorted(self.scopes),
            "created": int(self.created),
            "expires": None if self.expires is None else int(self.expires),
        }
        if self.service is not None:
            data["service"] = self.service
        return data


@dataclass
class GafaelfawrData:
    """Users by name and tokens by bearer string; mutable so tests can add records."""

    users: dict[str, UserRecord] = field(default_factory=dict)
    tokens: dict[str, TokenRecord] = field(default_factory=dict)

    def add_user(self, user: UserRecord) -> None:
        self.users[user.username] = user

    def add_token(self, token: TokenRecord) -> None:
        self.tokens[token.token] = token


def _parse_user(raw: Mapping[str, Any]) -> UserRecord:
    quota = None
    notebook = (raw.get("quota") or {}).get("notebook")
    if notebook is not None:
        quota = NotebookQuota(
            cpu=float(notebook["cpu"]),
            memory=float(notebook["memory"]),
            spawn=bool(notebook.get("spawn", True)),
        )
    groups = tuple(Group(name=str(g["name"]), id=int(g["id"])) for g in raw.get("groups") or [])
    return UserRecord(
        username=str(raw["username"]),
        name=raw.get("name"),
        email=raw.get("email"),
        uid=None if raw.get("uid") is None else int(raw["uid"]),
        gid=None if raw.get("gid") is None else int(raw["gid"]),
        groups=groups,
        notebook_quota=quota,
    )


def _parse_token(raw: Mapping[str, Any], now: float) -> TokenRecord:
    token_type = str(raw.get("token_type", "user"))
    if token_type not in TOKEN_TYPES:
        raise ValueError(f"unknown token_type {token_type!r}")
    created = float(raw.get("created", now))
    expires: float | None = None
    if raw.get("expires") is not None:
        expires = float(raw["expires"])
    elif raw.get("expires_in") is not None:
        expires = now + float(raw["expires_in"])
    return TokenRecord(
        token=str(raw["token"]),
        username=str(raw["username"]),
        scopes=tuple(str(s) for s in raw.get("scopes") or []),
        token_type=token_type,
        created=created,
        expires=expires,
        service=raw.get("service"),
    )


def parse_config(raw: Mapping[str, Any] | str, *, now: float | None = None) -> GafaelfawrData:
    """Build the data set from a YAML string or an already-parsed mapping.

    Raises ``ValueError``/``KeyError`` on malformed input so a bad file fails at load time.
    """
    if isinstance(raw, str):
        raw = yaml.safe_load(raw) or {}
    loaded_at = time.time() if now is None else now
    data = GafaelfawrData()
    for user in raw.get("users") or []:
        data.add_user(_parse_user(user))
    for token in raw.get("tokens") or []:
        data.add_token(_parse_token(token, loaded_at))
    return data


def demo_gafaelfawr(*, now: float | None = None) -> GafaelfawrData:
    """The built-in demo users and tokens (``kubesim/data/gafaelfawr.yaml``)."""
    text = resources.files("kubesim").joinpath("data/gafaelfawr.yaml").read_text("utf-8")
    return parse_config(text, now=now)


def _bearer_token(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, credentials = value.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


class FakeGafaelfawr:
    """HTTP handler for the fake Gafaelfawr; mount it at :data:`API_PREFIX`.

    ``clock`` returns epoch seconds and decides token expiry (tests pass a fake clock).
    """

    def __init__(
        self,
        data: GafaelfawrData | None = None,
        *,
        realm: str = "kubesim",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.data = data if data is not None else demo_gafaelfawr()
        self.realm = realm
        self._clock = clock

    def _unauthorized(self, error: str, message: str) -> Response:
        challenge = f'Bearer realm="{self.realm}"'
        if error != "invalid_request":
            challenge += f', error="{error}", error_description="{message}"'
        return Response.json(
            401,
            {"detail": [{"msg": message, "type": error}]},
            headers=[("WWW-Authenticate", challenge)],
        )

    def _authenticate(self, request: Request) -> TokenRecord | Response:
        bearer = _bearer_token(request)
        if bearer is None:
            return self._unauthorized("invalid_request", "Authentication required")
        record = self.data.tokens.get(bearer)
        if record is None or not record.is_valid_at(self._clock()):
            return self._unauthorized("invalid_token", "Token is not valid")
        return record

    async def __call__(self, request: Request) -> Response:
        # Accept the path with or without the mount prefix so the handler works whichever
        # way the site strips prefixes.
        path = request.path
        if path.startswith(API_PREFIX):
            path = path[len(API_PREFIX) :]
        path = path.rstrip("/")
        if path not in ("/user-info", "/token-info"):
            return Response.json(404, {"detail": [{"msg": "Not Found", "type": "not_found"}]})
        if request.method not in ("GET", "HEAD"):
            return Response.json(
                405,
                {"detail": [{"msg": "Method Not Allowed", "type": "method_not_allowed"}]},
                headers=[("Allow", "GET")],
            )
        record = self._authenticate(request)
        if isinstance(record, Response):
            return record
        if path == "/token-info":
            return Response.json(200, record.to_json())
        user = self.data.users.get(record.username, UserRecord(username=record.username))
        return Response.json(200, user.to_json())


def install(site: Any, data: GafaelfawrData | None = None) -> FakeGafaelfawr:
    """Mount a fake Gafaelfawr on ``site`` at ``/auth/api/v1`` and return it."""
    fake = FakeGafaelfawr(data)
    site.mount(API_PREFIX, fake)
    return fake
