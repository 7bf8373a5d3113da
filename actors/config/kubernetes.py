"""Kubernetes sub-schemas shared by the lab, file server and fsadmin sections.

Keys follow Kubernetes' own spelling (which is also the camelCase form of the field names),
so an operator can paste a snippet from a pod spec. The affinity rules that the API server
would reject at pod-creation time are checked here instead, so a bad configuration fails at
startup rather than on the first spawn.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, Self

from pydantic import AliasChoices, Field, model_validator

from .base import ConfigModel, Issue, raise_issues
from .units import Cpu, Memory

__all__ = [
    "Affinity",
    "ContainerImage",
    "LabelSelector",
    "LabelSelectorRequirement",
    "NodeAffinity",
    "NodeSelector",
    "NodeSelectorRequirement",
    "NodeSelectorTerm",
    "PodAffinity",
    "PodAffinityTerm",
    "PreferredSchedulingTerm",
    "PullPolicy",
    "ResourceAmounts",
    "Resources",
    "TaintEffect",
    "Toleration",
    "TolerationOperator",
    "WeightedPodAffinityTerm",
]

_REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"
_PREFERRED = "preferredDuringSchedulingIgnoredDuringExecution"


class NodeSelectorRequirement(ConfigModel):
    """One expression on node labels (``matchExpressions``) or fields (``matchFields``)."""

    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]
    values: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_values(self) -> Self:
        raise_issues(_operator_value_issues(self.operator, self.values, numeric=True))
        return self


class LabelSelectorRequirement(ConfigModel):
    """One expression on object labels inside a ``LabelSelector``."""

    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_values(self) -> Self:
        raise_issues(_operator_value_issues(self.operator, self.values, numeric=False))
        return self


def _operator_value_issues(operator: str, values: list[str], *, numeric: bool) -> list[Issue]:
    if operator in ("In", "NotIn") and not values:
        return [(("values",), f"operator {operator} needs at least one value")]
    if operator in ("Exists", "DoesNotExist") and values:
        return [(("values",), f"operator {operator} takes no values")]
    if numeric and operator in ("Gt", "Lt"):
        if len(values) != 1:
            return [(("values",), f"operator {operator} needs exactly one value")]
        try:
            int(values[0])
        except ValueError:
            return [(("values", 0), f"operator {operator} needs an integer value")]
    return []


class NodeSelectorTerm(ConfigModel):
    """Node selector term: all expressions must match."""

    match_expressions: list[NodeSelectorRequirement] = Field(default_factory=list)
    match_fields: list[NodeSelectorRequirement] = Field(default_factory=list)


class NodeSelector(ConfigModel):
    """Required node affinity: a node must match any one of the terms."""

    node_selector_terms: list[NodeSelectorTerm]


class PreferredSchedulingTerm(ConfigModel):
    """Preferred node affinity term with its weight (Kubernetes allows 1 to 100)."""

    weight: int = Field(ge=1, le=100)
    preference: NodeSelectorTerm


class NodeAffinity(ConfigModel):
    """Node affinity; ``required``/``preferred`` are accepted as short keys."""

    required_during_scheduling_ignored_during_execution: NodeSelector | None = Field(
        None,
        validation_alias=AliasChoices(
            _REQUIRED, "required", "required_during_scheduling_ignored_during_execution"
        ),
        serialization_alias=_REQUIRED,
    )
    preferred_during_scheduling_ignored_during_execution: list[PreferredSchedulingTerm] = Field(
        default_factory=list,
        validation_alias=AliasChoices(
            _PREFERRED, "preferred", "preferred_during_scheduling_ignored_during_execution"
        ),
        serialization_alias=_PREFERRED,
    )


class LabelSelector(ConfigModel):
    """Selects objects by labels: every ``matchLabels`` entry and expression must hold."""

    match_labels: dict[str, str] = Field(default_factory=dict)
    match_expressions: list[LabelSelectorRequirement] = Field(default_factory=list)


class PodAffinityTerm(ConfigModel):
    """Pods (selected by labels, in some namespaces) that share a topology domain."""

    label_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    namespaces: list[str] = Field(default_factory=list)
    topology_key: str = Field(min_length=1)


class WeightedPodAffinityTerm(ConfigModel):
    """Preferred pod (anti-)affinity term with its weight, 1 to 100."""

    weight: int = Field(ge=1, le=100)
    pod_affinity_term: PodAffinityTerm


class PodAffinity(ConfigModel):
    """Pod affinity or anti-affinity (same shape); short keys accepted as for nodes."""

    required_during_scheduling_ignored_during_execution: list[PodAffinityTerm] = Field(
        default_factory=list,
        validation_alias=AliasChoices(
            _REQUIRED, "required", "required_during_scheduling_ignored_during_execution"
        ),
        serialization_alias=_REQUIRED,
    )
    preferred_during_scheduling_ignored_during_execution: list[WeightedPodAffinityTerm] = Field(
        default_factory=list,
        validation_alias=AliasChoices(
            _PREFERRED, "preferred", "preferred_during_scheduling_ignored_during_execution"
        ),
        serialization_alias=_PREFERRED,
    )


class Affinity(ConfigModel):
    """Kubernetes pod affinity as used by lab, file server and fsadmin pods."""

    node_affinity: NodeAffinity | None = None
    pod_affinity: PodAffinity | None = None
    pod_anti_affinity: PodAffinity | None = None


class TaintEffect(StrEnum):
    """Taint effects a toleration may name."""

    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    NO_EXECUTE = "NoExecute"


class TolerationOperator(StrEnum):
    """How a toleration matches a taint's value."""

    EQUAL = "Equal"
    EXISTS = "Exists"


class Toleration(ConfigModel):
    """A toleration of node taints.

    ``effect`` null tolerates every effect; ``Exists`` with no (or an empty) key tolerates
    every taint. ``Equal`` needs both a key and a value. ``tolerationSeconds`` only matters
    for ``NoExecute`` and makes the toleration temporary (never prepull-eligible).
    """

    effect: TaintEffect | None = None
    key: str | None = None
    operator: TolerationOperator = TolerationOperator.EQUAL
    value: str | None = None
    toleration_seconds: int | None = None

    @model_validator(mode="after")
    def _check_operator(self) -> Self:
        issues: list[Issue] = []
        if self.operator is TolerationOperator.EQUAL:
            if not self.key:
                issues.append((("key",), "a key is required with operator Equal"))
            if not self.value:
                issues.append((("value",), "a value is required with operator Equal"))
        elif self.value:
            issues.append((("value",), "must be empty with operator Exists"))
        raise_issues(issues)
        return self


class ResourceAmounts(ConfigModel):
    """CPU and memory amounts of one side (limits or requests) of a resources block."""

    cpu: Cpu
    memory: Memory


class Resources(ConfigModel):
    """Container resources; all four amounts are required and requests must fit in limits."""

    limits: ResourceAmounts
    requests: ResourceAmounts

    @model_validator(mode="after")
    def _requests_within_limits(self) -> Self:
        issues: list[Issue] = []
        if self.requests.cpu > self.limits.cpu:
            issues.append((("requests", "cpu"), "must not exceed limits.cpu"))
        if self.requests.memory > self.limits.memory:
            issues.append((("requests", "memory"), "must not exceed limits.memory"))
        raise_issues(issues)
        return self


class PullPolicy(StrEnum):
    """Kubernetes image pull policy."""

    ALWAYS = "Always"
    IF_NOT_PRESENT = "IfNotPresent"
    NEVER = "Never"


class ContainerImage(ConfigModel):
    """An image reference split into repository and tag, plus how to pull it.

    Numbers are accepted for the tag (YAML reads ``tag: 1.4`` as a float) and kept as
    written in text.
    """

    model_config = ConfigModel.model_config | {"coerce_numbers_to_str": True}

    repository: str = Field(min_length=1)
    tag: str = Field(min_length=1)
    pull_policy: PullPolicy = PullPolicy.IF_NOT_PRESENT

    @property
    def reference(self) -> str:
        """The ``<repository>:<tag>`` string a pod spec uses."""
        return f"{self.repository}:{self.tag}"
