"""Server-side printing: objects as ``meta.k8s.io/v1`` Tables, the way ``kubectl get`` asks.

kubectl sends ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io, ...`` and prints the
columns the server chose; without a Table it can only print NAME and AGE. The columns below
are those a real API server prints for each kind (``-o wide`` adds the priority-1 ones), with
cells computed from the stored object. A custom resource without printer columns gets NAME
and AGE, as on a real server.

Each row carries the object's metadata (``PartialObjectMetadata``, the default of the
``includeObject`` parameter), the whole object (``includeObject=Object``) or nothing
(``None``): kubectl reads the metadata for ``--show-labels``, ``-L`` and the namespace column
of ``--all-namespaces``.
"""

from __future__ import annotations

import time
from calendar import timegm
from collections.abc import Callable
from typing import Any

from kubesim.errors import bad_request

Cell = str | int
Obj = dict[str, Any]


def wants_table(accept: str) -> bool:
    """Whether an ``Accept`` header asks for a ``meta.k8s.io`` Table (v1 or v1beta1)."""
    for media_range in accept.split(","):
        params = {}
        parts = [p.strip() for p in media_range.split(";")]
        if parts[0].lower() != "application/json":
            continue
        for part in parts[1:]:
            key, _, value = part.partition("=")
            params[key.strip().lower()] = value.strip()
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io":
            return params.get("v") in ("v1", "v1beta1")
    return False


def _seconds(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        return float(timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return None


def human_duration(seconds: float) -> str:
    """A duration as kubectl shows ages: ``45s``, ``3m12s``, ``25m``, ``5h3m``, ``3d4h``."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    years, rest_days = divmod(days, 365)
    if years < 8 and rest_days:
        return f"{years}y{rest_days}d"
    return f"{years}y"


def age(stamp: str | None) -> str:
    start = _seconds(stamp)
    if start is None:
        return "<unknown>"
    return human_duration(time.time() - start)


def _meta(obj: Obj) -> Obj:
    meta: Obj = obj.get("metadata") or {}
    return meta


def _spec(obj: Obj) -> Obj:
    spec: Obj = obj.get("spec") or {}
    return spec


def _status(obj: Obj) -> Obj:
    status: Obj = obj.get("status") or {}
    return status


def _none(text: str) -> str:
    return text or "<none>"


def _labels(selector: dict[str, str] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((selector or {}).items()))


def _label_selector(selector: Obj | None) -> str:
    """A LabelSelector as kubectl writes it (``a=b,c in (d,e)``); ``<none>`` if empty."""
    selector = selector or {}
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key", ""), expression.get("operator", "")
        values = ",".join(expression.get("values") or [])
        if operator == "In":
            parts.append(f"{key} in ({values})")
        elif operator == "NotIn":
            parts.append(f"{key} notin ({values})")
        elif operator == "Exists":
            parts.append(key)
        elif operator == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts) or "<none>"


# ------------------------------------------------------------------------------ pods


def pod_status(pod: Obj) -> tuple[str, int, int, int]:
    """(STATUS, ready containers, containers, restarts) as ``kubectl get pods`` shows them."""
    spec, status = _spec(pod), _status(pod)
    total = len(spec.get("containers") or [])
    reason = status.get("reason") or status.get("phase") or ""
    restarts = ready = 0
    initializing = False
    init_specs = spec.get("initContainers") or []
    for index, cstatus in enumerate(status.get("initContainerStatuses") or []):
        restarts += int(cstatus.get("restartCount") or 0)
        state = cstatus.get("state") or {}
        terminated = state.get("terminated")
        waiting = state.get("waiting") or {}
        if terminated is not None and terminated.get("exitCode") == 0:
            continue
        initializing = True
        if terminated is not None:
            reason = "Init:" + (
                terminated.get("reason") or f"ExitCode:{terminated.get('exitCode')}"
            )
        elif waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{index}/{len(init_specs)}"
        break
    if not initializing:
        restarts = 0
        running = False
        for cstatus in reversed(status.get("containerStatuses") or []):
            restarts += int(cstatus.get("restartCount") or 0)
            state = cstatus.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None:
                reason = terminated.get("reason") or f"ExitCode:{terminated.get('exitCode')}"
            elif cstatus.get("ready") and "running" in state:
                running = True
                ready += 1
        if reason == "Completed" and running:
            conditions = status.get("conditions") or []
            is_ready = any(
                c.get("type") == "Ready" and c.get("status") == "True" for c in conditions
            )
            reason = "Running" if is_ready else "NotReady"
    if _meta(pod).get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return reason, ready, total, restarts


def _pod_row(pod: Obj) -> list[Cell]:
    reason, ready, total, restarts = pod_status(pod)
    spec, status = _spec(pod), _status(pod)
    gates = spec.get("readinessGates") or []
    if gates:
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        passed = sum(1 for g in gates if conditions.get(g.get("conditionType")) == "True")
        readiness = f"{passed}/{len(gates)}"
    else:
        readiness = "<none>"
    return [
        f"{ready}/{total}",
        reason,
        str(restarts),
        age(_meta(pod).get("creationTimestamp")),
        _none(status.get("podIP", "")),
        _none(spec.get("nodeName", "")),
        _none(status.get("nominatedNodeName", "")),
        readiness,
    ]


# ------------------------------------------------------------------------------ others


def _namespace_row(ns: Obj) -> list[Cell]:
    return [_status(ns).get("phase", ""), age(_meta(ns).get("creationTimestamp"))]


def _service_ports(spec: Obj) -> str:
    ports = []
    for port in spec.get("ports") or []:
        protocol = port.get("protocol", "TCP")
        if port.get("nodePort"):
            ports.append(f"{port.get('port')}:{port['nodePort']}/{protocol}")
        else:
            ports.append(f"{port.get('port')}/{protocol}")
    return ",".join(ports) or "<none>"


def _service_row(svc: Obj) -> list[Cell]:
    spec = _spec(svc)
    kind = spec.get("type", "ClusterIP")
    external = "<none>"
    if kind == "ExternalName":
        external = spec.get("externalName", "<none>")
    elif kind == "LoadBalancer":
        ingress = (_status(svc).get("loadBalancer") or {}).get("ingress") or []
        found = [i.get("ip") or i.get("hostname", "") for i in ingress]
        external = ",".join(found) or "<pending>"
    elif spec.get("externalIPs"):
        external = ",".join(spec["externalIPs"])
    return [
        kind,
        _none(spec.get("clusterIP", "")),
        external,
        _service_ports(spec),
        age(_meta(svc).get("creationTimestamp")),
        _none(_labels(spec.get("selector"))),
    ]


def _configmap_row(cm: Obj) -> list[Cell]:
    count = len(cm.get("data") or {}) + len(cm.get("binaryData") or {})
    return [count, age(_meta(cm).get("creationTimestamp"))]


def _secret_row(secret: Obj) -> list[Cell]:
    return [
        secret.get("type", ""),
        len(secret.get("data") or {}),
        age(_meta(secret).get("creationTimestamp")),
    ]


def _serviceaccount_row(sa: Obj) -> list[Cell]:
    return [len(sa.get("secrets") or []), age(_meta(sa).get("creationTimestamp"))]


def _node_row(node: Obj) -> list[Cell]:
    status = _status(node)
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    state = {"True": "Ready", "False": "NotReady"}.get(conditions.get("Ready") or "", "Unknown")
    if _spec(node).get("unschedulable"):
        state += ",SchedulingDisabled"
    prefix = "node-role.kubernetes.io/"
    roles = sorted(
        k[len(prefix) :] for k in _meta(node).get("labels") or {} if k.startswith(prefix)
    )
    addresses = status.get("addresses") or []
    info = status.get("nodeInfo") or {}

    def address(kind: str) -> str:
        return _none(",".join(a.get("address", "") for a in addresses if a.get("type") == kind))

    return [
        state,
        ",".join(roles) or "<none>",
        age(_meta(node).get("creationTimestamp")),
        info.get("kubeletVersion", ""),
        address("InternalIP"),
        address("ExternalIP"),
        info.get("osImage", "<unknown>"),
        info.get("kernelVersion", "<unknown>"),
        info.get("containerRuntimeVersion", "<unknown>"),
    ]


def _event_row(event: Obj) -> list[Cell]:
    involved = event.get("involvedObject") or {}
    last = event.get("lastTimestamp") or event.get("eventTime")
    first = event.get("firstTimestamp") or event.get("eventTime")
    count = int(event.get("count") or 1)
    last_seen = age(last)
    if count > 1:
        last_seen = f"{last_seen} (x{count} over {age(first)})"
    source = event.get("source") or {}
    component = source.get("component") or event.get("reportingComponent", "")
    where = f"{component}, {source['host']}" if source.get("host") else component
    return [
        last_seen,
        event.get("type", ""),
        event.get("reason", ""),
        f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
        involved.get("fieldPath", ""),
        where,
        str(event.get("message", "")).strip(),
        age(first),
        str(count),
        _meta(event).get("name", ""),
    ]


def _containers_images(template_spec: Obj) -> tuple[str, str]:
    containers = template_spec.get("containers") or []
    return (
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
    )


def _job_status(job: Obj) -> str:
    if _meta(job).get("deletionTimestamp"):
        return "Terminating"
    conditions = {c.get("type"): c.get("status") for c in _status(job).get("conditions") or []}
    for kind in ("Failed", "Complete", "Suspended", "FailureTarget", "SuccessCriteriaMet"):
        if conditions.get(kind) == "True":
            return kind
    return "Running"


def _job_row(job: Obj) -> list[Cell]:
    spec, status = _spec(job), _status(job)
    succeeded = int(status.get("succeeded") or 0)
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    elif int(spec.get("parallelism") or 1) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    start = _seconds(status.get("startTime"))
    end = _seconds(status.get("completionTime"))
    duration = "" if start is None else human_duration((end or time.time()) - start)
    containers, images = _containers_images(_spec(spec.get("template") or {}))
    return [
        _job_status(job),
        completions,
        duration,
        age(_meta(job).get("creationTimestamp")),
        containers,
        images,
        _label_selector(spec.get("selector")),
    ]


def _ingress_row(ing: Obj) -> list[Cell]:
    spec = _spec(ing)
    hosts = [r["host"] for r in spec.get("rules") or [] if r.get("host")]
    balancer = (_status(ing).get("loadBalancer") or {}).get("ingress") or []
    address = ",".join(i.get("ip") or i.get("hostname", "") for i in balancer)
    return [
        _none(spec.get("ingressClassName", "")),
        ",".join(hosts) or "*",
        address,
        "80, 443" if spec.get("tls") else "80",
        age(_meta(ing).get("creationTimestamp")),
    ]


def _quota_row(quota: Obj) -> list[Cell]:
    # From the status, as a real server prints it: what the quota controller last counted
    # (kubesim runs none, so a quota nobody gave a status shows no figures).
    status = _status(quota)
    hard = status.get("hard") or {}
    used = status.get("used") or {}
    requests: list[str] = []
    limits: list[str] = []
    for name in sorted(hard):
        entry = f"{name}: {used.get(name, '0')}/{hard[name]}"
        (limits if name.startswith("limits.") else requests).append(entry)
    return [age(_meta(quota).get("creationTimestamp")), ", ".join(requests), ", ".join(limits)]


def _netpol_row(policy: Obj) -> list[Cell]:
    return [
        _label_selector(_spec(policy).get("podSelector")),
        age(_meta(policy).get("creationTimestamp")),
    ]


_ACCESS_MODES = {
    "ReadWriteOnce": "RWO",
    "ReadOnlyMany": "ROX",
    "ReadWriteMany": "RWX",
    "ReadWriteOncePod": "RWOP",
}


def _pvc_row(pvc: Obj) -> list[Cell]:
    spec, status = _spec(pvc), _status(pvc)
    phase = status.get("phase", "")
    if _meta(pvc).get("deletionTimestamp"):
        phase = "Terminating"
    bound = bool(spec.get("volumeName"))
    modes = ",".join(_ACCESS_MODES.get(m, m) for m in status.get("accessModes") or [])
    return [
        phase,
        spec.get("volumeName", ""),
        (status.get("capacity") or {}).get("storage", "") if bound else "",
        modes if bound else "",
        spec.get("storageClassName", ""),
        spec.get("volumeAttributesClassName") or "<unset>",
        age(_meta(pvc).get("creationTimestamp")),
        spec.get("volumeMode", "Filesystem"),
    ]


def _deployment_row(deploy: Obj) -> list[Cell]:
    spec, status = _spec(deploy), _status(deploy)
    containers, images = _containers_images(_spec(spec.get("template") or {}))
    return [
        f"{int(status.get('readyReplicas') or 0)}/{int(spec.get('replicas') or 0)}",
        int(status.get("updatedReplicas") or 0),
        int(status.get("availableReplicas") or 0),
        age(_meta(deploy).get("creationTimestamp")),
        containers,
        images,
        _label_selector(spec.get("selector")),
    ]


def _pdb_row(pdb: Obj) -> list[Cell]:
    spec, status = _spec(pdb), _status(pdb)
    return [
        str(spec["minAvailable"]) if spec.get("minAvailable") is not None else "N/A",
        str(spec["maxUnavailable"]) if spec.get("maxUnavailable") is not None else "N/A",
        int(status.get("disruptionsAllowed") or 0),
        age(_meta(pdb).get("creationTimestamp")),
    ]


def _lease_row(lease: Obj) -> list[Cell]:
    holder = _spec(lease).get("holderIdentity")
    return [holder if isinstance(holder, str) else "", age(_meta(lease).get("creationTimestamp"))]


def _created_at_row(obj: Obj) -> list[Cell]:
    return [_meta(obj).get("creationTimestamp", "")]


def _binding_row(binding: Obj) -> list[Cell]:
    ref = binding.get("roleRef") or {}
    subjects = binding.get("subjects") or []

    def named(kind: str) -> str:
        return ", ".join(s.get("name", "") for s in subjects if s.get("kind") == kind)

    accounts = ", ".join(
        f"{s.get('namespace', '')}/{s.get('name', '')}"
        for s in subjects
        if s.get("kind") == "ServiceAccount"
    )
    return [
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        age(_meta(binding).get("creationTimestamp")),
        named("User"),
        named("Group"),
        accounts,
    ]


def _age_row(obj: Obj) -> list[Cell]:
    return [age(_meta(obj).get("creationTimestamp"))]


# ------------------------------------------------------------------------------ columns

#: (name, type, priority, description); the Name column comes first in every table.
Column = tuple[str, str, int, str]

_AGE: Column = ("Age", "string", 0, "Time since the object was created.")
_CONTAINERS: Column = ("Containers", "string", 1, "Names of the containers of the template.")
_IMAGES: Column = ("Images", "string", 1, "Images of the containers of the template.")
_SELECTOR: Column = ("Selector", "string", 1, "Label selector of the pods.")
_CREATED_AT: Column = ("Created At", "date", 0, "When the object was created.")

PRINTERS: dict[str, tuple[tuple[Column, ...], Callable[[Obj], list[Cell]]]] = {
    "Pod": (
        (
            ("Ready", "string", 0, "Ready containers out of all containers."),
            ("Status", "string", 0, "The pod's state, as kubectl summarises it."),
            ("Restarts", "string", 0, "Container restarts."),
            _AGE,
            ("IP", "string", 1, "The pod's IP address."),
            ("Node", "string", 1, "The node the pod is bound to."),
            ("Nominated Node", "string", 1, "The node the scheduler nominated, if any."),
            ("Readiness Gates", "string", 1, "Readiness gates met out of all gates."),
        ),
        _pod_row,
    ),
    "Namespace": ((("Status", "string", 0, "The namespace's phase."), _AGE), _namespace_row),
    "Service": (
        (
            ("Type", "string", 0, "How the service is exposed."),
            ("Cluster-IP", "string", 0, "The service's cluster IP."),
            ("External-IP", "string", 0, "External addresses of the service."),
            ("Port(s)", "string", 0, "The service's ports."),
            _AGE,
            ("Selector", "string", 1, "Label selector of the backing pods."),
        ),
        _service_row,
    ),
    "ConfigMap": ((("Data", "integer", 0, "Number of keys."), _AGE), _configmap_row),
    "Secret": (
        (
            ("Type", "string", 0, "The secret's type."),
            ("Data", "integer", 0, "Number of keys."),
            _AGE,
        ),
        _secret_row,
    ),
    "ServiceAccount": (
        (("Secrets", "integer", 0, "Number of secrets listed."), _AGE),
        _serviceaccount_row,
    ),
    "Node": (
        (
            ("Status", "string", 0, "Whether the node is ready and schedulable."),
            ("Roles", "string", 0, "The node's roles (node-role.kubernetes.io labels)."),
            _AGE,
            ("Version", "string", 0, "Kubelet version."),
            ("Internal-IP", "string", 1, "Internal address."),
            ("External-IP", "string", 1, "External address."),
            ("OS-Image", "string", 1, "Operating system image."),
            ("Kernel-Version", "string", 1, "Kernel version."),
            ("Container-Runtime", "string", 1, "Container runtime and version."),
        ),
        _node_row,
    ),
    "Event": (
        (
            ("Last Seen", "string", 0, "Time since the event was last seen."),
            ("Type", "string", 0, "Normal or Warning."),
            ("Reason", "string", 0, "Why the event happened, in one word."),
            ("Object", "string", 0, "The object the event is about."),
            ("Subobject", "string", 1, "The part of the object (a container)."),
            ("Source", "string", 1, "The component that reported the event."),
            ("Message", "string", 0, "What happened."),
            ("First Seen", "string", 1, "Time since the event was first seen."),
            ("Count", "string", 1, "How often the event happened."),
            ("Name", "string", 1, "The event's name."),
        ),
        _event_row,
    ),
    "Job": (
        (
            ("Status", "string", 0, "The job's state."),
            ("Completions", "string", 0, "Successful pods out of the pods wanted."),
            ("Duration", "string", 0, "Time the job ran (or has been running)."),
            _AGE,
            _CONTAINERS,
            _IMAGES,
            _SELECTOR,
        ),
        _job_row,
    ),
    "Ingress": (
        (
            ("Class", "string", 0, "The ingress class."),
            ("Hosts", "string", 0, "Host names routed."),
            ("Address", "string", 0, "Addresses the ingress controller published."),
            ("Ports", "string", 0, "Ports served."),
            _AGE,
        ),
        _ingress_row,
    ),
    "ResourceQuota": (
        (
            _AGE,
            ("Request", "string", 0, "Used out of allowed, for requests and counts."),
            ("Limit", "string", 0, "Used out of allowed, for limits."),
        ),
        _quota_row,
    ),
    "NetworkPolicy": (
        (("Pod-Selector", "string", 0, "The pods the policy applies to."), _AGE),
        _netpol_row,
    ),
    "PersistentVolumeClaim": (
        (
            ("Status", "string", 0, "The claim's phase."),
            ("Volume", "string", 0, "The bound volume."),
            ("Capacity", "string", 0, "Capacity of the bound volume."),
            ("Access Modes", "string", 0, "Access modes of the bound volume."),
            ("StorageClass", "string", 0, "The storage class asked for."),
            ("VolumeAttributesClass", "string", 0, "The volume attributes class."),
            _AGE,
            ("VolumeMode", "string", 1, "Filesystem or Block."),
        ),
        _pvc_row,
    ),
    "Deployment": (
        (
            ("Ready", "string", 0, "Ready replicas out of the replicas wanted."),
            ("Up-to-date", "string", 0, "Replicas running the current template."),
            ("Available", "string", 0, "Available replicas."),
            _AGE,
            _CONTAINERS,
            _IMAGES,
            _SELECTOR,
        ),
        _deployment_row,
    ),
    "PodDisruptionBudget": (
        (
            ("Min Available", "string", 0, "Pods that must stay available."),
            ("Max Unavailable", "string", 0, "Pods that may be unavailable."),
            ("Allowed Disruptions", "integer", 0, "Evictions allowed now."),
            _AGE,
        ),
        _pdb_row,
    ),
    "Lease": ((("Holder", "string", 0, "The identity holding the lease."), _AGE), _lease_row),
    "Role": ((_CREATED_AT,), _created_at_row),
    "ClusterRole": ((_CREATED_AT,), _created_at_row),
    "LimitRange": ((_CREATED_AT,), _created_at_row),
    "RoleBinding": (
        (
            ("Role", "string", 0, "The role bound."),
            _AGE,
            ("Users", "string", 1, "Users bound."),
            ("Groups", "string", 1, "Groups bound."),
            ("ServiceAccounts", "string", 1, "Service accounts bound."),
        ),
        _binding_row,
    ),
}
PRINTERS["ClusterRoleBinding"] = PRINTERS["RoleBinding"]

_DEFAULT: tuple[tuple[Column, ...], Callable[[Obj], list[Cell]]] = ((_AGE,), _age_row)
_NAME_COLUMN: Column = ("Name", "string", 0, "The object's name, unique in its namespace.")


def _row_object(obj: Obj, include: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata") or {},
    }


def include_object(query: dict[str, str]) -> str:
    """The ``includeObject`` parameter (default ``Metadata``); 400 for anything else."""
    value = query.get("includeObject") or "Metadata"
    if value not in ("None", "Metadata", "Object"):
        raise bad_request(
            f'includeObject: Unsupported value: "{value}": supported values: "Metadata",'
            ' "None", "Object"'
        )
    return value


def table(
    kind: str,
    objects: list[Obj],
    *,
    include: str = "Metadata",
    metadata: Obj | None = None,
    columns: bool = True,
) -> Obj:
    """A ``meta.k8s.io/v1`` Table of ``objects`` (all of ``kind``).

    ``columns=False`` leaves out the column definitions (the watch events after the first).
    """
    spec, row_of = PRINTERS.get(kind, _DEFAULT)
    # Events are printed by time and object; their name is a wide column at the end.
    named = kind != "Event"
    rows = []
    for obj in objects:
        cells = row_of(obj)
        row: Obj = {"cells": [_meta(obj).get("name", ""), *cells] if named else cells}
        shown = _row_object(obj, include)
        if shown is not None:
            row["object"] = shown
        rows.append(row)
    result: Obj = {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata or {},
        "columnDefinitions": [],
        "rows": rows,
    }
    if columns:
        result["columnDefinitions"] = [
            {
                "name": name,
                "type": type_,
                "format": "name" if name == "Name" and index == 0 and named else "",
                "description": description,
                "priority": priority,
            }
            for index, (name, type_, priority, description) in enumerate(
                (_NAME_COLUMN, *spec) if named else spec
            )
        ]
    return result
