"""Docker Registry HTTP API v2 client over ``httpx.AsyncClient`` (images.md §2.1).

What it does: list a repository's tags (following ``Link: <...>; rel="next"`` pagination) and
find the digest of a tag (``HEAD`` of the manifest). Every request has a 20 s timeout.

Authentication, per client (one client per registry host, kept for the process):

1. a request goes out with the cached ``Authorization`` value, if any;
2. on 401 the ``WWW-Authenticate`` challenge is answered with the host's credentials:
   ``Basic`` caches the Basic header; ``Bearer`` fetches a token from the challenge's
   ``realm`` (every challenge parameter as a query parameter, HTTP Basic credentials) and
   caches ``Bearer <token>`` until shortly before its ``expires_in``;
3. the request is retried once; a second 401 means the credentials are rejected.

Unlike upstream (quirk I3) a cached value that gets a 401 (an expired or revoked token) is
not fatal: the client re-authenticates once. A token known to have expired is refreshed
before the request instead of waiting for the 401. Challenge parameters are parsed as
RFC 7235 auth-params (quoted strings may contain commas, quirk I7).

Scheme: ``https://<registry>`` by default; ``base_url`` overrides it (``http://127.0.0.1:N``
for kubesim). The ``registry`` name is still what credentials are looked up by.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import trio

from actors.runtime.snapshot import describe_error

from .credentials import DockerCredentials, DockerCredentialStore
from .errors import DockerRegistryError, RegistryAuthError, UnknownTagError

__all__ = [
    "MANIFEST_MEDIA_TYPES",
    "REQUEST_TIMEOUT",
    "Challenge",
    "DockerRegistryClient",
    "parse_challenge",
]

REQUEST_TIMEOUT = 20.0
"""Seconds allowed for each registry or token request."""

MANIFEST_MEDIA_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/json;q=0.5",
)
"""Manifest types accepted when asking for a digest, in preference order."""

_DEFAULT_TOKEN_LIFETIME = 60.0  # what the Docker token specification says to assume
_TOKEN_CHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PARAM_RE = re.compile(
    rf"\s*(?P<key>{_TOKEN_CHARS})\s*=\s*(?:\"(?P<quoted>(?:[^\"\\]|\\.)*)\"|(?P<bare>[^,\s]*))\s*(?:,|$)",
    re.DOTALL,
)
_ESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Challenge:
    """A parsed ``WWW-Authenticate`` challenge: scheme (lower-cased) and its parameters."""

    scheme: str
    params: Mapping[str, str]


def parse_challenge(header: str) -> Challenge:
    """Parse ``Scheme k1="v1", k2=v2``; quoted values may hold commas and escapes."""
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    position = 0
    rest = rest.strip()
    while position < len(rest):
        match = _PARAM_RE.match(rest, position)
        if match is None or match.end() == position:
            break
        quoted = match["quoted"]
        value = _ESCAPE_RE.sub(r"\1", quoted) if quoted is not None else match["bare"]
        params[match["key"].lower()] = value
        position = match.end()
    return Challenge(scheme.lower(), params)


@dataclass(frozen=True, slots=True)
class _Authorization:
    header: str
    challenge: Challenge
    expires_at: float | None  # on the client's clock; None = never (Basic)


class DockerRegistryClient:
    """Talks to one registry host. Safe to share between tasks of one Trio run."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        registry: str,
        credentials: DockerCredentialStore | None = None,
        base_url: str | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.registry = registry
        self.base_url = (base_url or f"https://{registry}").rstrip("/")
        self._http = http
        self._credentials = credentials or DockerCredentialStore()
        self._clock = clock or trio.current_time
        self._authorization: _Authorization | None = None
        self._auth_lock = trio.Lock()

    # -- API -------------------------------------------------------------------------------

    async def list_tags(self, repository: str) -> set[str]:
        """Every tag of ``repository`` (the union of all pages)."""
        url = f"{self.base_url}/v2/{repository}/tags/list"
        fetched: set[str] = set()
        tags: set[str] = set()
        while True:
            if url in fetched:
                raise DockerRegistryError(
                    f"{self.registry}/{repository}: tag list pagination loops back to {url}"
                )
            fetched.add(url)
            response = await self._request("GET", url, {"Accept": "application/json"})
            if response.status_code != 200:
                raise self._failure(response, f"listing tags of {repository}")
            tags.update(self._tags_from(response, repository))
            next_url = self._next_page(response, repository)
            if next_url is None:
                return tags
            url = next_url

    async def get_digest(self, repository: str, tag: str) -> str:
        """The digest the tag points at now (``Docker-Content-Digest`` of a manifest HEAD)."""
        url = f"{self.base_url}/v2/{repository}/manifests/{tag}"
        response = await self._request("HEAD", url, {"Accept": ", ".join(MANIFEST_MEDIA_TYPES)})
        if response.status_code == 404:
            raise UnknownTagError(tag, f"{self.registry}/{repository}")
        if response.status_code != 200:
            raise self._failure(response, f"reading the manifest of {repository}:{tag}")
        digest = response.headers.get("docker-content-digest")
        if not digest:
            raise DockerRegistryError(
                f"{self.registry}/{repository}:{tag}: no Docker-Content-Digest in the reply"
            )
        return str(digest)

    # -- replies ---------------------------------------------------------------------------

    def _tags_from(self, response: httpx.Response, repository: str) -> list[str]:
        try:
            body = response.json()
        except ValueError:
            raise DockerRegistryError(
                f"{self.registry}/{repository}: tag list is not JSON", status=200
            ) from None
        tags = body.get("tags") if isinstance(body, dict) else None
        if tags is None and isinstance(body, dict) and "tags" in body:
            return []  # distribution answers "tags": null for an empty repository
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise DockerRegistryError(
                f"{self.registry}/{repository}: tag list has no list of strings", status=200
            )
        return tags

    def _next_page(self, response: httpx.Response, repository: str) -> str | None:
        link = response.links.get("next")
        if not link or not link.get("url"):
            return None
        url = str(response.url.join(link["url"]))
        if not url.startswith(self.base_url + "/"):
            raise DockerRegistryError(
                f"{self.registry}/{repository}: next page {url} is outside {self.base_url}/"
            )
        return url

    def _failure(self, response: httpx.Response, doing: str) -> DockerRegistryError:
        detail = ""
        try:
            body: Any = response.json()
            first = body["errors"][0]
            detail = f": {first.get('code')} {first.get('message')}"
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            pass
        return DockerRegistryError(
            f"{self.registry}: {doing} failed with HTTP {response.status_code}{detail}",
            status=response.status_code,
        )

    # -- transport and authentication -----------------------------------------------------

    async def _send(
        self, method: str, url: str, headers: dict[str, str], authorization: str | None
    ) -> httpx.Response:
        if authorization is not None:
            headers = {**headers, "Authorization": authorization}
        try:
            return await self._http.request(method, url, headers=headers, timeout=REQUEST_TIMEOUT)
        except httpx.HTTPError as exc:
            raise DockerRegistryError(
                f"{self.registry}: {method} {url} failed: {describe_error(exc)}"
            ) from None

    async def _request(self, method: str, url: str, headers: dict[str, str]) -> httpx.Response:
        sent = await self._usable_authorization()
        response = await self._send(method, url, headers, sent)
        if response.status_code != 401:
            return response
        async with self._auth_lock:
            current = self._authorization
            if current is not None and current.header != sent:
                retry = current.header  # another task re-authenticated meanwhile
            else:
                self._authorization = None
                retry = await self._authenticate(response)
        response = await self._send(method, url, headers, retry)
        if response.status_code == 401:
            self._authorization = None
            raise RegistryAuthError(f"{self.registry}: credentials rejected", status=401)
        return response

    async def _usable_authorization(self) -> str | None:
        """The cached header, refreshing a bearer token that has expired by our clock."""
        cached = self._authorization
        if cached is None:
            return None
        if cached.expires_at is None or self._clock() < cached.expires_at:
            return cached.header
        async with self._auth_lock:
            current = self._authorization
            if current is not None and current is not cached:
                return current.header
            self._authorization = None
            return await self._answer(cached.challenge)

    async def _authenticate(self, response: httpx.Response) -> str:
        header = response.headers.get("www-authenticate")
        if not header:
            raise RegistryAuthError(
                f"{self.registry}: HTTP 401 without a WWW-Authenticate challenge", status=401
            )
        return await self._answer(parse_challenge(header))

    async def _answer(self, challenge: Challenge) -> str:
        credentials = self._credentials.for_host(self.registry)
        if credentials is None:
            raise RegistryAuthError(
                f"{self.registry}: authentication required but no credentials are configured"
                " for this registry",
                status=401,
            )
        if challenge.scheme == "basic":
            authorization = _Authorization(credentials.basic_authorization, challenge, None)
        elif challenge.scheme == "bearer":
            authorization = await self._fetch_token(challenge, credentials)
        else:
            raise RegistryAuthError(
                f"{self.registry}: unsupported authentication scheme {challenge.scheme!r}",
                status=401,
            )
        self._authorization = authorization
        return authorization.header

    async def _fetch_token(
        self, challenge: Challenge, credentials: DockerCredentials
    ) -> _Authorization:
        realm = challenge.params.get("realm")
        if not realm:
            raise RegistryAuthError(f"{self.registry}: bearer challenge without a realm")
        try:
            response = await self._http.get(
                realm,
                params=dict(challenge.params),
                auth=(credentials.username, credentials.password),
                timeout=REQUEST_TIMEOUT,
            )
        except httpx.HTTPError as exc:
            raise RegistryAuthError(
                f"{self.registry}: token request to {realm} failed: {describe_error(exc)}"
            ) from None
        if response.status_code != 200:
            raise RegistryAuthError(
                f"{self.registry}: token request to {realm} failed with HTTP"
                f" {response.status_code}",
                status=response.status_code,
            )
        try:
            body = response.json()
            token = body.get("token") or body.get("access_token")
            lifetime = float(body.get("expires_in") or _DEFAULT_TOKEN_LIFETIME)
        except (ValueError, AttributeError, TypeError):
            token, lifetime = None, 0.0
        if not isinstance(token, str) or not token:
            raise RegistryAuthError(f"{self.registry}: token reply from {realm} has no token")
        # Refresh a little early so that a request never leaves with a token about to expire.
        margin = min(10.0, lifetime / 10)
        return _Authorization(f"Bearer {token}", challenge, self._clock() + lifetime - margin)
