"""Validation and defaulting of the kinds kubesim stores but runs no controller for.

Deployments, PodDisruptionBudgets, Leases and the RBAC kinds (Roles, ClusterRoles and their
bindings) are stored so that manifests such as ``deploy/`` can be applied with ``kubectl``
and read back. A real API server validates them by hand-written rules before storing them;
the rules reproduced here are the ones a mistaken manifest is most likely to break (required
fields, the selector a Deployment's template must match, what a binding may refer to, the
fields that cannot change). Nothing acts on these objects: a Deployment's ``status`` stays
empty, as on a cluster whose controller manager is stopped.
"""

from __future__ import annotations

from typing import Any

from kubesim import leases

Causes = list[tuple[str, str]]

RBAC_GROUP = "rbac.authorization.k8s.io"
#: The kinds :func:`apply_defaults` fills in.
DEFAULTED = frozenset({"Deployment", "PodDisruptionBudget", "RoleBinding", "ClusterRoleBinding"})
_SUBJECT_KINDS = ("ServiceAccount", "User", "Group")


def _selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a ``LabelSelector`` (matchLabels + matchExpressions) selects ``labels``."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key = expression.get("key", "")
        values = expression.get("values") or []
        operator = expression.get("operator")
        present = key in labels
        if (
            (operator == "In" and (not present or labels[key] not in values))
            or (operator == "NotIn" and present and labels[key] in values)
            or (operator == "Exists" and not present)
            or (operator == "DoesNotExist" and present)
        ):
            return False
    return True


def _selector_empty(selector: dict[str, Any]) -> bool:
    return not selector.get("matchLabels") and not selector.get("matchExpressions")


def _container_causes(spec: dict[str, Any], where: str) -> Causes:
    causes: Causes = []
    containers = spec.get("containers")
    if not containers:
        causes.append((f"{where}.containers", "Required value"))
        return causes
    for index, container in enumerate(containers):
        if not isinstance(container, dict):
            causes.append((f"{where}.containers[{index}]", "Invalid value: must be an object"))
            continue
        if not container.get("name"):
            causes.append((f"{where}.containers[{index}].name", "Required value"))
        if not container.get("image"):
            causes.append((f"{where}.containers[{index}].image", "Required value"))
    return causes


def _deployment(obj: dict[str, Any]) -> Causes:
    spec = obj.get("spec") or {}
    causes: Causes = []
    selector = spec.get("selector")
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if not isinstance(selector, dict) or _selector_empty(selector):
        causes.append(("spec.selector", "Required value"))
    elif not _selector_matches(selector, labels):
        causes.append(
            (
                "spec.template.metadata.labels",
                f"Invalid value: {labels!r}: `selector` does not match template `labels`",
            )
        )
    replicas = spec.get("replicas")
    if isinstance(replicas, int) and replicas < 0:
        causes.append(
            ("spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0")
        )
    if not spec.get("template"):
        causes.append(("spec.template", "Required value"))
    else:
        causes += _container_causes(template.get("spec") or {}, "spec.template.spec")
        restart = (template.get("spec") or {}).get("restartPolicy", "Always")
        if restart != "Always":
            causes.append(
                (
                    "spec.template.spec.restartPolicy",
                    f'Unsupported value: "{restart}": supported values: "Always"',
                )
            )
    return causes


def _rules(obj: dict[str, Any], namespaced: bool) -> Causes:
    causes: Causes = []
    for index, rule in enumerate(obj.get("rules") or []):
        where = f"rules[{index}]"
        if not isinstance(rule, dict):
            causes.append((where, "Invalid value: must be an object"))
            continue
        if not rule.get("verbs"):
            causes.append(
                (f"{where}.verbs", "Required value: verbs must contain at least one value")
            )
        urls = rule.get("nonResourceURLs") or []
        if urls and namespaced:
            causes.append(
                (
                    f"{where}.nonResourceURLs",
                    "Invalid value: namespaced rules cannot apply to non-resource URLs",
                )
            )
        if urls and (rule.get("resources") or rule.get("apiGroups")):
            causes.append(
                (
                    f"{where}.nonResourceURLs",
                    "Invalid value: rules cannot apply to both regular resources and"
                    " non-resource URLs",
                )
            )
        if not urls:
            if not rule.get("apiGroups"):
                causes.append(
                    (
                        f"{where}.apiGroups",
                        "Required value: resource rules must supply at least one api group",
                    )
                )
            if not rule.get("resources"):
                causes.append(
                    (
                        f"{where}.resources",
                        "Required value: resource rules must supply at least one resource",
                    )
                )
    return causes


def _binding(obj: dict[str, Any], cluster: bool) -> Causes:
    causes: Causes = []
    ref = obj.get("roleRef")
    allowed = ("ClusterRole",) if cluster else ("Role", "ClusterRole")
    if not isinstance(ref, dict):
        causes.append(("roleRef", "Required value"))
    else:
        if ref.get("apiGroup") != RBAC_GROUP:
            causes.append(
                (
                    "roleRef.apiGroup",
                    f'Unsupported value: "{ref.get("apiGroup", "")}": supported values:'
                    f' "{RBAC_GROUP}"',
                )
            )
        if ref.get("kind") not in allowed:
            supported = ", ".join(f'"{kind}"' for kind in allowed)
            causes.append(
                (
                    "roleRef.kind",
                    f'Unsupported value: "{ref.get("kind", "")}": supported values: {supported}',
                )
            )
        if not ref.get("name"):
            causes.append(("roleRef.name", "Required value"))
    for index, subject in enumerate(obj.get("subjects") or []):
        where = f"subjects[{index}]"
        if not isinstance(subject, dict):
            causes.append((where, "Invalid value: must be an object"))
            continue
        kind = subject.get("kind")
        if kind not in _SUBJECT_KINDS:
            causes.append(
                (
                    f"{where}.kind",
                    f'Unsupported value: "{kind or ""}": supported values: "ServiceAccount",'
                    ' "User", "Group"',
                )
            )
        if not subject.get("name"):
            causes.append((f"{where}.name", "Required value"))
        if kind == "ServiceAccount":
            if subject.get("apiGroup"):
                causes.append(
                    (
                        f"{where}.apiGroup",
                        f'Unsupported value: "{subject["apiGroup"]}": supported values: ""',
                    )
                )
            if cluster and not subject.get("namespace"):
                causes.append((f"{where}.namespace", "Required value"))
        elif kind in ("User", "Group") and subject.get("apiGroup") not in (None, "", RBAC_GROUP):
            causes.append(
                (
                    f"{where}.apiGroup",
                    f'Unsupported value: "{subject.get("apiGroup", "")}": supported values:'
                    f' "{RBAC_GROUP}"',
                )
            )
    return causes


def _disruption_budget(obj: dict[str, Any]) -> Causes:
    spec = obj.get("spec") or {}
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        return [("spec", "Invalid value: minAvailable and maxUnavailable cannot be both set")]
    return []


def causes(kind: str, obj: dict[str, Any]) -> Causes:
    """What is wrong with ``obj`` of ``kind`` beyond its metadata (empty when valid)."""
    if kind == "Deployment":
        return _deployment(obj)
    if kind in ("Role", "ClusterRole"):
        return _rules(obj, namespaced=kind == "Role")
    if kind in ("RoleBinding", "ClusterRoleBinding"):
        return _binding(obj, cluster=kind == "ClusterRoleBinding")
    if kind == "PodDisruptionBudget":
        return _disruption_budget(obj)
    if kind == "Lease":
        return leases.causes(obj)
    return []


def update_causes(kind: str, old: dict[str, Any], new: dict[str, Any]) -> Causes:
    """The fields an update may not change (a real server answers 422 for these)."""
    if kind in ("RoleBinding", "ClusterRoleBinding") and old.get("roleRef") != new.get("roleRef"):
        return [("roleRef", f"Invalid value: {new.get('roleRef')!r}: cannot change roleRef")]
    if kind == "Deployment":
        old_selector = (old.get("spec") or {}).get("selector")
        new_selector = (new.get("spec") or {}).get("selector")
        if old_selector != new_selector:
            return [
                (
                    "spec.selector",
                    f"Invalid value: {new_selector!r}: field is immutable",
                )
            ]
    return []


def pod_template_defaults(spec: dict[str, Any]) -> None:
    """The defaults a pod spec gets inside a template (the same a pod would get)."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        if not isinstance(container, dict):
            continue
        image = str(container.get("image", ""))
        latest = "@" not in image and (
            ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")
        )
        container.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})
        for port in container.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")


def apply_defaults(kind: str, obj: dict[str, Any]) -> None:
    """Server-side defaults of the kinds above (mutates ``obj``)."""
    if kind == "Deployment":
        spec = obj.setdefault("spec", {})
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        strategy = spec.setdefault("strategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxUnavailable", "25%")
            rolling.setdefault("maxSurge", "25%")
        template = spec.get("template")
        if isinstance(template, dict):
            template.setdefault("metadata", {}).setdefault("creationTimestamp", None)
            pod_template_defaults(template.setdefault("spec", {}))
        obj["status"] = {}
    elif kind == "PodDisruptionBudget":
        obj["status"] = {
            "currentHealthy": 0,
            "desiredHealthy": 0,
            "disruptionsAllowed": 0,
            "expectedPods": 0,
        }
    elif kind in ("RoleBinding", "ClusterRoleBinding"):
        for subject in obj.get("subjects") or []:
            if isinstance(subject, dict) and subject.get("kind") in ("User", "Group"):
                subject.setdefault("apiGroup", RBAC_GROUP)
