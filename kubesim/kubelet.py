"""The simulated scheduler + kubelet: moves pods from Pending to Running (and on to an end).

For every live pod it runs one Trio task (in the kubelet's nursery, cancelled when the pod is
deleted or gets a ``deletionTimestamp``) that walks the steps a real cluster takes, writing
``status`` through ``Store.mutate`` and emitting the same ``v1`` Events:

1. **Schedule** (only when ``spec.nodeName`` is unset): pick the fitting node (ready,
   ``nodeSelector``, NoSchedule/NoExecute taints tolerated — :func:`kubesim.nodes.fits`) with
   the fewest pods placed by this kubelet, set ``spec.nodeName`` and ``PodScheduled``; event
   ``Scheduled``. No fitting node: ``PodScheduled=False/Unschedulable`` plus a
   ``FailedScheduling`` warning, retried every ``unschedulable_retry`` seconds.
2. **Sandbox**: ``hostIP``, ``podIP``/``podIPs``, ``startTime``, waiting container statuses
   (``PodInitializing`` / ``ContainerCreating``).
3. **Init containers**, in order: pull, ``Created``, ``Started``, run ``init_duration``,
   terminated ``Completed``. Then ``Initialized=True``.
4. **Containers**: pull each image, ``Created``, ``Started``; after ``ready_delay`` the pod
   is ``Running`` with ``Ready``/``ContainersReady`` true.
5. **Exit** (optional): see the annotations below; the pod ends ``Succeeded`` (all exit 0)
   or ``Failed`` with terminated container statuses.

Image pulls: an image already listed in the node's ``status.images`` (same name, or same
digest) is not pulled (event "already present on machine") unless ``imagePullPolicy: Always``.
Otherwise ``Pulling``, a delay (``pull_delays`` glob patterns on the image reference, else
``pull_delay``), ``Pulled``, and the image is added to the node's ``status.images``
(``names: [<repo>@<digest>, <repo>:<tag>]``) — the prepuller relies on this. Digests come from
the fake registry when it knows the repository, else from :func:`kubesim.registry.derive_digest`.

A pull **fails** (``ErrImagePull`` then ``ImagePullBackOff`` after ``pull_backoff`` seconds; the
pod stays Pending, as on a real cluster) when the image matches one of ``bad_images`` (glob), or
the fake registry has the repository but not the tag/digest.

Annotations on the pod (values are strings):

- ``kubesim.nublado.io/fail: "<reason>"`` — after pulling, the containers fail to start
  (``Failed`` warning event ``Error: <reason>``, terminated reason ``StartError``, exit code
  128) and the pod phase becomes ``Failed`` with ``status.reason`` = ``<reason>``.
- ``kubesim.nublado.io/exit-after: "5s"`` — duration (``250ms``, ``5s``, ``2m``, ``1h`` or bare
  seconds) after which every running container exits ...
- ``kubesim.nublado.io/exit-code: "0"`` — ... with this code (default ``0``): pod
  ``Succeeded`` if 0, else ``Failed`` (terminated reason ``Completed`` / ``Error``).

**Deletion**: once a pod has a ``deletionTimestamp``, its running containers get a
``Killing`` event, exit ``termination_delay`` seconds later (default 1 s, as a program that
stops on SIGTERM does; terminated with code 0) and the kubelet removes the pod with a delete
without grace. If the grace period is shorter, it ends first and the pod goes then.

Containers whose ``command`` is ``["/bin/true"]`` (``true``) or ``["/bin/false"]``
(``false``) exit right after starting (after ``command_exit_delay``) with code 0 / 1, so
prepuller pods finish on their own.

Two programs of the controller image are simulated from what their pods already carry, so
the controller's objects need nothing kubesim-specific:

- ``worblehat`` (the file server; command ending in ``/worblehat``) exits with code 0 after
  ``WORBLEHAT_TIMEOUT`` seconds (its env), as the real server does when nobody uses it;
- ``nublado migrator`` (the home-directory copy) exits with code 0 after
  ``command_exit_delay``.

``pod_exits`` (a :class:`KubeletConfig` field: pod-name glob → ``{after: seconds, code: n}``)
makes every container of a matching pod exit after ``after`` seconds with ``code``; it wins
over the simulated programs (tests use it to choose a migration's exit code and duration).
The exit annotations win over everything.

While ``site.faults.kubelet_frozen`` is true no step makes progress (delays still elapse;
the next status write waits until the flag clears).

Every delay is a :class:`KubeletConfig` field (seconds, 0 means none) and uses Trio time, so
tests can use ``trio.testing.MockClock(autojump_threshold=0)``.

The kubelet reads pods and nodes uncopied (``copy_=False``: the store's own objects, which
it never mutates after publishing them) and changes them only inside ``Store.mutate``
callbacks, which work on a copy. It must never mutate a pod or node dict it holds.
"""

from __future__ import annotations

import fnmatch
import functools
import itertools
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import trio

from kubesim.errors import ApiError
from kubesim.nodes import fits, split_image
from kubesim.registry import RegistryData, derive_digest
from kubesim.store import now_timestamp

__all__ = [
    "ANNOTATION_EXIT_AFTER",
    "ANNOTATION_EXIT_CODE",
    "ANNOTATION_FAIL",
    "Kubelet",
    "KubeletConfig",
    "install",
    "parse_duration",
]

ANNOTATION_FAIL = "kubesim.nublado.io/fail"
ANNOTATION_EXIT_AFTER = "kubesim.nublado.io/exit-after"
ANNOTATION_EXIT_CODE = "kubesim.nublado.io/exit-code"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
#: How often a frozen kubelet checks whether it may continue.
FROZEN_POLL_SECONDS = 0.05
_TRUE_COMMANDS = {"/bin/true": 0, "true": 0, "/usr/bin/true": 0}
_FALSE_COMMANDS = {"/bin/false": 1, "false": 1, "/usr/bin/false": 1}


def parse_duration(text: str) -> float:
    """Seconds in ``"250ms"``, ``"5s"``, ``"2m"``, ``"1h"`` or ``"3"``; ValueError otherwise."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"invalid duration {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _now() -> str:
    return now_timestamp()


@dataclass
class KubeletConfig:
    """Delays (seconds, Trio time) and failure rules of the simulated kubelet."""

    schedule_delay: float = 0.0
    pull_delay: float = 0.0
    pull_delays: dict[str, float] = field(default_factory=dict)  # glob on image -> seconds
    create_delay: float = 0.0
    init_duration: float = 0.0
    ready_delay: float = 0.0
    command_exit_delay: float = 0.0
    pull_backoff: float = 10.0
    unschedulable_retry: float = 1.0
    bad_images: tuple[str, ...] = ("*nonexistent*", "*does-not-exist*")
    pod_exits: dict[str, tuple[float, int]] = field(default_factory=dict)  # pod-name glob
    #: Seconds a running container takes to exit once its pod is deleted (SIGTERM). A real
    #: JupyterLab or file server stops in about a second; the pod then goes at once rather
    #: than at the end of its grace period. A value at or above the grace never wins: the
    #: grace period ends first and the pod goes then (SIGKILL).
    termination_delay: float = 1.0

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> KubeletConfig:
        """Build from a config mapping (YAML ``kubelet:`` section); unknown keys are errors."""
        known = set(cls.__dataclass_fields__)
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown kubelet settings: {sorted(unknown)}")
        values = dict(raw)
        if "bad_images" in values:
            values["bad_images"] = tuple(values["bad_images"])
        if "pod_exits" in values:
            values["pod_exits"] = {str(k): _exit_rule(v) for k, v in values["pod_exits"].items()}
        if "pull_delays" in values:
            values["pull_delays"] = {str(k): float(v) for k, v in values["pull_delays"].items()}
        return cls(**values)

    def pull_delay_for(self, image: str) -> float:
        for pattern, delay in self.pull_delays.items():
            if fnmatch.fnmatchcase(image, pattern):
                return delay
        return self.pull_delay


def _exit_rule(raw: Any) -> tuple[float, int]:
    """``{after: 1.5, code: 4}`` or ``[1.5, 4]`` as (seconds, exit code)."""
    if isinstance(raw, Mapping):
        return float(raw.get("after", 0.0)), int(raw.get("code", 0))
    after, code = raw
    return float(after), int(code)


def _program_exit(container: Mapping[str, Any], default_delay: float) -> tuple[float, int] | None:
    """When a simulated controller program (worblehat, the migrator) exits, if it is one."""
    command = [str(part) for part in container.get("command") or []]
    if command and command[0].rsplit("/", 1)[-1] == "worblehat":
        env = {e.get("name"): e.get("value") for e in container.get("env") or []}
        timeout = env.get("WORBLEHAT_TIMEOUT")
        return (float(timeout), 0) if timeout else None
    if command[:2] == ["nublado", "migrator"]:
        return (default_delay, 0)
    return None


class _PullFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _container_id() -> str:
    return "containerd://" + secrets.token_hex(32)


def _set_condition(status: dict[str, Any], ctype: str, value: bool, reason: str = "") -> None:
    conditions: list[dict[str, Any]] = status.setdefault("conditions", [])
    wanted = "True" if value else "False"
    for cond in conditions:
        if cond["type"] == ctype:
            if cond["status"] != wanted:
                cond["lastTransitionTime"] = _now()
            cond["status"] = wanted
            if reason:
                cond["reason"] = reason
            else:
                cond.pop("reason", None)
            return
    cond = {"type": ctype, "status": wanted, "lastProbeTime": None, "lastTransitionTime": _now()}
    if reason:
        cond["reason"] = reason
    conditions.append(cond)


class Kubelet:
    """Runs the pod lifecycle for every pod in the site's store; see the module docstring."""

    def __init__(
        self,
        site: Any,
        config: KubeletConfig | None = None,
        registry: RegistryData | None = None,
    ) -> None:
        self.site = site
        self.store = site.store
        self.config = config or KubeletConfig()
        self.registry = registry
        self._pods_res = self.store.resource("pods")
        self._nodes_res = self.store.resource("nodes")
        self._running: dict[str, trio.CancelScope] = {}
        self._stopped: set[str] = set()  # uids of deleting pods whose containers were killed
        self._placed: dict[str, int] = {}
        self._ip_counter = itertools.count(2)

    # -- plumbing -------------------------------------------------------------------------

    def _frozen(self) -> bool:
        faults = getattr(self.site, "faults", None)
        return bool(getattr(faults, "kubelet_frozen", False))

    async def _step(self, delay: float = 0.0) -> None:
        """Wait ``delay`` seconds, then for as long as the kubelet is frozen."""
        if delay > 0:
            await trio.sleep(delay)
        else:
            await trio.lowlevel.checkpoint()
        # The fault flag is a plain attribute with no change notification, so poll it.
        while True:
            if not self._frozen():
                return
            await trio.sleep(FROZEN_POLL_SECONDS)

    def _mutate_pod(
        self, pod: dict[str, Any], fn: Callable[[dict[str, Any]], None]
    ) -> dict[str, Any]:
        meta = pod["metadata"]
        mutated: dict[str, Any] = self.store.mutate(
            self._pods_res, meta["namespace"], meta["name"], fn, copy_=False
        )
        return mutated

    def _event(
        self,
        pod: dict[str, Any],
        reason: str,
        message: str,
        *,
        warning: bool = False,
        container: str | None = None,
        init: bool = False,
        component: str = "kubelet",
    ) -> None:
        """Record an Event on the pod (on one of its containers when ``container`` is set)."""
        meta = pod["metadata"]
        involved: dict[str, Any] = {
            "kind": "Pod",
            "apiVersion": "v1",
            "namespace": meta["namespace"],
            "name": meta["name"],
            "uid": meta.get("uid", ""),
            "resourceVersion": meta.get("resourceVersion", ""),
        }
        if container is not None:
            field = "initContainers" if init else "containers"
            involved["fieldPath"] = f"spec.{field}{{{container}}}"
        self.store.record_event(
            meta["namespace"],
            involved,
            reason,
            message,
            "Warning" if warning else "Normal",
            component=component,
            copy_=False,
        )

    # -- the controller loop --------------------------------------------------------------

    async def run(self) -> None:
        """Watch pods forever, starting one lifecycle task per live, unfinished pod."""
        async with trio.open_nursery() as nursery:
            items, rv = self.store.list(self._pods_res)
            for pod in items:
                self._consider(nursery, "ADDED", pod)
            watch = self.store.watch(self._pods_res, None, resource_version=rv, copy_=False)
            async with watch as events:
                async for event in events:
                    self._consider(nursery, event.type, event.object)

    def _consider(self, nursery: trio.Nursery, etype: str, pod: dict[str, Any]) -> None:
        uid = pod["metadata"].get("uid", "")
        if etype == "DELETED" or pod["metadata"].get("deletionTimestamp"):
            scope = self._running.pop(uid, None)
            if scope is not None:
                scope.cancel()
            if uid not in self._stopped:
                self._stop_containers(pod)
                self._stopped.add(uid)
                if etype != "DELETED" and (pod.get("spec") or {}).get("nodeName"):
                    nursery.start_soon(self._containers_exit, pod)
            if etype == "DELETED":
                self._stopped.discard(uid)
            return
        if etype not in ("ADDED", "MODIFIED") or uid in self._running:
            return
        status = pod.get("status") or {}
        if status.get("phase") in ("Succeeded", "Failed") or status.get("startTime"):
            return  # finished, or already brought up by an earlier kubelet run
        scope = trio.CancelScope()
        self._running[uid] = scope
        nursery.start_soon(self._lifecycle, pod, scope)

    def _stop_containers(self, pod: dict[str, Any]) -> None:
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            if "running" in (status.get("state") or {}):
                try:
                    self._event(
                        pod,
                        "Killing",
                        f"Stopping container {status['name']}",
                        container=status["name"],
                    )
                except ApiError:
                    return

    async def _containers_exit(self, pod: dict[str, Any]) -> None:
        """A deleted pod's containers exit ``termination_delay`` after SIGTERM, then the
        kubelet removes the pod (a delete with no grace), as a real node does."""
        await self._step(self.config.termination_delay)
        meta = pod["metadata"]
        current = self.store.find(self._pods_res, meta["namespace"], meta["name"])
        if current is None or current["metadata"].get("uid") != meta.get("uid"):
            return  # the grace period ended first, or the pod went some other way
        try:
            self._mutate_pod(current, _containers_stopped)
            self.store.delete(
                self._pods_res, meta["namespace"], meta["name"], grace_period_seconds=0
            )
        except ApiError as exc:
            if exc.status != 404:
                raise

    async def _lifecycle(self, pod: dict[str, Any], scope: trio.CancelScope) -> None:
        uid = pod["metadata"].get("uid", "")
        with scope:
            try:
                await self._bring_up(pod)
            except ApiError as exc:
                if exc.status not in (404, 409):
                    raise
        if self._running.get(uid) is scope:
            del self._running[uid]

    # -- the steps ------------------------------------------------------------------------

    async def _bring_up(self, pod: dict[str, Any]) -> None:
        await self._step(self.config.schedule_delay)
        pod, node = await self._schedule(pod)
        pod = await self._start_sandbox(pod, node)
        spec = pod.get("spec") or {}
        annotations = pod["metadata"].get("annotations") or {}
        try:
            for container in spec.get("initContainers") or []:
                pod = await self._run_init_container(pod, node, container)
            pod = self._mutate_pod(pod, lambda p: _set_condition(p["status"], "Initialized", True))
            for container in spec.get("containers") or []:
                await self._pull(pod, node, container)
        except _PullFailed:
            return  # stays Pending in ImagePullBackOff, as on a real node
        if ANNOTATION_FAIL in annotations:
            self._fail_start(pod, annotations[ANNOTATION_FAIL] or "Error")
            return
        for container in spec.get("containers") or []:
            await self._step(self.config.create_delay)
            pod = self._start_container(pod, container)
        await self._step(self.config.ready_delay)
        pod = self._mutate_pod(pod, _mark_running)
        await self._run_to_exit(pod, annotations)

    async def _schedule(self, pod: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        while True:
            node_name = (pod.get("spec") or {}).get("nodeName")
            nodes, _, _, _ = self.store.list_page(self._nodes_res)
            if node_name:
                for node in nodes:
                    if node["metadata"]["name"] == node_name:
                        return pod, node
            else:
                candidates = [n for n in nodes if fits(n, pod)]
                if candidates:
                    node = min(
                        candidates,
                        key=lambda n: (
                            self._placed.get(n["metadata"]["name"], 0),
                            n["metadata"]["name"],
                        ),
                    )
                    return self._bind(pod, node), node
                self._unschedulable(pod, len(nodes))
            await self._step(self.config.unschedulable_retry)
            pod = self.store.get(
                self._pods_res, pod["metadata"]["namespace"], pod["metadata"]["name"], copy_=False
            )

    def _bind(self, pod: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
        name = node["metadata"]["name"]

        def bind(p: dict[str, Any]) -> None:
            p["spec"]["nodeName"] = name
            status = p.setdefault("status", {})
            status.setdefault("phase", "Pending")
            _set_condition(status, "PodScheduled", True)

        pod = self._mutate_pod(pod, bind)
        self._placed[name] = self._placed.get(name, 0) + 1
        meta = pod["metadata"]
        self._event(
            pod,
            "Scheduled",
            f"Successfully assigned {meta['namespace']}/{meta['name']} to {name}",
            component="default-scheduler",
        )
        return pod

    def _unschedulable(self, pod: dict[str, Any], node_count: int) -> None:
        conditions = (pod.get("status") or {}).get("conditions") or []
        if any(
            c["type"] == "PodScheduled" and c.get("reason") == "Unschedulable" for c in conditions
        ):
            return
        message = (
            f"0/{node_count} nodes are available: {node_count} node(s) didn't match Pod's "
            "node selector or had untolerated taints. preemption: 0/"
            f"{node_count} nodes are available: {node_count} Preemption is not helpful for "
            "scheduling."
        )

        def mark(p: dict[str, Any]) -> None:
            status = p.setdefault("status", {})
            status.setdefault("phase", "Pending")
            _set_condition(status, "PodScheduled", False, "Unschedulable")
            for cond in status["conditions"]:
                if cond["type"] == "PodScheduled":
                    cond["message"] = message

        self._mutate_pod(pod, mark)
        self._event(pod, "FailedScheduling", message, warning=True, component="default-scheduler")

    async def _start_sandbox(self, pod: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
        await self._step()
        addresses = (node.get("status") or {}).get("addresses") or []
        host_ip = next((a["address"] for a in addresses if a["type"] == "InternalIP"), "10.0.0.1")
        cidr = (node.get("spec") or {}).get("podCIDR", "10.244.0.0/24")
        prefix = cidr.split("/")[0].rsplit(".", 1)[0]
        pod_ip = f"{prefix}.{2 + next(self._ip_counter) % 250}"
        spec = pod.get("spec") or {}
        has_init = bool(spec.get("initContainers"))

        def sandbox(p: dict[str, Any]) -> None:
            status = p.setdefault("status", {})
            status["phase"] = "Pending"
            status["hostIP"] = host_ip
            status["hostIPs"] = [{"ip": host_ip}]
            status["podIP"] = pod_ip
            status["podIPs"] = [{"ip": pod_ip}]
            status["startTime"] = _now()
            status["qosClass"] = _qos_class(spec)
            _set_condition(status, "PodReadyToStartContainers", True)
            _set_condition(
                status,
                "Initialized",
                not has_init,
                "" if not has_init else "ContainersNotInitialized",
            )
            _set_condition(status, "Ready", False, "ContainersNotReady")
            _set_condition(status, "ContainersReady", False, "ContainersNotReady")
            _set_condition(status, "PodScheduled", True)
            waiting = "PodInitializing" if has_init else "ContainerCreating"
            status["containerStatuses"] = [
                _waiting_status(c, waiting) for c in spec.get("containers") or []
            ]
            if has_init:
                status["initContainerStatuses"] = [
                    _waiting_status(c, "PodInitializing") for c in spec["initContainers"]
                ]

        return self._mutate_pod(pod, sandbox)

    async def _run_init_container(
        self, pod: dict[str, Any], node: dict[str, Any], container: dict[str, Any]
    ) -> dict[str, Any]:
        await self._pull(pod, node, container, init=True)
        await self._step(self.config.create_delay)
        pod = self._start_container(pod, container, init=True)
        await self._step(self.config.init_duration)

        def complete(p: dict[str, Any]) -> None:
            for status in p["status"].get("initContainerStatuses") or []:
                if status["name"] == container["name"]:
                    started = status["state"].get("running", {}).get("startedAt", _now())
                    status["state"] = {
                        "terminated": {
                            "exitCode": 0,
                            "reason": "Completed",
                            "startedAt": started,
                            "finishedAt": _now(),
                            "containerID": status.get("containerID", ""),
                        }
                    }
                    status["ready"] = True
                    status["started"] = False

        return self._mutate_pod(pod, complete)

    # -- images ---------------------------------------------------------------------------

    def _resolve(self, image: str) -> tuple[str, str]:
        """(repository with host, digest) for ``image``; raises _PullFailed if unknown."""
        repository, tag, digest = split_image(image)
        if any(fnmatch.fnmatchcase(image, pattern) for pattern in self.config.bad_images):
            raise _PullFailed(f"{image}: not found")
        if self.registry is not None and self.registry.repository_of(image) is not None:
            info = self.registry.lookup_image(image)
            if info is None:
                raise _PullFailed(f"{image}: not found")
            return repository, digest or info.digest
        return repository, digest or derive_digest(repository, tag or "latest")

    def _cached(self, node: dict[str, Any], image: str, digest: str | None) -> bool:
        for entry in (node.get("status") or {}).get("images") or []:
            for name in entry.get("names") or []:
                if name == image or (digest and name.endswith("@" + digest)):
                    return True
        return False

    async def _pull(
        self,
        pod: dict[str, Any],
        node: dict[str, Any],
        container: dict[str, Any],
        *,
        init: bool = False,
    ) -> None:
        image = container["image"]
        where = {"container": container["name"], "init": init}
        node_name = node["metadata"]["name"]
        node = self.store.get(self._nodes_res, None, node_name, copy_=False)
        try:
            repository, digest = self._resolve(image)
        except _PullFailed as exc:
            resolved = None
            failure: _PullFailed | None = exc
        else:
            resolved = (repository, digest)
            failure = None
        policy = container.get("imagePullPolicy") or (
            "Always"
            if (split_image(image)[1] in (None, "latest") and "@" not in image)
            else "IfNotPresent"
        )
        if policy != "Always" and self._cached(node, image, resolved[1] if resolved else None):
            self._event(
                pod, "Pulled", f'Container image "{image}" already present on machine', **where
            )
            return
        if policy == "Never":
            message = f'Container image "{image}" is not present with pull policy of Never'
            self._event(pod, "ErrImageNeverPull", message, warning=True, **where)
            self._set_waiting(pod, container, "ErrImageNeverPull", message)
            raise _PullFailed(message)
        self._event(pod, "Pulling", f'Pulling image "{image}"', **where)
        delay = self.config.pull_delay_for(image)
        await self._step(delay)
        if failure is not None or resolved is None:
            await self._pull_failed(pod, container, image, init=init)
            raise failure or _PullFailed(image)
        size = self._image_size(image)
        self._event(
            pod,
            "Pulled",
            f'Successfully pulled image "{image}" in {delay:.3g}s ({delay:.3g}s including '
            f"waiting). Image size: {size} bytes.",
            **where,
        )
        self._add_to_node(node_name, resolved[0], resolved[1], split_image(image)[1], size)

    def _image_size(self, image: str) -> int:
        if self.registry is not None:
            info = self.registry.lookup_image(image)
            if info is not None and info.size:
                return info.size
        return 100_000_000

    def _add_to_node(
        self, node_name: str, repository: str, digest: str, tag: str | None, size: int
    ) -> None:
        by_digest = f"{repository}@{digest}"
        by_tag = f"{repository}:{tag}" if tag else None

        def add(node: dict[str, Any]) -> None:
            images: list[dict[str, Any]] = node.setdefault("status", {}).setdefault("images", [])
            for entry in images:
                names = entry.setdefault("names", [])
                if by_digest in names:
                    if by_tag and by_tag not in names:
                        names.append(by_tag)
                    return
            images.append({"names": [by_digest, *([by_tag] if by_tag else [])], "sizeBytes": size})

        self.store.mutate(self._nodes_res, None, node_name, add, copy_=False)

    async def _pull_failed(
        self, pod: dict[str, Any], container: dict[str, Any], image: str, *, init: bool
    ) -> None:
        where = {"container": container["name"], "init": init}
        detail = (
            f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull '
            f'and unpack image "{image}": failed to resolve reference "{image}": not found'
        )
        self._event(pod, "Failed", detail, warning=True, **where)
        self._event(pod, "Failed", "Error: ErrImagePull", warning=True, **where)
        self._set_waiting(pod, container, "ErrImagePull", detail)
        await self._step(self.config.pull_backoff)
        self._event(pod, "BackOff", f'Back-off pulling image "{image}"', **where)
        self._event(pod, "Failed", "Error: ImagePullBackOff", warning=True, **where)
        self._set_waiting(pod, container, "ImagePullBackOff", f'Back-off pulling image "{image}"')

    def _set_waiting(
        self, pod: dict[str, Any], container: dict[str, Any], reason: str, message: str
    ) -> None:
        def wait(p: dict[str, Any]) -> None:
            for key in ("initContainerStatuses", "containerStatuses"):
                for status in p["status"].get(key) or []:
                    if status["name"] == container["name"]:
                        status["state"] = {"waiting": {"reason": reason, "message": message}}

        self._mutate_pod(pod, wait)

    # -- containers -----------------------------------------------------------------------

    def _start_container(
        self, pod: dict[str, Any], container: dict[str, Any], *, init: bool = False
    ) -> dict[str, Any]:
        name = container["name"]
        self._event(pod, "Created", f"Created container: {name}", container=name, init=init)
        image = container["image"]
        try:
            repository, digest = self._resolve(image)
            image_id = f"{repository}@{digest}"
        except _PullFailed:
            image_id = image
        key = "initContainerStatuses" if init else "containerStatuses"

        def start(p: dict[str, Any]) -> None:
            for status in p["status"].get(key) or []:
                if status["name"] == name:
                    status["state"] = {"running": {"startedAt": _now()}}
                    status["containerID"] = _container_id()
                    status["imageID"] = image_id
                    status["started"] = True

        pod = self._mutate_pod(pod, start)
        self._event(pod, "Started", f"Started container {name}", container=name, init=init)
        return pod

    def _fail_start(self, pod: dict[str, Any], reason: str) -> None:
        containers = (pod.get("spec") or {}).get("containers") or []
        for container in containers:
            self._event(
                pod, "Failed", f"Error: {reason}", warning=True, container=container["name"]
            )

        def fail(p: dict[str, Any]) -> None:
            status = p["status"]
            for cstatus in status.get("containerStatuses") or []:
                cstatus["state"] = {
                    "terminated": {
                        "exitCode": 128,
                        "reason": "StartError",
                        "message": reason,
                        "startedAt": "1970-01-01T00:00:00Z",
                        "finishedAt": _now(),
                    }
                }
                cstatus["ready"] = False
                cstatus["started"] = False
            status["phase"] = "Failed"
            status["reason"] = reason
            status["message"] = f"Pod failed to start: {reason}"
            _set_condition(status, "Ready", False, "PodFailed")
            _set_condition(status, "ContainersReady", False, "PodFailed")

        self._mutate_pod(pod, fail)

    async def _run_to_exit(self, pod: dict[str, Any], annotations: Mapping[str, str]) -> None:
        exits: dict[str, tuple[float, int]] = {}
        containers = pod["spec"].get("containers") or []
        for container in containers:
            program = _program_exit(container, self.config.command_exit_delay)
            if program is not None:
                exits[container["name"]] = program
        for pattern, rule in self.config.pod_exits.items():
            if fnmatch.fnmatchcase(pod["metadata"]["name"], pattern):
                exits = {c["name"]: rule for c in containers}
                break
        if ANNOTATION_EXIT_AFTER in annotations:
            after = parse_duration(annotations[ANNOTATION_EXIT_AFTER])
            code = int(annotations.get(ANNOTATION_EXIT_CODE, "0"))
            exits = {c["name"]: (after, code) for c in pod["spec"].get("containers") or []}
        for container in pod["spec"].get("containers") or []:
            command = container.get("command") or []
            if len(command) == 1 and command[0] in {**_TRUE_COMMANDS, **_FALSE_COMMANDS}:
                code = {**_TRUE_COMMANDS, **_FALSE_COMMANDS}[command[0]]
                exits.setdefault(container["name"], (self.config.command_exit_delay, code))
        if not exits:
            return
        elapsed = 0.0
        for name, (after, code) in sorted(exits.items(), key=lambda item: item[1][0]):
            await self._step(max(0.0, after - elapsed))
            elapsed = max(elapsed, after)
            pod = self._mutate_pod(pod, functools.partial(_terminate, name=name, code=code))


def _waiting_status(container: Mapping[str, Any], reason: str) -> dict[str, Any]:
    return {
        "name": container["name"],
        "image": container["image"],
        "imageID": "",
        "ready": False,
        "restartCount": 0,
        "started": False,
        "state": {"waiting": {"reason": reason}},
    }


def _qos_class(spec: Mapping[str, Any]) -> str:
    containers = spec.get("containers") or []
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    for r in resources:
        limits = r.get("limits") or {}
        requests = r.get("requests") or limits
        if set(limits) < {"cpu", "memory"} or requests != limits:
            return "Burstable"
    return "Guaranteed"


def _mark_running(pod: dict[str, Any]) -> None:
    status = pod["status"]
    status["phase"] = "Running"
    for cstatus in status.get("containerStatuses") or []:
        cstatus["ready"] = True
    _set_condition(status, "Initialized", True)
    _set_condition(status, "Ready", True)
    _set_condition(status, "ContainersReady", True)


def _containers_stopped(pod: dict[str, Any]) -> None:
    """Every running container exited on SIGTERM (code 0): the pod is no longer ready."""
    status = pod.setdefault("status", {})
    statuses = [
        *(status.get("initContainerStatuses") or []),
        *(status.get("containerStatuses") or []),
    ]
    for cstatus in statuses:
        state = cstatus.get("state") or {}
        if "terminated" in state:
            continue
        started = (state.get("running") or {}).get("startedAt")
        terminated: dict[str, Any] = {
            "exitCode": 0,
            "reason": "Completed",
            "finishedAt": _now(),
            "containerID": cstatus.get("containerID", ""),
        }
        if started:
            terminated["startedAt"] = started
        cstatus["state"] = {"terminated": terminated}
        cstatus["ready"] = False
        cstatus["started"] = False
    if statuses:
        _set_condition(status, "Ready", False, "PodCompleted")
        _set_condition(status, "ContainersReady", False, "PodCompleted")


def _terminate(pod: dict[str, Any], name: str, code: int) -> None:
    status = pod["status"]
    for cstatus in status.get("containerStatuses") or []:
        if cstatus["name"] == name and "running" in cstatus["state"]:
            cstatus["state"] = {
                "terminated": {
                    "exitCode": code,
                    "reason": "Completed" if code == 0 else "Error",
                    "startedAt": cstatus["state"]["running"]["startedAt"],
                    "finishedAt": _now(),
                    "containerID": cstatus.get("containerID", ""),
                }
            }
            cstatus["ready"] = False
            cstatus["started"] = False
    statuses = status.get("containerStatuses") or []
    _set_condition(status, "Ready", False, "PodCompleted")
    _set_condition(status, "ContainersReady", False, "PodCompleted")
    if all("terminated" in s["state"] for s in statuses):
        failed = any(s["state"]["terminated"]["exitCode"] != 0 for s in statuses)
        status["phase"] = "Failed" if failed else "Succeeded"


def install(
    site: Any,
    config: KubeletConfig | None = None,
    *,
    registry: RegistryData | None = None,
) -> Kubelet:
    """Create the kubelet for ``site`` and register its loop as a site controller."""
    kubelet = Kubelet(site, config, registry)

    async def run(_site: Any = None) -> None:
        await kubelet.run()

    site.add_controller(run, name="kubelet")
    return kubelet
