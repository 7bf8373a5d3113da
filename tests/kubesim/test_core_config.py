"""kubesim configuration files and the ``simulate`` command line."""

from __future__ import annotations

import pytest

from kubesim.cli import build_parser
from kubesim.site import SiteConfig


def test_config_mapping_sets_store_and_site_settings() -> None:
    config = SiteConfig.from_mapping(
        {"store": {"history_seconds": 60}, "bookmark_interval": 2, "seed": 5}
    )
    assert config.store.history_seconds == 60
    assert config.bookmark_interval == 2
    assert config.seed == 5


def test_unknown_config_keys_are_rejected() -> None:
    with pytest.raises(ValueError, match="history"):
        SiteConfig.from_mapping({"history": 60})


def test_simulate_arguments() -> None:
    args = build_parser().parse_args(["--port", "0", "--host", "0.0.0.0", "--config", "x.yaml"])
    assert (args.port, args.host, args.config) == (0, "0.0.0.0", "x.yaml")
