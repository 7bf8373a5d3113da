"""The simulated Job controller (``batch/v1``): one pod per Job, status from the pod's end.

For each Job without an active pod it creates ``<job>-<5 chars>`` (characters from the
Kubernetes name-generation alphabet, drawn from a seeded RNG so runs repeat) from
``spec.template``, with

- labels: the template's plus ``job-name``/``batch.kubernetes.io/job-name`` (the Job's name)
  and ``controller-uid``/``batch.kubernetes.io/controller-uid`` (the Job's uid);
- ``ownerReferences``: the Job, ``controller: true``, ``blockOwnerDeletion: true``.

The Job's status then shows ``startTime`` and ``active: 1`` (a ``SuccessfulCreate`` event
records the pod). When the pod ends:

- ``Succeeded`` → ``succeeded: 1``, ``completionTime``, conditions ``SuccessCriteriaMet`` and
  ``Complete`` (event ``Completed``);
- ``Failed`` → ``failed`` grows; while ``failed <= spec.backoffLimit`` (default 6) a new pod is
  created after ``retry_delay`` seconds, else conditions ``FailureTarget`` and ``Failed`` with
  reason ``BackoffLimitExceeded`` (event ``BackoffLimitExceeded``).

A pod deleted while active counts as failed, as the real controller counts it. Simplified:
``completions``/``parallelism`` are taken as 1, ``suspend``, ``activeDeadlineSeconds``, pod
failure policies and TTL are ignored. Cascading deletion of the pods is the store's owner-
reference garbage collector, not this controller.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import trio

from kubesim.errors import ApiError
from kubesim.jsoncopy import json_copy
from kubesim.store import now_timestamp

__all__ = ["JobController", "JobsConfig", "install"]

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
DEFAULT_BACKOFF_LIMIT = 6


@dataclass
class JobsConfig:
    """Timing of the simulated Job controller (seconds, Trio time)."""

    retry_delay: float = 1.0


def _owned_by_job(pod: dict[str, Any]) -> tuple[str, str] | None:
    """(namespace, job name) of the Job controlling ``pod``, if any."""
    for ref in pod["metadata"].get("ownerReferences") or []:
        if ref.get("kind") == "Job" and ref.get("controller"):
            return pod["metadata"]["namespace"], ref["name"]
    return None


def _set_condition(status: dict[str, Any], ctype: str, reason: str, message: str) -> None:
    now = now_timestamp()
    conditions: list[dict[str, Any]] = status.setdefault("conditions", [])
    conditions.append(
        {
            "type": ctype,
            "status": "True",
            "reason": reason,
            "message": message,
            "lastProbeTime": now,
            "lastTransitionTime": now,
        }
    )


class JobController:
    """Keeps each Job's single pod and status in line; see the module docstring."""

    def __init__(self, site: Any, config: JobsConfig | None = None, *, seed: int = 0) -> None:
        self.site = site
        self.store = site.store
        self.config = config or JobsConfig()
        self._rng = random.Random(seed)
        self._jobs = self.store.resource("jobs", "batch")
        self._pods = self.store.resource("pods")
        # (namespace, job) -> name of its current active pod
        self._active: dict[tuple[str, str], str] = {}

    async def run(self) -> None:
        async with (
            trio.open_nursery() as nursery,
            # Both consumers only read the events (pods and jobs change through mutate).
            self.store.watch(self._pods, copy_=False) as pod_events,
            self.store.watch(self._jobs, copy_=False) as job_events,
        ):
            nursery.start_soon(self._watch_pods, pod_events, nursery)
            async for event in job_events:
                if event.type == "DELETED":
                    meta = event.object["metadata"]
                    self._active.pop((meta["namespace"], meta["name"]), None)
                elif event.type == "ADDED":
                    self._ensure_pod(event.object)

    async def _watch_pods(self, events: Any, nursery: trio.Nursery) -> None:
        async for event in events:
            key = _owned_by_job(event.object)
            if key is None or self._active.get(key) != event.object["metadata"]["name"]:
                continue
            phase = (event.object.get("status") or {}).get("phase")
            if event.type == "DELETED" and phase not in ("Succeeded", "Failed"):
                phase = "Failed"
            if phase in ("Succeeded", "Failed"):
                del self._active[key]
                self._pod_finished(key, phase, nursery)

    def _job(self, key: tuple[str, str]) -> dict[str, Any] | None:
        try:
            job: dict[str, Any] = self.store.get(self._jobs, key[0], key[1])
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return job

    def _ensure_pod(self, job: dict[str, Any]) -> None:
        meta = job["metadata"]
        key = (meta["namespace"], meta["name"])
        status = job.get("status") or {}
        if key in self._active or meta.get("deletionTimestamp"):
            return
        if any(c.get("type") in ("Complete", "Failed") for c in status.get("conditions") or []):
            return
        pod = self._pod_for(job)
        try:
            created = self.store.create(self._pods, meta["namespace"], pod)
        except ApiError as exc:
            if exc.status in (403, 404, 409):  # namespace terminating or gone
                return
            raise
        self._active[key] = created["metadata"]["name"]

        def started(j: dict[str, Any]) -> None:
            s = j.setdefault("status", {})
            s.setdefault("startTime", now_timestamp())
            s["active"] = 1
            s.setdefault("ready", 0)

        self.store.mutate(self._jobs, meta["namespace"], meta["name"], started)
        self.store.record_event(
            meta["namespace"],
            job,
            "SuccessfulCreate",
            f"Created pod: {created['metadata']['name']}",
            component="job-controller",
        )

    def _pod_for(self, job: dict[str, Any]) -> dict[str, Any]:
        meta = job["metadata"]
        template = json_copy(job.get("spec", {}).get("template") or {})
        pod_meta = template.get("metadata") or {}
        suffix = "".join(self._rng.choice(_ALPHABET) for _ in range(5))
        labels = dict(pod_meta.get("labels") or {})
        labels.update(
            {
                "job-name": meta["name"],
                "batch.kubernetes.io/job-name": meta["name"],
                "controller-uid": meta["uid"],
                "batch.kubernetes.io/controller-uid": meta["uid"],
            }
        )
        pod_metadata: dict[str, Any] = {
            "name": f"{meta['name']}-{suffix}",
            "namespace": meta["namespace"],
            "labels": labels,
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        }
        if pod_meta.get("annotations"):
            pod_metadata["annotations"] = dict(pod_meta["annotations"])
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": pod_metadata,
            "spec": template.get("spec") or {},
        }

    def _pod_finished(self, key: tuple[str, str], phase: str, nursery: trio.Nursery) -> None:
        job = self._job(key)
        if job is None or job["metadata"].get("deletionTimestamp"):
            return
        limit = job.get("spec", {}).get("backoffLimit", DEFAULT_BACKOFF_LIMIT)
        failed = (job.get("status") or {}).get("failed", 0) + (phase == "Failed")
        retry = phase == "Failed" and failed <= limit
        event: tuple[str, str, str] | None = None

        def update(j: dict[str, Any]) -> None:
            nonlocal event
            s = j.setdefault("status", {})
            s["active"] = 0
            s["ready"] = 0
            if phase == "Succeeded":
                s["succeeded"] = s.get("succeeded", 0) + 1
                s["completionTime"] = now_timestamp()
                _set_condition(
                    s,
                    "SuccessCriteriaMet",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                )
                _set_condition(
                    s, "Complete", "CompletionsReached", "Reached expected number of succeeded pods"
                )
                event = ("Normal", "Completed", "Job completed")
            else:
                s["failed"] = failed
                if not retry:
                    message = "Job has reached the specified backoff limit"
                    _set_condition(s, "FailureTarget", "BackoffLimitExceeded", message)
                    _set_condition(s, "Failed", "BackoffLimitExceeded", message)
                    event = ("Warning", "BackoffLimitExceeded", message)

        self.store.mutate(self._jobs, key[0], key[1], update)
        if event is not None:
            etype, reason, message = event
            self.store.record_event(key[0], job, reason, message, etype, component="job-controller")
        if retry:
            nursery.start_soon(self._retry, key)

    async def _retry(self, key: tuple[str, str]) -> None:
        await trio.sleep(self.config.retry_delay)
        job = self._job(key)
        if job is not None:
            self._ensure_pod(job)


def install(site: Any, config: JobsConfig | None = None, *, seed: int = 0) -> JobController:
    """Create the Job controller for ``site`` and register it as a site controller."""
    controller = JobController(site, config, seed=seed)

    async def run(_site: Any = None) -> None:
        await controller.run()

    site.add_controller(run, name="jobs")
    return controller
