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
from .controller import DEFAULT_HELPER_IMAGE, HELPER_IMAGE_KEYS, ControllerConfig
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
"""Environment variables that feed configuration keys (besides the helper image's)."""

HELPER_IMAGE_VARIABLES = {
    "repository": ("NUBLADO_HELPER_REPOSITORY", "NUBLADO_CONTROLLER_REPOSITORY"),
    "tag": ("NUBLADO_HELPER_TAG", "NUBLADO_CONTROLLER_TAG"),
    "pullPolicy": ("NUBLADO_HELPER_PULL_POLICY", "NUBLADO_CONTROLLER_PULL_POLICY"),
}
"""Variables naming the helper image, each field's own first; the second is the reference's
name (its controller runs the helpers from its own image), still honoured when the first
is unset."""


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
    """Helper-image variables that were unset, so the built-in default applies."""


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
    fallbacks = _apply_helper_image(merged, environ, sources)
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


def _apply_helper_image(
    data: dict[str, Any], environ: Mapping[str, str], sources: dict[str, str]
) -> list[str]:
    # Fill the helper image from the environment; unset fields fall back to the model
    # default (DEFAULT_HELPER_IMAGE) and are returned so the loader can warn about them.
    keys = [key for name in HELPER_IMAGE_KEYS if (key := find_key(data, name)) is not None]
    if len(keys) > 1:
        return []  # both names in the YAML; validation will say so
    key = keys[0] if keys else HELPER_IMAGE_KEYS[0]
    if not isinstance(data.get(key, {}), dict):
        return []  # invalid in the YAML; validation will say so
    image = dict(data.get(key) or {})
    fallbacks: list[str] = []
    for field, variables in HELPER_IMAGE_VARIABLES.items():
        if find_key(image, field) is not None:
            continue
        variable = next((name for name in variables if environ.get(name)), None)
        if field == "pullPolicy":
            value = environ.get(variable) if variable else None
            image[field] = _pull_policy(value).value
        elif variable is not None:
            image[field] = environ[variable]
            sources[f"{key}.{field}"] = variable
        else:
            image[field] = getattr(DEFAULT_HELPER_IMAGE, field)
            fallbacks.append(variables[0])
    data[key] = image
    return fallbacks


def build_config(
    data: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
    *,
    source: str | None = None,
) -> ControllerConfig:
    """Validate configuration ``data`` merged with ``environ``.

    Like ``load_config`` without the file: failures are ``ConfigError``. With ``environ``
    None no environment is used and nothing is logged; with an environment, an unset
    ``NUBLADO_HELPER_REPOSITORY``/``_TAG`` is logged as a warning (the built-in default
    helper image may not be the release the site means to run).
    ``ControllerConfig.model_validate`` is the alternative with pydantic's own errors and no
    environment handling at all.
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
                "%s is not set; using the default helper image %s",
                variable,
                config.helper_image.reference,
            )
    return config


def load_config(path: Path | str, environ: Mapping[str, str] | None = None) -> ControllerConfig:
    """Read, merge with the environment (default ``os.environ``) and validate the config."""
    path = Path(path)
    data = read_config_file(path)
    return build_config(data, os.environ if environ is None else environ, source=str(path))
