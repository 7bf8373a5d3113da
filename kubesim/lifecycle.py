"""Deletion lifecycles: pod grace periods, finalizers, owner cascade, namespace termination.

The rules, as a real cluster applies them:

* **Pods** are deleted gracefully: ``deletionTimestamp`` (now + grace) and
  ``deletionGracePeriodSeconds`` are set (MODIFIED) and the pod disappears (DELETED) when the
  grace ends. The grace is the request's ``gracePeriodSeconds``, else the pod's
  ``spec.terminationGracePeriodSeconds``. A pod that was never scheduled (no
  ``spec.nodeName``) or has finished (Succeeded/Failed) goes at once, and so does
  ``gracePeriodSeconds=0``; a second delete with a shorter grace brings the end forward (a
  grace of 0 finishes it at once).
* **Finalizers**: an object with ``metadata.finalizers`` only gets its ``deletionTimestamp``;
  it is removed when an update empties the list.
* **Owner references** (garbage collection): ``Background`` removes the owner, then deletes
  every dependent whose owners are all gone; ``Foreground`` marks the owner with the
  ``foregroundDeletion`` finalizer, deletes the dependents and removes the owner when the
  last one is gone; ``Orphan`` strips the owner's reference from the dependents. The default
  is Background, except ``batch/v1`` Jobs which orphan their pods (legacy default).
* **Namespaces**: deletion sets ``deletionTimestamp`` and ``status.phase: Terminating``,
  deletes every object inside (pods with their grace), refuses new content (403, see
  :meth:`Store.check_namespace_open`) and removes the namespace ``namespace_delete_delay``
  seconds after it became empty.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kubesim.jsoncopy import json_copy
from kubesim.resources import RESOURCES, ResourceType

if TYPE_CHECKING:
    from kubesim.store import Store


def _where(obj: dict[str, Any]) -> tuple[str, str]:
    """The object's namespace ("" when cluster-scoped) and name."""
    meta = obj["metadata"]
    return meta.get("namespace", ""), meta["name"]


def _pod_grace(store: Store, obj: dict[str, Any], requested: int | None) -> int:
    spec = obj.get("spec") or {}
    if not spec.get("nodeName"):
        return 0
    if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return 0
    if requested is not None:
        return requested
    grace = spec.get("terminationGracePeriodSeconds")
    return int(grace) if grace is not None else store.config.default_pod_grace_seconds


def _policy_from_finalizers(metadata: dict[str, Any]) -> str | None:
    finalizers = metadata.get("finalizers") or []
    if "orphan" in finalizers:
        return "Orphan"
    if "foregroundDeletion" in finalizers:
        return "Foreground"
    return None


def dependents(store: Store, owner: dict[str, Any]) -> list[tuple[ResourceType, dict[str, Any]]]:
    """Objects listing ``owner`` in their ``ownerReferences``."""
    uid = owner["metadata"]["uid"]
    namespace = owner["metadata"].get("namespace") or None
    return [
        (res, obj)
        for res, obj in store.iter_objects(namespace=namespace)
        if any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])
    ]


def delete(
    store: Store,
    res: ResourceType,
    obj: dict[str, Any],
    grace: int | None,
    policy: str | None,
) -> dict[str, Any]:
    """Apply a DELETE to ``obj``; returns its latest version (final one if removed)."""
    if res.kind == "Namespace":
        return _terminate_namespace(store, res, obj)
    meta = obj["metadata"]
    namespace, name = _where(obj)
    grace = _pod_grace(store, obj, grace) if res.kind == "Pod" else 0
    if meta.get("deletionTimestamp"):
        if grace == 0 and store.end_grace(res, namespace, name):
            maybe_finish_deletion(store, res, obj)
        elif 0 < grace < int(meta.get("deletionGracePeriodSeconds") or 0):
            _shorten_grace(store, res, obj, grace)
        return store.find(res, namespace, name) or obj
    policy = policy or _policy_from_finalizers(meta) or res.default_propagation
    if policy == "Orphan":
        _orphan_dependents(store, obj)
    finalizers = [f for f in meta.get("finalizers") or [] if f != "orphan"]
    has_dependents = bool(dependents(store, obj))
    if policy == "Foreground" and has_dependents and "foregroundDeletion" not in finalizers:
        finalizers.append("foregroundDeletion")
    if grace == 0 and not finalizers:
        store.remove(res, obj)
        return store.deleted_version(obj) or obj
    new = json_copy(obj)
    new_meta = new["metadata"]
    from kubesim.store import timestamp_in

    new_meta["deletionTimestamp"] = timestamp_in(grace)
    new_meta["deletionGracePeriodSeconds"] = grace
    if finalizers:
        new_meta["finalizers"] = finalizers
    else:
        new_meta.pop("finalizers", None)
    store.publish(res, obj, new)
    if grace > 0:
        store.begin_grace(res, namespace, name)
        store.call_later(grace, lambda: _grace_over(store, res, namespace, name))
    if policy == "Foreground":
        for dep_res, dep in dependents(store, new):
            if not dep["metadata"].get("deletionTimestamp"):
                delete(store, dep_res, dep, None, "Background")
    return store.find(res, namespace, name) or new


def _shorten_grace(store: Store, res: ResourceType, obj: dict[str, Any], grace: int) -> None:
    """A second delete with a shorter grace brings the end forward (never back)."""
    from kubesim.store import timestamp_in

    namespace, name = _where(obj)
    new = json_copy(obj)
    new["metadata"]["deletionTimestamp"] = timestamp_in(grace)
    new["metadata"]["deletionGracePeriodSeconds"] = grace
    store.publish(res, obj, new)
    store.call_later(grace, lambda: _grace_over(store, res, namespace, name))


def _grace_over(store: Store, res: ResourceType, namespace: str, name: str) -> None:
    if not store.end_grace(res, namespace, name):
        return
    obj = store.find(res, namespace, name)
    if obj is not None:
        maybe_finish_deletion(store, res, obj)


def maybe_finish_deletion(store: Store, res: ResourceType, obj: dict[str, Any]) -> None:
    """Remove a deleting object once its grace is over and its finalizers are gone."""
    meta = obj["metadata"]
    if not meta.get("deletionTimestamp") or meta.get("finalizers"):
        return
    if store.in_grace(res, *_where(obj)):
        return
    if res.kind == "Namespace":
        _schedule_namespace_check(store, meta["name"])
        return
    store.remove(res, obj)


def _orphan_dependents(store: Store, owner: dict[str, Any]) -> None:
    uid = owner["metadata"]["uid"]
    for dep_res, dep in dependents(store, owner):
        new = json_copy(dep)
        refs = [r for r in new["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
        if refs:
            new["metadata"]["ownerReferences"] = refs
        else:
            new["metadata"].pop("ownerReferences", None)
        store.publish(dep_res, dep, new)


def after_removal(store: Store, res: ResourceType, final: dict[str, Any]) -> None:
    """Garbage-collect dependents, finish foreground owners and emptied namespaces."""
    meta = final["metadata"]
    for dep_res, dep in dependents(store, final):
        dep_meta = dep["metadata"]
        live = [
            ref
            for ref in dep_meta.get("ownerReferences") or []
            if ref.get("uid") != meta["uid"] and store.find_by_uid(ref.get("uid", "")) is not None
        ]
        if live:
            new = json_copy(dep)
            new["metadata"]["ownerReferences"] = live
            store.publish(dep_res, dep, new)
        elif not dep_meta.get("deletionTimestamp"):
            delete(store, dep_res, dep, None, "Background")
    for ref in meta.get("ownerReferences") or []:
        found = store.find_by_uid(ref.get("uid", ""))
        if found is None:
            continue
        owner_res, owner = found
        owner_meta = owner["metadata"]
        if (
            owner_meta.get("deletionTimestamp")
            and "foregroundDeletion" in (owner_meta.get("finalizers") or [])
            and not dependents(store, owner)
        ):
            new = json_copy(owner)
            rest = [f for f in owner_meta["finalizers"] if f != "foregroundDeletion"]
            if rest:
                new["metadata"]["finalizers"] = rest
            else:
                new["metadata"].pop("finalizers", None)
            maybe_finish_deletion(store, owner_res, store.publish(owner_res, owner, new))
    if res.namespaced and meta.get("namespace"):
        _schedule_namespace_check(store, meta["namespace"])


def _namespace_res() -> ResourceType:
    return next(r for r in RESOURCES if r.kind == "Namespace")


def _terminate_namespace(store: Store, res: ResourceType, ns_obj: dict[str, Any]) -> dict[str, Any]:
    name = ns_obj["metadata"]["name"]
    if ns_obj["metadata"].get("deletionTimestamp"):
        return ns_obj
    new = json_copy(ns_obj)
    from kubesim.store import now_timestamp

    new["metadata"]["deletionTimestamp"] = now_timestamp()
    new["metadata"]["deletionGracePeriodSeconds"] = 0
    new.setdefault("status", {})["phase"] = "Terminating"
    result = store.publish(res, ns_obj, new)
    for kind, obj in store.iter_objects(namespace=name):
        if not kind.namespaced:
            continue
        current = store.find(kind, name, obj["metadata"]["name"])
        if current is not None and not current["metadata"].get("deletionTimestamp"):
            delete(store, kind, current, None, "Background")
    _schedule_namespace_check(store, name)
    return store.find(res, None, name) or result


def _namespace_empty(store: Store, name: str) -> bool:
    return not any(kind.namespaced for kind, _ in store.iter_objects(namespace=name))


def _schedule_namespace_check(store: Store, name: str) -> None:
    ns_res = _namespace_res()
    ns_obj = store.find(ns_res, None, name)
    if ns_obj is None or not ns_obj["metadata"].get("deletionTimestamp"):
        return
    if not _namespace_empty(store, name):
        return

    def finish() -> None:
        current = store.find(ns_res, None, name)
        if (
            current is not None
            and current["metadata"].get("deletionTimestamp")
            and not current["metadata"].get("finalizers")
            and _namespace_empty(store, name)
        ):
            store.remove(ns_res, current)

    store.call_later(store.config.namespace_delete_delay, finish)
