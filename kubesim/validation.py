"""Validation and defaulting applied to objects on write, as a real API server does.

Validation failures raise ``ApiError`` 422 ``Invalid`` with one ``details.causes`` entry per
bad field. Defaulting fills the fields clients rely on reading back (pod restart policy and
grace period, the Job selector and pod-template labels, a Service's cluster IP, a namespace's
``kubernetes`` finalizer and name label, ``stringData`` folded into a Secret's ``data``).
"""

from __future__ import annotations

import base64
import re
from typing import Any

from kubesim import kinds, leases
from kubesim.errors import ApiError, bad_request, invalid
from kubesim.resources import ResourceType

_LABEL_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def name_problem(rule: str, name: str) -> str | None:
    """Why ``name`` breaks ``rule`` ("label", "label1035" or "subdomain"), or ``None``."""
    if rule == "label":
        if len(name) > 63 or not _LABEL_1123.match(name):
            return (
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters"
                " or '-', start and end with an alphanumeric character, at most 63 characters"
            )
    elif rule == "label1035":
        if len(name) > 63 or not _LABEL_1035.match(name):
            return (
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-',"
                " start with a letter and end with an alphanumeric character, at most 63"
                " characters"
            )
    elif len(name) > 253 or not _SUBDOMAIN.match(name):
        return (
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters,"
            " '-' or '.', and must start and end with an alphanumeric character"
        )
    return None


def path_segment_problem(name: str) -> str | None:
    """Why ``name`` cannot be a namespace or name in an API path, or ``None``.

    As a real API server answers (400 ``BadRequest``) before looking anything up: ``.`` and
    ``..`` would be path navigation, ``/`` a separator and ``%`` an escape once decoded. Any
    other string is a legal *path* name; if no object has it, the answer is a plain 404.
    """
    if name in (".", ".."):
        return f"may not be '{name}'"
    for forbidden in ("/", "%"):
        if forbidden in name:
            return f"may not contain '{forbidden}'"
    return None


def _label_key_problem(key: str) -> str | None:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _SUBDOMAIN.match(prefix)):
        return "prefix part must be a lowercase RFC 1123 subdomain"
    if len(name) > 63 or not _LABEL_NAME.match(name):
        return "name part must be at most 63 alphanumeric characters, '-', '_' or '.'"
    return None


def check_type(res: ResourceType, obj: Any) -> dict[str, Any]:
    """Reject a body that is not an object of ``res`` (422, see docs/kubesim.md)."""
    if not isinstance(obj, dict):
        raise bad_request("the request body must be a JSON object")
    causes: list[tuple[str, str]] = []
    kind = obj.get("kind")
    if kind not in (None, "", res.kind):
        causes.append(("kind", f'Invalid value: "{kind}": must be {res.kind}'))
    api_version = obj.get("apiVersion")
    if api_version not in (None, "", res.api_version):
        causes.append(("apiVersion", f'Invalid value: "{api_version}": must be {res.api_version}'))
    metadata = obj.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        causes.append(("metadata", "Invalid value: must be an object"))
    if causes:
        name = metadata.get("name", "") if isinstance(metadata, dict) else ""
        raise invalid(res.kind, str(name), causes, res.group)
    return obj


def decode(res: ResourceType, obj: dict[str, Any]) -> None:
    """What a real server's typed decoding does before validation: refuse (400) a field of
    the wrong type or format, and normalise the fields it stores in a canonical form.

    Only Leases are decoded this closely (their times must be exact; see
    :mod:`kubesim.leases`); other kinds are stored as sent.
    """
    if res.kind == "Lease":
        leases.decode(obj)


def validate(res: ResourceType, obj: dict[str, Any]) -> None:
    """Validate metadata (name, labels, annotations) of an object about to be stored."""
    metadata = obj.get("metadata") or {}
    name = metadata.get("name") or ""
    causes: list[tuple[str, str]] = []
    if not name:
        causes.append(("metadata.name", "Required value: name or generateName is required"))
    elif (problem := name_problem(res.name_rule, name)) is not None:
        causes.append(("metadata.name", f'Invalid value: "{name}": {problem}'))
    labels = metadata.get("labels") or {}
    if not isinstance(labels, dict):
        causes.append(("metadata.labels", "Invalid value: must be a map of strings"))
        labels = {}
    for key, value in labels.items():
        if (problem := _label_key_problem(str(key))) is not None:
            causes.append(("metadata.labels", f'Invalid value: "{key}": {problem}'))
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(
                (
                    "metadata.labels",
                    f'Invalid value: "{value}": a valid label value must be an empty string'
                    " or at most 63 alphanumeric characters, '-', '_' or '.'",
                )
            )
    annotations = metadata.get("annotations") or {}
    if not isinstance(annotations, dict) or not all(
        isinstance(v, str) for v in annotations.values()
    ):
        causes.append(("metadata.annotations", "Invalid value: must be a map of strings"))
    for field in ("spec", "status", "data"):
        if field in obj and obj[field] is not None and not isinstance(obj[field], dict):
            causes.append((field, "Invalid value: must be an object"))
    if not causes:
        causes = kinds.causes(res.kind, obj)
    if causes:
        raise invalid(res.kind, name, causes, res.group)


def validate_update(res: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Refuse changes to the fields of ``res`` that cannot change once created (422)."""
    causes = kinds.update_causes(res.kind, old, new)
    if causes:
        raise invalid(res.kind, new["metadata"].get("name", ""), causes, res.group)


def _qos_class(spec: dict[str, Any]) -> str:
    containers = [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]
    requests_seen = limits_seen = False
    guaranteed = bool(containers)
    for container in containers:
        resources = container.get("resources") or {}
        requests = resources.get("requests") or {}
        limits = resources.get("limits") or {}
        requests_seen = requests_seen or bool(requests)
        limits_seen = limits_seen or bool(limits)
        for res_name in ("cpu", "memory"):
            if (
                res_name not in limits
                or requests.get(res_name, limits[res_name]) != limits[res_name]
            ):
                guaranteed = False
    if not requests_seen and not limits_seen:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def apply_defaults(
    res: ResourceType,
    obj: dict[str, Any],
    *,
    uid: str,
    cluster_ip: str,
    default_grace: int,
) -> None:
    """Fill server-side defaults on create (mutates ``obj``)."""
    metadata = obj["metadata"]
    if res.kind == "Pod":
        spec = obj.setdefault("spec", {})
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("terminationGracePeriodSeconds", default_grace)
        spec.setdefault("dnsPolicy", "ClusterFirst")
        spec.setdefault("schedulerName", "default-scheduler")
        spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
        spec.setdefault("securityContext", {})
        for container in spec.get("containers") or []:
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            container.setdefault("imagePullPolicy", "IfNotPresent")
            container.setdefault("resources", {})
        obj["status"] = {"phase": "Pending", "qosClass": _qos_class(spec)}
    elif res.kind == "Namespace":
        metadata.setdefault("labels", {})["kubernetes.io/metadata.name"] = metadata["name"]
        obj["spec"] = {"finalizers": ["kubernetes"]}
        obj["status"] = {"phase": "Active"}
    elif res.kind == "Service":
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if spec.get("clusterIP") != "None":
            spec["clusterIP"] = spec.get("clusterIP") or cluster_ip
            spec["clusterIPs"] = [spec["clusterIP"]]
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
        obj["status"] = {"loadBalancer": {}}
    elif res.kind == "Job":
        spec = obj.setdefault("spec", {})
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completions", 1)
        spec.setdefault("parallelism", 1)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        if not spec.get("manualSelector"):
            job_labels = {
                "batch.kubernetes.io/controller-uid": uid,
                "batch.kubernetes.io/job-name": metadata["name"],
                "controller-uid": uid,
                "job-name": metadata["name"],
            }
            spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
            template_meta = spec.setdefault("template", {}).setdefault("metadata", {})
            template_meta.setdefault("labels", {}).update(job_labels)
        obj["status"] = {}
    elif res.kind == "PersistentVolumeClaim":
        obj["status"] = {"phase": "Pending"}
    elif res.kind == "Secret":
        obj.setdefault("type", "Opaque")
    elif res.kind in kinds.DEFAULTED:
        kinds.apply_defaults(res.kind, obj)
    elif res.status_subresource and res.kind != "Node":
        obj["status"] = {}
    if res.kind == "Secret":
        fold_string_data(obj)


def fold_string_data(obj: dict[str, Any]) -> None:
    """Move a Secret's write-only ``stringData`` into base64 ``data``."""
    string_data = obj.pop("stringData", None)
    if string_data:
        if not isinstance(string_data, dict):
            raise ApiError(422, "Invalid", "stringData must be a map of strings")
        data = obj.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
