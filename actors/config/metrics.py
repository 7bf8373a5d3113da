"""The ``metrics`` section: kept for compatibility, since metrics are ``GET /metrics`` now.

The reference controller publishes metrics *events* (spawn successes and failures, active
labs) to Kafka. nublado-trio does not: its metrics are a Prometheus endpoint (``GET
/metrics``, see docs/operations.md), and a configuration that asks for Kafka publishing is
refused with a message saying so, rather than accepted and silently ignored.

The section is optional. What is accepted, so that existing files load:

* *disabled* — ``enabled: false``, or no ``enabled`` key and no Kafka settings (also what a
  missing section means);
* *mock* — ``enabled: false`` and ``mock: true`` (the reference's test shape), also inert.

Both accept, and do not read, the Kafka shape's ``kafka`` and ``schemaManager`` blocks, so a
Kafka block can be switched off in place (``KAFKA_*`` variables left in the environment do no
harm). Anything else that turns Kafka on — ``enabled: true``, or Kafka settings without
``enabled: false`` — is refused. Unknown keys are errors in every shape.

The environment (``METRICS_*``, ``KAFKA_*``, ``SCHEMA_MANAGER_*``) can supply any of these
values; ``actors.config.loading`` merges it under the YAML before validation.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import AliasChoices, Discriminator, Field, Tag, model_validator

from .base import (
    ConfigModel,
    FalseFlag,
    TrueFlag,
    find_key,
    lax_bool,
    raise_issues,
    tag_name,
)

__all__ = [
    "DEFAULT_APPLICATION",
    "DEFAULT_TOPIC_PREFIX",
    "KAFKA_REFUSAL",
    "MetricsConfig",
    "MetricsDisabled",
    "MetricsEvents",
    "MetricsKafka",
    "MetricsMock",
]

DEFAULT_TOPIC_PREFIX = "lsst.square.metrics.events"
DEFAULT_APPLICATION = "nublado"

KAFKA_REFUSAL = (
    "publishing metrics events to Kafka is not supported: nublado-trio serves its metrics"
    " at GET /metrics for Prometheus to scrape (docs/operations.md); set metrics.enabled to"
    " false, or leave the metrics section out"
)

_APPLICATION = Field(
    DEFAULT_APPLICATION,
    min_length=1,
    validation_alias=AliasChoices("application", "appName", "app_name"),
    serialization_alias="application",
)


class MetricsEvents(ConfigModel):
    """Where the reference's events would go (accepted, not used)."""

    topic_prefix: str = Field(DEFAULT_TOPIC_PREFIX, min_length=1)


_KAFKA_ONLY_KEYS = frozenset({"kafka", "schemaManager"})
"""Keys only the Kafka shape reads; the other shapes accept them unread."""


class MetricsDisabled(ConfigModel):
    """No metrics events (metrics are served at ``GET /metrics`` regardless)."""

    accepted_unused_keys: ClassVar[frozenset[str]] = _KAFKA_ONLY_KEYS

    enabled: FalseFlag = False
    mock: FalseFlag = False
    application: str = _APPLICATION
    events: MetricsEvents = Field(default_factory=MetricsEvents)


class MetricsMock(ConfigModel):
    """The reference's test shape; inert here, like ``MetricsDisabled``."""

    accepted_unused_keys: ClassVar[frozenset[str]] = _KAFKA_ONLY_KEYS

    enabled: FalseFlag = False
    mock: TrueFlag = True
    application: str = _APPLICATION
    events: MetricsEvents = Field(default_factory=MetricsEvents)


class MetricsKafka(ConfigModel):
    """The Kafka shape, which is always refused with :data:`KAFKA_REFUSAL`."""

    enabled: TrueFlag = True

    @model_validator(mode="before")
    @classmethod
    def _refuse(cls, data: Any) -> Any:
        raise_issues([(("enabled",), KAFKA_REFUSAL)])
        return data


def _shape(data: Any) -> str | None:
    # Decide from `enabled`, `mock` and the Kafka keys, read leniently (environment values
    # are text).
    if not isinstance(data, dict):
        return None
    enabled_key = find_key(data, "enabled")
    mock_key = find_key(data, "mock")
    mock = lax_bool(data[mock_key]) if mock_key is not None else False
    if enabled_key is None:
        wants_kafka = any(find_key(data, key) is not None for key in _KAFKA_ONLY_KEYS)
        return tag_name("kafka") if wants_kafka else tag_name("disabled")
    enabled = lax_bool(data[enabled_key])
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
"""The metrics section: ``MetricsDisabled`` or ``MetricsMock`` (``MetricsKafka`` is refused)."""
