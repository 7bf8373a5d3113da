"""A fake Docker registry speaking the subset of the Registry HTTP API v2 the controller uses.

Routes (mounted at ``/v2`` plus the token endpoint at ``/registry/token``):

- ``GET /v2/``: 200 ``{}`` when the caller may pull, else 401 with a challenge.
- ``GET /v2/<name>/tags/list[?n=N&last=T]``: ``{"name", "tags"}``, tags in lexical order.
  With ``n`` (or the configured ``page_size`` when the client gives none) the page holds at
  most ``n`` tags after ``last`` and, when more remain, a
  ``Link: </v2/<name>/tags/list?n=N&last=T>; rel="next"`` header (relative, like
  distribution's).
- ``HEAD``/``GET /v2/<name>/manifests/<tag-or-digest>``: ``Docker-Content-Digest`` and
  ``Content-Type``; GET also returns a small synthetic manifest.
- ``DELETE /v2/<name>/manifests/<digest>``: 202, removes every tag pointing at the digest.
- ``GET /registry/token?service=..&scope=..`` (bearer mode): HTTP Basic credentials →
  ``{"token", "access_token", "expires_in", "issued_at"}``. Tokens expire after
  ``token_lifetime`` seconds of the injected clock; an expired token gets a fresh 401
  challenge, so clients must fetch a new one.

Auth modes: ``anonymous`` (no checks), ``basic`` (every request needs
``Authorization: Basic``; 401 challenge ``Basic realm="kubesim-registry"``), ``bearer``
(challenge ``Bearer realm="<scheme>://<host>/registry/token",service="kubesim-registry"
[,scope=...]`` where scheme and host are those the request arrived on — ``https`` through the
TLS listener of ``kubesim/tls.py``; one token grants pull on every repository). Errors use
the registry's ``{"errors": [{"code", "message", "detail"}]}`` body. Passwords and tokens
are never echoed.

YAML format (see :func:`parse_config`; the demo set is ``kubesim/data/registry.yaml``)::

    auth: {mode: bearer, username: demo, password: demo-password, token_lifetime: 300}
    page_size: null              # server default page size when the client sends no n
    repositories:
      - name: lsstsqre/sciplat-lab
        tags:
          - {tag: r27_0_0}                        # digest derived from repo and tag
          - {tag: w_2026_46, digest: "sha256:<64 hex>", size: 5000000000}
          - {tag: recommended, alias_of: w_2026_46}   # same digest as its target

Derived digests are ``sha256:`` + sha256 of ``"<repo>:<tag>"`` so they are stable across runs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import quote

import yaml

from kubesim.http import Request, Response

__all__ = [
    "AuthConfig",
    "FakeRegistry",
    "RegistryData",
    "Repository",
    "TagInfo",
    "demo_registry",
    "derive_digest",
    "install",
    "parse_config",
]

V2_PREFIX = "/v2"
TOKEN_PATH = "/registry/token"
SERVICE = "kubesim-registry"
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
AUTH_MODES = frozenset({"anonymous", "basic", "bearer"})


def derive_digest(repository: str, tag: str) -> str:
    """A stable fake digest for a tag that has none configured."""
    return "sha256:" + hashlib.sha256(f"{repository}:{tag}".encode()).hexdigest()


@dataclass(frozen=True)
class TagInfo:
    tag: str
    digest: str
    size: int = 0


@dataclass
class Repository:
    name: str
    tags: dict[str, TagInfo] = field(default_factory=dict)

    def set_tag(self, tag: str, digest: str | None = None, size: int = 0) -> TagInfo:
        info = TagInfo(tag, digest or derive_digest(self.name, tag), size)
        self.tags[tag] = info
        return info

    def resolve(self, reference: str) -> TagInfo | None:
        """A tag by name, or (for ``sha256:...``) the first tag carrying that digest."""
        if reference in self.tags:
            return self.tags[reference]
        if ":" in reference:
            for info in self.tags.values():
                if info.digest == reference:
                    return info
        return None


@dataclass(frozen=True)
class AuthConfig:
    mode: str = "anonymous"
    username: str = ""
    password: str = ""
    token_lifetime: float = 300.0

    def __post_init__(self) -> None:
        if self.mode not in AUTH_MODES:
            raise ValueError(f"unknown registry auth mode {self.mode!r}")


@dataclass
class RegistryData:
    repositories: dict[str, Repository] = field(default_factory=dict)
    auth: AuthConfig = field(default_factory=AuthConfig)
    page_size: int | None = None

    def repository(self, name: str) -> Repository:
        """The named repository, created empty if missing (handy for tests)."""
        return self.repositories.setdefault(name, Repository(name))

    def find(self, repository: str, reference: str) -> TagInfo | None:
        repo = self.repositories.get(repository)
        return None if repo is None else repo.resolve(reference)

    def _split_reference(self, image: str) -> tuple[str, str]:
        """(repository without registry host, tag or digest) of an image reference.

        A leading component that looks like a registry host (has ``.`` or ``:``, or is
        ``localhost``) is dropped, so ``docker.io/x/y:t`` and ``127.0.0.1:5000/x/y:t`` both name
        repository ``x/y``. A digest in the reference wins over the tag.
        """
        ref, _, digest = image.partition("@")
        name, tag = ref, "latest"
        if ref.rfind(":") > ref.rfind("/"):
            name, tag = ref.rsplit(":", 1)
        first, sep, rest = name.partition("/")
        if sep and ("." in first or ":" in first or first == "localhost"):
            name = rest
        return name, digest or tag

    def repository_of(self, image: str) -> Repository | None:
        """The repository an image reference points into, if this registry has it."""
        return self.repositories.get(self._split_reference(image)[0])

    def lookup_image(self, image: str) -> TagInfo | None:
        """The tag an image reference (``[host/]repo:tag[@digest]``) names, if known here."""
        name, reference = self._split_reference(image)
        return self.find(name, reference)

    def digest_of(self, image: str) -> str | None:
        info = self.lookup_image(image)
        return None if info is None else info.digest


def parse_config(raw: Mapping[str, Any] | str) -> RegistryData:
    """Build registry data from YAML text or a parsed mapping; bad input raises ValueError."""
    if isinstance(raw, str):
        raw = yaml.safe_load(raw) or {}
    auth_raw = raw.get("auth") or {}
    auth = AuthConfig(
        mode=str(auth_raw.get("mode", "anonymous")),
        username=str(auth_raw.get("username", "")),
        password=str(auth_raw.get("password", "")),
        token_lifetime=float(auth_raw.get("token_lifetime", 300)),
    )
    data = RegistryData(auth=auth, page_size=raw.get("page_size"))
    for repo_raw in raw.get("repositories") or []:
        repo = data.repository(str(repo_raw["name"]))
        pending_aliases: list[tuple[str, str, int]] = []
        for tag_raw in repo_raw.get("tags") or []:
            tag = str(tag_raw["tag"])
            size = int(tag_raw.get("size", 0))
            if "alias_of" in tag_raw:
                pending_aliases.append((tag, str(tag_raw["alias_of"]), size))
            else:
                repo.set_tag(tag, tag_raw.get("digest"), size)
        for tag, target, size in pending_aliases:
            if target not in repo.tags:
                raise ValueError(f"{repo.name}:{tag} aliases unknown tag {target!r}")
            repo.set_tag(tag, repo.tags[target].digest, size or repo.tags[target].size)
    return data


def demo_registry() -> RegistryData:
    """The built-in demo repository of RSP-style tags (``kubesim/data/registry.yaml``)."""
    text = resources.files("kubesim").joinpath("data/registry.yaml").read_text("utf-8")
    return parse_config(text)


def _error(status: int, code: str, message: str, detail: Any = None) -> Response:
    body = {"errors": [{"code": code, "message": message, "detail": detail}]}
    return Response.json(status, body)


@dataclass(frozen=True)
class _Route:
    kind: str  # "base" | "tags" | "manifest" | "token"
    repository: str = ""
    reference: str = ""


def _route(path: str) -> _Route | None:
    if path == TOKEN_PATH:
        return _Route("token")
    if path in (V2_PREFIX, V2_PREFIX + "/"):
        return _Route("base")
    if not path.startswith(V2_PREFIX + "/"):
        return None
    rest = path[len(V2_PREFIX) + 1 :]
    if rest.endswith("/tags/list"):
        return _Route("tags", rest[: -len("/tags/list")])
    name, sep, reference = rest.rpartition("/manifests/")
    if sep and name and reference:
        return _Route("manifest", name, reference)
    return None


class FakeRegistry:
    """HTTP handler for the fake registry. ``clock`` (seconds) decides bearer-token expiry."""

    def __init__(
        self,
        data: RegistryData | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.data = data if data is not None else demo_registry()
        self._clock = clock
        self.default_host = "127.0.0.1"
        """Host named in the realm when a request has no ``Host`` header (HTTP/1.0)."""
        self._tokens: dict[str, float] = {}  # token -> expiry on self._clock
        self.tokens_issued = 0

    # -- authentication ---------------------------------------------------------------

    def _basic_ok(self, request: Request) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except ValueError:
            return False
        username, _, password = decoded.partition(":")
        auth = self.data.auth
        return secrets.compare_digest(username, auth.username) and secrets.compare_digest(
            password, auth.password
        )

    def _bearer_ok(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        expiry = self._tokens.get(token.strip())
        if expiry is None:
            return False
        if self._clock() >= expiry:
            del self._tokens[token.strip()]
            return False
        return True

    def _challenge(self, request: Request, scope: str | None) -> Response:
        if self.data.auth.mode == "basic":
            header = f'Basic realm="{SERVICE}"'
        else:
            # Absolute, on the scheme and host the client reached us by (as a real registry
            # names its token service): a TLS client is never sent to plain HTTP.
            host = request.headers.get("host") or self.default_host
            header = f'Bearer realm="{request.scheme}://{host}{TOKEN_PATH}",service="{SERVICE}"'
            if scope:
                header += f',scope="{scope}"'
        response = _error(401, "UNAUTHORIZED", "authentication required")
        response.headers.append(("WWW-Authenticate", header))
        return response

    def _authorized(self, request: Request) -> bool:
        mode = self.data.auth.mode
        if mode == "basic":
            return self._basic_ok(request)
        if mode == "bearer":
            return self._bearer_ok(request)
        return True

    def _issue_token(self, request: Request) -> Response:
        if self.data.auth.mode != "bearer":
            return _error(404, "UNSUPPORTED", "token endpoint is disabled")
        if not self._basic_ok(request):
            response = _error(401, "UNAUTHORIZED", "invalid credentials")
            response.headers.append(("WWW-Authenticate", f'Basic realm="{SERVICE}"'))
            return response
        now = self._clock()
        lifetime = self.data.auth.token_lifetime
        # Forget expired tokens so a long-running site does not accumulate them.
        self._tokens = {t: exp for t, exp in self._tokens.items() if exp > now}
        token = secrets.token_urlsafe(24)
        self._tokens[token] = now + lifetime
        self.tokens_issued += 1
        body = {
            "token": token,
            "access_token": token,
            "expires_in": int(lifetime),
            "issued_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        return Response.json(200, body)

    # -- API --------------------------------------------------------------------------

    async def __call__(self, request: Request) -> Response:
        route = _route(request.path)
        if route is None:
            return _error(404, "NOT_FOUND", "no such route")
        if route.kind == "token":
            return self._issue_token(request)
        scope = f"repository:{route.repository}:pull" if route.repository else None
        if not self._authorized(request):
            return self._challenge(request, scope)
        if route.kind == "base":
            return Response.json(
                200, {}, headers=[("Docker-Distribution-API-Version", "registry/2.0")]
            )
        repo = self.data.repositories.get(route.repository)
        if repo is None:
            return _error(
                404,
                "NAME_UNKNOWN",
                "repository name not known to registry",
                {"name": route.repository},
            )
        if route.kind == "tags":
            return self._tags(request, repo)
        return self._manifest(request, repo, route.reference)

    def _tags(self, request: Request, repo: Repository) -> Response:
        if request.method != "GET":
            return _error(405, "UNSUPPORTED", "method not allowed")
        tags = sorted(repo.tags)
        last = request.query.get("last")
        if last:
            tags = [t for t in tags if t > last]
        limit: int | None = self.data.page_size
        if "n" in request.query:
            try:
                limit = int(request.query["n"])
            except ValueError:
                return _error(400, "PAGINATION_NUMBER_INVALID", "invalid number of results")
            if limit < 0:
                return _error(400, "PAGINATION_NUMBER_INVALID", "invalid number of results")
        headers: list[tuple[str, str]] = []
        if limit is not None and len(tags) > limit:
            tags = tags[:limit]
            if tags:
                link = (
                    f"{V2_PREFIX}/{repo.name}/tags/list?n={limit}&last={quote(tags[-1], safe='')}"
                )
                headers.append(("Link", f'<{link}>; rel="next"'))
        return Response.json(200, {"name": repo.name, "tags": tags}, headers=headers)

    def _manifest(self, request: Request, repo: Repository, reference: str) -> Response:
        if request.method == "DELETE":
            if not reference.startswith("sha256:"):
                return _error(400, "DIGEST_INVALID", "provided digest did not match")
            doomed = [t for t, info in repo.tags.items() if info.digest == reference]
            if not doomed:
                return _error(404, "MANIFEST_UNKNOWN", "manifest unknown", {"digest": reference})
            for tag in doomed:
                del repo.tags[tag]
            return Response(202)
        if request.method not in ("GET", "HEAD"):
            return _error(405, "UNSUPPORTED", "method not allowed")
        info = repo.resolve(reference)
        if info is None:
            return _error(
                404, "MANIFEST_UNKNOWN", "manifest unknown", {"name": repo.name, "tag": reference}
            )
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": MANIFEST_TYPE,
                "config": {
                    "mediaType": "application/vnd.docker.container.image.v1+json",
                    "size": 0,
                    "digest": info.digest,
                },
                "layers": [],
            }
        ).encode()
        headers = [
            ("Docker-Content-Digest", info.digest),
            ("Content-Type", MANIFEST_TYPE),
            ("Docker-Distribution-API-Version", "registry/2.0"),
        ]
        if request.method == "HEAD":
            return Response(200, b"", headers)
        return Response(200, manifest, headers)


def install(site: Any, data: RegistryData | None = None) -> FakeRegistry:
    """Mount a fake registry on ``site`` at ``/v2`` and ``/registry/token``; return it."""
    registry = FakeRegistry(data)
    site.mount(V2_PREFIX, registry)
    site.mount(TOKEN_PATH, registry)
    return registry
