"""The ``metrics`` section: publishing of metrics events (spawns, active labs) to Kafka.

Three shapes, selected in this order: *mock* (``enabled: false`` and ``mock: true``, for
tests: events are kept in memory), *disabled* (``enabled: false``: events are dropped), and
*Kafka* (otherwise; ``enabled`` defaults to true). Disabled and mock accept, and do not read,
the Kafka shape's ``kafka`` and ``schemaManager`` blocks, so a Kafka block can be switched off
in place (and ``KAFKA_*`` variables left in the environment do no harm). Any other unknown
key is an error in every shape: ``kafak`` is a typo, not something to ignore.

The environment (``METRICS_*``, ``KAFKA_*``, ``SCHEMA_MANAGER_*``) can supply any of these
values; ``actors.config.loading`` merges it under the YAML before validation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import AfterValidator, AliasChoices, Discriminator, Field, Tag, model_validator

from .base import (
    ConfigModel,
    FalseFlag,
    Issue,
    TrueFlag,
    find_key,
    lax_bool,
    raise_issues,
    tag_name,
)

__all__ = [
    "DEFAULT_TOPIC_PREFIX",
    "KafkaConnection",
    "MetricsConfig",
    "MetricsDisabled",
    "MetricsEvents",
    "MetricsKafka",
    "MetricsMock",
    "SchemaManager",
]

DEFAULT_TOPIC_PREFIX = "lsst.square.metrics.events"

_APPLICATION = Field(
    min_length=1,
    validation_alias=AliasChoices("application", "appName", "app_name"),
    serialization_alias="application",
)


class MetricsEvents(ConfigModel):
    """Where events go: topics are ``<topicPrefix>.<application>``."""

    topic_prefix: str = Field(DEFAULT_TOPIC_PREFIX, min_length=1)


_KAFKA_ONLY_KEYS = frozenset({"kafka", "schemaManager"})
"""Keys only the Kafka shape reads; the other shapes accept them unread."""


class MetricsDisabled(ConfigModel):
    """No metrics: events are dropped."""

    accepted_unused_keys: ClassVar[frozenset[str]] = _KAFKA_ONLY_KEYS

    enabled: FalseFlag = False
    mock: FalseFlag = False
    application: str = _APPLICATION
    events: MetricsEvents = Field(default_factory=MetricsEvents)


class MetricsMock(ConfigModel):
    """Test metrics: events are recorded in memory for assertions, never sent."""

    accepted_unused_keys: ClassVar[frozenset[str]] = _KAFKA_ONLY_KEYS

    enabled: FalseFlag = False
    mock: TrueFlag = True
    application: str = _APPLICATION
    events: MetricsEvents = Field(default_factory=MetricsEvents)


class KafkaConnection(ConfigModel):
    """How to reach the Kafka brokers (normally from ``KAFKA_*`` environment variables).

    ``SSL`` needs the cluster CA; a client certificate and key are given together or not at
    all (without them the brokers must authenticate clients some other way).
    """

    bootstrap_servers: str = Field(min_length=1)
    security_protocol: Literal["PLAINTEXT", "SSL"] = "PLAINTEXT"
    cluster_ca_path: Path | None = None
    client_cert_path: Path | None = None
    client_key_path: Path | None = None

    @model_validator(mode="after")
    def _check_tls(self) -> Self:
        issues: list[Issue] = []
        if self.security_protocol == "SSL" and self.cluster_ca_path is None:
            issues.append((("clusterCaPath",), "required when securityProtocol is SSL"))
        if (self.client_cert_path is None) != (self.client_key_path is None):
            missing = "clientKeyPath" if self.client_key_path is None else "clientCertPath"
            issues.append(((missing,), "client certificate and key must be given together"))
        raise_issues(issues)
        return self


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")


class SchemaManager(ConfigModel):
    """The Confluent-compatible schema registry that holds the event schemas."""

    registry_url: Annotated[str, AfterValidator(_http_url)]
    suffix: str = ""


class MetricsKafka(ConfigModel):
    """Metrics events published to Kafka."""

    enabled: TrueFlag = True
    mock: FalseFlag = False
    application: str = _APPLICATION
    events: MetricsEvents = Field(default_factory=MetricsEvents)
    kafka: KafkaConnection
    schema_manager: SchemaManager


def _shape(data: Any) -> str | None:
    # Decide from `enabled` and `mock`, read leniently because environment values are text.
    if not isinstance(data, dict):
        return None
    enabled_key = find_key(data, "enabled")
    mock_key = find_key(data, "mock")
    enabled = lax_bool(data[enabled_key]) if enabled_key is not None else True
    mock = lax_bool(data[mock_key]) if mock_key is not None else False
    if enabled is False and mock:
        return tag_name("mock")
    if enabled is False:
        return tag_name("disabled")
    return tag_name("kafka")


def _metrics_tag(data: Any) -> str | None:
    if isinstance(data, MetricsMock):
        return tag_name("mock")
    if isinstance(data, MetricsDisabled):
        return tag_name("disabled")
    if isinstance(data, MetricsKafka):
        return tag_name("kafka")
    return _shape(data)


MetricsConfig = Annotated[
    Annotated[MetricsMock, Tag(tag_name("mock"))]
    | Annotated[MetricsDisabled, Tag(tag_name("disabled"))]
    | Annotated[MetricsKafka, Tag(tag_name("kafka"))],
    Discriminator(
        _metrics_tag,
        custom_error_type="invalid_metrics",
        custom_error_message="metrics must be a mapping",
    ),
]
"""The metrics section: ``MetricsMock``, ``MetricsDisabled`` or ``MetricsKafka``."""
