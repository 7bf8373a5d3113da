"""Forwarded headers decide the ``Location`` of a new lab only when a trusted proxy sent them.

A client that could set ``X-Forwarded-Host`` itself would make the controller hand out links
to a host of its choosing; from anyone outside ``server.trustedProxies`` the headers are
dropped, and even a trusted proxy's values must be a scheme and a host, nothing else.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio

from actors.config import ConfigError
from actors.config.loading import build_config
from tests.e2e.harness import RunningController, running_controller
from tests.e2e.resilience_support import spawn_body
from tests.web.conftest import minimal_config_data

SPOOFED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example.com"}


async def _location(nublado: RunningController, headers: dict[str, str]) -> str:
    path = f"{nublado.prefix}/spawner/v1/labs/alice/create"
    async with nublado.client("alice") as alice:
        created = await alice.post(path, json=spawn_body(nublado, "alice"), headers=headers)
    assert created.status_code == 201, created.text
    return created.headers["Location"]


def _only_trusting(*networks: str) -> dict[str, Any]:
    return {"server": {"trustedProxies": list(networks)}}


async def test_forwarded_headers_from_an_untrusted_peer_are_ignored() -> None:
    async with running_controller(config_overrides=_only_trusting("10.0.0.0/8")) as nublado:
        with trio.fail_after(30):
            location = await _location(nublado, SPOOFED)
    assert location == f"{nublado.url}{nublado.prefix}/spawner/v1/labs/alice"


async def test_a_trusted_proxy_is_believed() -> None:
    async with running_controller(config_overrides=_only_trusting("127.0.0.0/8")) as nublado:
        with trio.fail_after(30):
            location = await _location(nublado, SPOOFED)
    assert location == f"https://evil.example.com{nublado.prefix}/spawner/v1/labs/alice"


async def test_malformed_forwarded_values_are_ignored_even_from_a_trusted_proxy(
    nublado: RunningController,
) -> None:
    headers = {
        "X-Forwarded-Proto": "javascript",
        "X-Forwarded-Host": "evil.example.com/phish?x=",
    }
    with trio.fail_after(30):
        location = await _location(nublado, headers)
    assert location == f"{nublado.url}{nublado.prefix}/spawner/v1/labs/alice"


def test_a_trusted_proxy_that_is_not_an_address_is_refused() -> None:
    data = minimal_config_data(**_only_trusting("10.0.0.0/8", "ingress"))
    with pytest.raises(ConfigError) as refused:
        build_config(data, {})
    assert "server.trustedProxies" in str(refused.value)
    assert "not an IP address or CIDR block" in str(refused.value)
