"""Docker registry credentials from a ``config.json`` / ``.dockerconfigjson`` file (§2.1).

Format: ``{"auths": {"<host>": {"auth": "<base64 of username:password>", ...}}}``. Only
``auth`` is read (split at the first ``:``). Lookup for a host: the exact entry, else the
first entry ``D`` such that the host ends with ``"." + D`` (domain-wide credentials).

Secrets never leave this module in printable form: :class:`DockerCredentials` hides the
password from ``repr`` and errors name the file, never its content.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from .errors import RegistryAuthError

__all__ = ["DockerCredentialStore", "DockerCredentials"]


@dataclass(frozen=True, slots=True)
class DockerCredentials:
    """A username and password for one registry host."""

    username: str
    password: str = field(repr=False)

    @property
    def basic_authorization(self) -> str:
        """The ``Authorization`` header value for HTTP Basic authentication."""
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


class DockerCredentialStore:
    """Credentials per registry host; empty means anonymous access everywhere."""

    def __init__(self, credentials: Mapping[str, DockerCredentials] | None = None) -> None:
        self._by_host = dict(credentials or {})

    @classmethod
    def from_config(cls, data: Any, *, source: str = "credentials") -> DockerCredentialStore:
        """Build from a parsed Docker config mapping; malformed input raises
        :class:`RegistryAuthError` naming ``source`` (never the secret)."""
        if not isinstance(data, Mapping):
            raise RegistryAuthError(f"{source}: not a JSON object")
        auths = data.get("auths") or {}
        if not isinstance(auths, Mapping):
            raise RegistryAuthError(f"{source}: auths is not an object")
        result: dict[str, DockerCredentials] = {}
        for host, entry in auths.items():
            encoded = entry.get("auth") if isinstance(entry, Mapping) else None
            if not encoded:
                continue  # entries with only username/password or identity tokens are unused
            try:
                decoded = base64.b64decode(str(encoded), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise RegistryAuthError(
                    f"{source}: auth for {host} is not base64 of username:password"
                ) from None
            username, sep, password = decoded.partition(":")
            if not sep:
                raise RegistryAuthError(f"{source}: auth for {host} has no ':' separator")
            result[str(host)] = DockerCredentials(username, password)
        return cls(result)

    @classmethod
    async def load(cls, path: Path | None) -> DockerCredentialStore:
        """Read the file in a worker thread. ``None`` or a file that does not exist means
        anonymous access (the default path is only mounted where a pull secret exists)."""
        if path is None:
            return cls()
        try:
            text = await trio.to_thread.run_sync(path.read_text, "utf-8")
        except FileNotFoundError:
            return cls()
        except OSError as exc:
            raise RegistryAuthError(f"cannot read {path}: {exc.strerror}") from None
        try:
            data = json.loads(text)
        except ValueError:
            raise RegistryAuthError(f"{path}: not valid JSON") from None
        return cls.from_config(data, source=str(path))

    def for_host(self, host: str) -> DockerCredentials | None:
        """Exact host entry first, else the first domain entry the host is under."""
        exact = self._by_host.get(host)
        if exact is not None:
            return exact
        for domain, credentials in self._by_host.items():
            if host.endswith("." + domain):
                return credentials
        return None

    def __len__(self) -> int:
        return len(self._by_host)

    def __repr__(self) -> str:
        return f"DockerCredentialStore(hosts={sorted(self._by_host)})"
