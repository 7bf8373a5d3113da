"""Reading the configuration file and merging in the environment.

``load_config`` is synchronous (it reads a file); async callers run it in a thread. It never
lets a pydantic or YAML exception escape: every failure becomes a ``ConfigError`` whose
message names the file and each bad key.

Environment variables supply values the YAML leaves out; a key present in the YAML always
wins, key by key (so ``metrics: {enabled: false}`` plus ``METRICS_APPLICATION=nublado``
works). Empty environment variables count as unset, because deployment templates often
render an absent value as an empty string.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .base import find_key
from .controller import DEFAULT_CONTROLLER_IMAGE, ControllerConfig
from .errors import ConfigError, config_error_from_validation
from .kubernetes import PullPolicy

__all__ = [
    "ENVIRONMENT_KEYS",
    "MergedConfig",
    "apply_environment",
    "build_config",
    "load_config",
    "read_config_file",
]

_logger = logging.getLogger(__name__)

# Each entry: environment variable -> (path of keys it fills, other spellings of the last key).
ENVIRONMENT_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "EXTERNAL_INSTANCE_URL": (("baseUrl",), ("EXTERNAL_INSTANCE_URL", "base_url")),
    "NUBLADO_SLACK_WEBHOOK": (("slackWebhook",), ("NUBLADO_SLACK_WEBHOOK", "slack_webhook")),
    "REPERTOIRE_BASE_URL": (("repertoireBaseUrl",), ()),
    "METRICS_APPLICATION": (("metrics", "application"), ("appName",)),
    "METRICS_ENABLED": (("metrics", "enabled"), ()),
    "METRICS_MOCK": (("metrics", "mock"), ()),
    "METRICS_EVENTS_TOPIC_PREFIX": (("metrics", "events", "topicPrefix"), ()),
    "KAFKA_BOOTSTRAP_SERVERS": (("metrics", "kafka", "bootstrapServers"), ()),
    "KAFKA_SECURITY_PROTOCOL": (("metrics", "kafka", "securityProtocol"), ()),
    "KAFKA_CLUSTER_CA_PATH": (("metrics", "kafka", "clusterCaPath"), ()),
    "KAFKA_CLIENT_CERT_PATH": (("metrics", "kafka", "clientCertPath"), ()),
    "KAFKA_CLIENT_KEY_PATH": (("metrics", "kafka", "clientKeyPath"), ()),
    "SCHEMA_MANAGER_REGISTRY_URL": (("metrics", "schemaManager", "registryUrl"), ()),
    "SCHEMA_MANAGER_SUFFIX": (("metrics", "schemaManager", "suffix"), ()),
}
"""Environment variables that feed configuration keys (besides ``NUBLADO_CONTROLLER_*``)."""


_SECTIONS = ("lab", "fileserver", "fsadmin", "images", "dropdownMenu", "metrics")


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML loader that refuses duplicate keys instead of keeping the last one."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse the YAML file into a mapping, or raise ``ConfigError`` naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"cannot read configuration file {path}: {reason}") from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"configuration file {path} is not valid YAML: {_yaml_reason(exc)}"
        ) from None
    if not isinstance(data, dict):
        found = "nothing" if data is None else f"a {type(data).__name__}"
        raise ConfigError(
            f"configuration file {path} must contain a mapping of keys, found {found}"
        )
    return data


def _yaml_reason(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"{exc.problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


@dataclass(frozen=True)
class MergedConfig:
    """Configuration data with the environment merged in, ready for validation."""

    data: dict[str, Any]
    """The merged data; the caller's mapping is never modified."""
    env_sources: dict[str, str]
    """Rendered key path -> environment variable that supplied it (for error messages)."""
    fallbacks: list[str]
    """Controller-image variables that were unset, so a built-in fallback applies."""


def apply_environment(data: Mapping[str, Any], environ: Mapping[str, str]) -> MergedConfig:
    """Merge environment values under ``data`` (which wins, key by key).

    A missing ``metrics`` section becomes an empty one, so its shape is chosen from the
    environment alone (with no environment either, it is the disabled shape).
    """
    merged = copy.deepcopy(dict(data))
    sources: dict[str, str] = {}
    for section in _SECTIONS:
        # A section header with nothing under it (`fsadmin:`) is YAML null; read it as {}.
        key = find_key(merged, section)
        if key is not None and merged[key] is None:
            merged[key] = {}
    if find_key(merged, "metrics") is None:
        merged["metrics"] = {}
    for variable, (path, spellings) in ENVIRONMENT_KEYS.items():
        value = environ.get(variable)
        if value and _set_if_absent(merged, path, spellings, value):
            sources[".".join(path)] = variable
    fallbacks = _apply_controller_image(merged, environ, sources)
    return MergedConfig(merged, sources, fallbacks)


def _set_if_absent(
    data: dict[str, Any], path: tuple[str, ...], spellings: tuple[str, ...], value: Any
) -> bool:
    current = data
    for part in path[:-1]:
        key = find_key(current, part)
        if key is None:
            current[part] = {}
            key = part
        if not isinstance(current[key], dict):
            return False  # the YAML has something else there; let validation report it
        current = current[key]
    if find_key(current, path[-1], *spellings) is not None:
        return False
    current[path[-1]] = value
    return True


def _pull_policy(value: str | None) -> PullPolicy:
    # Case-insensitive Always/Never; anything else (including unset) means IfNotPresent.
    for policy in (PullPolicy.ALWAYS, PullPolicy.NEVER):
        if value and value.strip().lower() == policy.value.lower():
            return policy
    return PullPolicy.IF_NOT_PRESENT


def _apply_controller_image(
    data: dict[str, Any], environ: Mapping[str, str], sources: dict[str, str]
) -> list[str]:
    # Fill controllerImage from NUBLADO_CONTROLLER_*; unset ones fall back to the model
    # default (DEFAULT_CONTROLLER_IMAGE) and are returned so the loader can warn about them.
    key = find_key(data, "controllerImage")
    if key is not None and not isinstance(data[key], dict):
        return []  # invalid in the YAML; validation will say so
    prefix = key or "controllerImage"
    image = dict(data.get(prefix) or {})
    fallbacks: list[str] = []
    for field, variable in (
        ("repository", "NUBLADO_CONTROLLER_REPOSITORY"),
        ("tag", "NUBLADO_CONTROLLER_TAG"),
    ):
        if find_key(image, field) is not None:
            continue
        if value := environ.get(variable):
            image[field] = value
            sources[f"{prefix}.{field}"] = variable
        else:
            image[field] = getattr(DEFAULT_CONTROLLER_IMAGE, field)
            fallbacks.append(variable)
    if find_key(image, "pullPolicy") is None:
        image["pullPolicy"] = _pull_policy(environ.get("NUBLADO_CONTROLLER_PULL_POLICY")).value
    data[prefix] = image
    return fallbacks


def build_config(
    data: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
    *,
    source: str | None = None,
) -> ControllerConfig:
    """Validate configuration ``data`` merged with ``environ``.

    Like ``load_config`` without the file: failures are ``ConfigError``. With ``environ``
    None no environment is used and nothing is logged; with an environment, unset
    ``NUBLADO_CONTROLLER_REPOSITORY``/``_TAG`` are logged as warnings (the built-in fallback
    image is probably not the deployed one). ``ControllerConfig.model_validate`` is the
    alternative with pydantic's own errors and no environment handling at all.
    """
    merged = apply_environment(data, environ or {})
    try:
        config = ControllerConfig.model_validate(merged.data)
    except ValidationError as exc:
        raise config_error_from_validation(
            exc, merged.data, source=source, env_sources=merged.env_sources
        ) from None
    if environ is not None:
        for variable in merged.fallbacks:
            _logger.warning(
                "%s is not set; using the fallback controller image %s",
                variable,
                config.controller_image.reference,
            )
    return config


def load_config(path: Path | str, environ: Mapping[str, str] | None = None) -> ControllerConfig:
    """Read, merge with the environment (default ``os.environ``) and validate the config."""
    path = Path(path)
    data = read_config_file(path)
    return build_config(data, os.environ if environ is None else environ, source=str(path))
