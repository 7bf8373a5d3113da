"""Install every simulated controller and fake service on a Site, from its configuration.

:func:`install_all` is the one call the site assembly needs. Each part reads its section of
``site.config.controllers`` (the ``controllers:`` mapping of the kubesim YAML file); a missing
section means the built-in demo data / default timings::

    controllers:
      registry:   {auth: {mode: anonymous}, repositories: [...]}   # kubesim/registry.py format
      gafaelfawr: {users: [...], tokens: [...]}                     # kubesim/gafaelfawr.py format
      repertoire: {datasets: {...}, influxdb_databases: {...}, ...} # kubesim/repertoire.py format
      slack:      {}              # the fake webhook (kubesim/slack.py) takes no settings
      nodes:      {nodes: [...]}                                    # kubesim/nodes.py format
      kubelet:    {pull_delay: 2.0, pull_delays: {"*:w_*": 5.0}, ready_delay: 0.5}
      jobs:       {retry_delay: 1.0}
      ingress:    {address: 10.10.0.1, address_delay: 0.5}
      disabled:   [gafaelfawr]    # parts not to install

Instead of inline data, ``registry``, ``gafaelfawr``, ``repertoire`` and ``nodes`` accept
``{file: <path>}`` (read synchronously; call :func:`install_all` before the site serves).
Node image digests are resolved against the registry data so that nodes and registry agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubesim import (
    artifact_registry,
    gafaelfawr,
    ingress,
    jobs,
    kubelet,
    nodes,
    registry,
    repertoire,
    slack,
)

__all__ = ["Fakes", "install_all"]

PARTS = (
    "registry",
    "artifact_registry",
    "gafaelfawr",
    "repertoire",
    "slack",
    "nodes",
    "kubelet",
    "jobs",
    "ingress",
)


@dataclass
class Fakes:
    """Handles on what :func:`install_all` installed (``None`` for disabled parts)."""

    registry: registry.FakeRegistry | None
    artifact_registry: artifact_registry.FakeArtifactRegistry | None
    gafaelfawr: gafaelfawr.FakeGafaelfawr | None
    repertoire: repertoire.FakeRepertoire | None
    slack: slack.FakeSlack | None
    kubelet: kubelet.Kubelet | None
    jobs: jobs.JobController | None
    ingress: ingress.IngressController | None


def _section(raw: Any) -> Mapping[str, Any] | str | None:
    """A config section: inline mapping, YAML text from ``{file: path}``, or None."""
    if raw is None:
        return None
    if isinstance(raw, Mapping) and set(raw) == {"file"}:
        return Path(raw["file"]).read_text("utf-8")
    if not isinstance(raw, Mapping):
        raise ValueError(f"kubesim controller section must be a mapping, not {raw!r}")
    return raw


def install_all(site: Any) -> Fakes:
    """Install the fakes and controllers on ``site`` per ``site.config.controllers``."""
    config: Mapping[str, Any] = getattr(getattr(site, "config", None), "controllers", None) or {}
    unknown = set(config) - {*PARTS, "disabled"}
    if unknown:
        raise ValueError(f"unknown kubesim controllers: {sorted(unknown)}")
    disabled = set(config.get("disabled") or [])
    seed = int(getattr(getattr(site, "config", None), "seed", 0) or 0)

    raw = _section(config.get("registry"))
    registry_data = registry.demo_registry() if raw is None else registry.parse_config(raw)
    fake_registry = None
    if "registry" not in disabled:
        fake_registry = registry.install(site, registry_data)

    fake_artifact_registry = None
    if "artifact_registry" not in disabled:
        raw = _section(config.get("artifact_registry"))
        gar_data = (
            artifact_registry.demo_artifact_registry()
            if raw is None
            else artifact_registry.parse_config(raw)
        )
        fake_artifact_registry = artifact_registry.install(site, gar_data)

    fake_gafaelfawr = None
    if "gafaelfawr" not in disabled:
        raw = _section(config.get("gafaelfawr"))
        data = gafaelfawr.demo_gafaelfawr() if raw is None else gafaelfawr.parse_config(raw)
        fake_gafaelfawr = gafaelfawr.install(site, data)

    fake_repertoire = None
    if "repertoire" not in disabled:
        raw = _section(config.get("repertoire"))
        document = repertoire.demo_repertoire() if raw is None else repertoire.parse_config(raw)
        fake_repertoire = repertoire.install(site, document)

    if config.get("slack"):
        raise ValueError("the kubesim slack section takes no settings (use {} or leave it out)")
    fake_slack = slack.install(site) if "slack" not in disabled else None

    if "nodes" not in disabled:
        raw = _section(config.get("nodes"))
        specs = (
            nodes.demo_nodes(resolve_digest=registry_data.digest_of)
            if raw is None
            else nodes.parse_nodes(raw, resolve_digest=registry_data.digest_of)
        )
        nodes.install(site, specs)

    the_kubelet = None
    if "kubelet" not in disabled:
        kubelet_config = kubelet.KubeletConfig.from_mapping(config.get("kubelet") or {})
        the_kubelet = kubelet.install(site, kubelet_config, registry=registry_data)

    job_controller = None
    if "jobs" not in disabled:
        job_controller = jobs.install(
            site, jobs.JobsConfig(**(config.get("jobs") or {})), seed=seed
        )

    ingress_controller = None
    if "ingress" not in disabled:
        ingress_config = ingress.IngressConfig(**(config.get("ingress") or {}))
        ingress_controller = ingress.install(site, ingress_config)

    return Fakes(
        fake_registry,
        fake_artifact_registry,
        fake_gafaelfawr,
        fake_repertoire,
        fake_slack,
        the_kubelet,
        job_controller,
        ingress_controller,
    )
