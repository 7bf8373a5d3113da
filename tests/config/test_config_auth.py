"""The ``auth`` section: modes, the Gafaelfawr URL and the cache lifetime."""

from __future__ import annotations

from typing import Any

import pytest

from actors.config import ConfigError, ControllerConfig, build_config
from actors.config.auth import AuthMode


def test_auth_defaults_to_ingress_mode_with_gafaelfawr_on_the_platform_host(
    minimal: dict[str, Any],
) -> None:
    config = ControllerConfig.model_validate({**minimal, "baseUrl": "https://rsp.example.org/"})
    assert config.auth.mode is AuthMode.INGRESS
    assert config.auth.gafaelfawr_url is None
    assert config.auth.gafaelfawr_base_url(config.base_url) == "https://rsp.example.org"
    assert config.auth.cache_seconds == 60.0


def test_auth_accepts_camel_and_snake_case_keys(minimal: dict[str, Any]) -> None:
    camel = {"mode": "direct", "gafaelfawrUrl": "http://gafaelfawr:8080/", "cacheSeconds": 5}
    snake = {"mode": "direct", "gafaelfawr_url": "http://gafaelfawr:8080", "cache_seconds": 5}
    for section in (camel, snake):
        auth = ControllerConfig.model_validate({**minimal, "auth": section}).auth
        assert auth.mode is AuthMode.DIRECT
        assert auth.gafaelfawr_base_url("https://ignored.example.org") == "http://gafaelfawr:8080"
        assert auth.cache_seconds == 5.0


def test_auth_serialises_with_camel_case_keys(minimal: dict[str, Any]) -> None:
    config = ControllerConfig.model_validate({**minimal, "auth": {"cacheSeconds": 0}})
    assert config.model_dump(mode="json")["auth"] == {
        "mode": "ingress",
        "gafaelfawrUrl": None,
        "cacheSeconds": 0.0,
    }


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ({"mode": "trust-everyone"}, "auth.mode:"),
        ({"gafaelfawrUrl": "gafaelfawr:8080"}, "auth.gafaelfawrUrl: must be an http"),
        ({"cacheSeconds": -1}, "auth.cacheSeconds:"),
        ({"cacheSeconds": 3600}, "auth.cacheSeconds:"),
        ({"realm": "x"}, "auth.realm: unknown key"),
    ],
)
def test_invalid_auth_settings_are_refused_naming_the_key(
    minimal: dict[str, Any], section: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        build_config({**minimal, "auth": section})
    assert any(line.startswith(problem) for line in caught.value.problems), caught.value.problems
