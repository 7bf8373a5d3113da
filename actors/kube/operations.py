"""Generic create / read / list / delete / watch / wait operations for one resource kind.

:class:`ResourceClient` implements every operation once, parameterised by a
:class:`~.resources.ResourceType`; :class:`NamespacedResource` and :class:`ClusterResource`
only give them the right public signatures (with or without a namespace argument).

Semantics (spec kubernetes-objects §1.4, §10.3):

* ``read``: 404 → ``None``.
* ``delete``: 404 → success; ``wait=True`` also waits until the object is gone.
* ``create``: idempotent. On 409 the existing object is read, and if it carries the
  controller's ownership labels with the same values as the new object
  (``nublado.lsst.io/category`` and ``nublado.lsst.io/user``) it is adopted and returned;
  otherwise the 409 is raised. This lets a restarted actor finish a half-done operation, and
  makes a create that was retried after a lost response harmless.
* ``create_or_replace``: on 409 delete (with the given propagation), wait, create once more.
* ``list`` follows ``continue`` tokens transparently.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import structlog
import trio

from .errors import KubernetesError, ObjectRef
from .resources import ResourceType
from .selectors import Selector, render_selector
from .transport import ApiTransport
from .watch import DEFAULT_WATCH_RECONNECT_TIMEOUT, ObjectWatch, Watch

__all__ = [
    "CATEGORY_LABEL",
    "USER_LABEL",
    "WAIT_MARGIN",
    "ClusterResource",
    "NamespacedResource",
    "ResourceClient",
]

log = structlog.get_logger(__name__)

T = TypeVar("T")
W = TypeVar("W")

CATEGORY_LABEL = "nublado.lsst.io/category"
USER_LABEL = "nublado.lsst.io/user"

WAIT_MARGIN = 2.0
"""Seconds kept back from a wait's watch for one final read (spec §10.3)."""

LIST_PAGE_SIZE = 500
_LIST_RESTARTS = 3


class ResourceClient(Generic[T]):
    """All operations on one kind, with an optional namespace (``None`` = cluster scope)."""

    def __init__(self, transport: ApiTransport, resource: ResourceType[T]) -> None:
        self.transport = transport
        self.resource = resource

    def _ref(self, namespace: str | None, name: str | None = None) -> ObjectRef:
        return ObjectRef(self.resource.kind, namespace, name)

    async def create_in(self, namespace: str | None, obj: T, *, adopt: bool = True) -> T:
        """Create ``obj``; with ``adopt``, return an existing object we own instead of a 409."""
        return self.resource.decode(await self.create_raw_in(namespace, obj, adopt=adopt))

    async def create_raw_in(
        self, namespace: str | None, obj: T, *, adopt: bool = True
    ) -> dict[str, Any]:
        """:meth:`create_in`, returning the server's JSON rather than a model."""
        body = self.resource.encode(obj)
        name = _name_of(body)
        ref = self._ref(namespace, name)
        path = self.resource.path(namespace)
        try:
            created = await self.transport.request("POST", path, ref, body=body)
        except KubernetesError as error:
            if not (adopt and error.conflict and name):
                raise
            existing = await self.read_raw(namespace, name)
            if existing is None or not _same_owner(body, existing):
                raise
            log.info("Adopting existing object", object=str(ref))
            created = existing
        return created

    async def create_or_replace_in(
        self, namespace: str | None, obj: T, *, propagation: str | None = None
    ) -> T:
        """Create ``obj``; if the name is taken, delete the old object, wait, create again."""
        try:
            return await self.create_in(namespace, obj, adopt=False)
        except KubernetesError as error:
            if not error.conflict:
                raise
        name = _name_of(self.resource.encode(obj))
        log.info("Replacing existing object", object=str(self._ref(namespace, name)))
        await self.delete_in(namespace, name, propagation=propagation, wait=True)
        return await self.create_in(namespace, obj, adopt=False)

    async def read_raw(self, namespace: str | None, name: str) -> dict[str, Any] | None:
        """Read one object as JSON; ``None`` if it does not exist."""
        path = self.resource.path(namespace, name)
        try:
            return await self.transport.request("GET", path, self._ref(namespace, name))
        except KubernetesError as error:
            if error.not_found:
                return None
            raise

    async def read_in(self, namespace: str | None, name: str) -> T | None:
        """Read one object; ``None`` if it does not exist."""
        data = await self.read_raw(namespace, name)
        return None if data is None else self.resource.decode(data)

    async def list_raw(
        self,
        namespace: str | None,
        *,
        label_selector: Selector = None,
        field_selector: Selector = None,
        page_size: int = LIST_PAGE_SIZE,
    ) -> tuple[list[dict[str, Any]], str]:
        """List every matching object as JSON, following ``continue`` tokens.

        Returns the items and the resourceVersion of the list (to start a watch from). A
        continue token that expires mid-way (410) restarts the list from the beginning, since
        the pages already read may no longer be consistent with the rest.
        """
        params = _selector_params(label_selector, field_selector)
        params["limit"] = str(page_size)
        path = self.resource.path(namespace)
        ref = self._ref(namespace)
        for _ in range(_LIST_RESTARTS):
            items: list[dict[str, Any]] = []
            page_params = dict(params)
            try:
                while True:
                    page = await self.transport.request("GET", path, ref, params=page_params)
                    items.extend(page.get("items") or [])
                    metadata = page.get("metadata") or {}
                    token = metadata.get("continue")
                    if not token:
                        return items, str(metadata.get("resourceVersion") or "")
                    page_params["continue"] = token
            except KubernetesError as error:
                if not (error.gone and "continue" in page_params):
                    raise
                log.info("List continue token expired; listing again", object=str(ref))
        raise KubernetesError(
            status=410,
            reason="Expired",
            message="list kept expiring while paginating",
            kind=ref.kind,
            namespace=namespace,
        )

    async def current_version(
        self,
        namespace: str | None,
        *,
        label_selector: Selector = None,
        field_selector: Selector = None,
    ) -> str:
        """The collection's current resourceVersion, from a one-item page.

        For watchers that want only what happens from now on (a relay of Events): the first
        page's resourceVersion is the list's, and a watch started there misses nothing that
        happens after it, without listing the whole collection first.
        """
        params = _selector_params(label_selector, field_selector)
        params["limit"] = "1"
        path = self.resource.path(namespace)
        page = await self.transport.request("GET", path, self._ref(namespace), params=params)
        return str((page.get("metadata") or {}).get("resourceVersion") or "")

    async def list_in(
        self,
        namespace: str | None,
        *,
        label_selector: Selector = None,
        field_selector: Selector = None,
    ) -> list[T]:
        """List every matching object."""
        items, _ = await self.list_raw(
            namespace, label_selector=label_selector, field_selector=field_selector
        )
        return [self.resource.decode(item) for item in items]

    async def delete_in(
        self,
        namespace: str | None,
        name: str,
        *,
        grace_period: int | None = None,
        propagation: str | None = None,
        wait: bool = False,
    ) -> None:
        """Delete an object; absent already counts as success. ``wait`` waits until gone."""
        params: dict[str, str] = {}
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if grace_period is not None:
            params["gracePeriodSeconds"] = str(grace_period)
            body["gracePeriodSeconds"] = grace_period
        if propagation is not None:
            params["propagationPolicy"] = propagation
            body["propagationPolicy"] = propagation
        path = self.resource.path(namespace, name)
        try:
            await self.transport.request(
                "DELETE", path, self._ref(namespace, name), params=params, body=body
            )
        except KubernetesError as error:
            if not error.not_found:
                raise
            return
        if wait:
            await self.wait_for_deletion_in(namespace, name)

    def watch_in(
        self,
        namespace: str | None,
        *,
        label_selector: Selector = None,
        field_selector: Selector = None,
        resource_version: str | None = None,
        reconnect_timeout: float = DEFAULT_WATCH_RECONNECT_TIMEOUT,
        idle_timeout: float | None = None,
    ) -> Watch[T]:
        """A resumable watch (see :mod:`.watch`); use it as ``async with``."""
        return self._watch(
            self.resource,
            namespace,
            label_selector=label_selector,
            field_selector=field_selector,
            resource_version=resource_version,
            reconnect_timeout=reconnect_timeout,
            idle_timeout=idle_timeout,
        )

    def _watch(
        self,
        resource: ResourceType[W],
        namespace: str | None,
        *,
        label_selector: Selector,
        field_selector: Selector,
        resource_version: str | None,
        reconnect_timeout: float,
        idle_timeout: float | None,
        streaming_list: bool = False,
    ) -> Watch[W]:
        async def lister() -> tuple[list[dict[str, Any]], str]:
            return await self.list_raw(
                namespace, label_selector=label_selector, field_selector=field_selector
            )

        return Watch(
            self.transport,
            resource,
            namespace,
            lister,
            params=_selector_params(label_selector, field_selector),
            resource_version=resource_version,
            reconnect_timeout=reconnect_timeout,
            idle_timeout=idle_timeout,
            streaming_list=streaming_list,
        )

    def watch_raw_in(
        self,
        namespace: str | None,
        *,
        label_selector: Selector,
        reconnect_timeout: float,
        streaming_list: bool,
    ) -> Watch[dict[str, Any]]:
        """A raw watch of the kind in ``namespace`` (``None``: all, or a cluster-scoped kind),
        as an informer opens it."""
        return self._watch(
            self.resource.as_raw(),
            namespace,
            label_selector=label_selector,
            field_selector=None,
            resource_version=None,
            reconnect_timeout=reconnect_timeout,
            idle_timeout=None,
            streaming_list=streaming_list,
        )

    def watch_one_in(
        self, namespace: str | None, name: str, *, resource_version: str | None = None
    ) -> ObjectWatch[T]:
        """The states of object ``name`` (``None``: absent) after each change; see
        :class:`~.watch.ObjectWatch`. Without ``resource_version`` the current state comes
        first. Each request lasts at most until the caller's deadline (or the usual limit)."""
        return ObjectWatch(
            self.watch_in(
                namespace,
                field_selector={"metadata.name": name},
                resource_version=resource_version,
                reconnect_timeout=_reconnect_for_wait(),
            )
        )

    async def wait_for_deletion_in(self, namespace: str | None, name: str) -> None:
        """Return once the object is gone (spec §10.3); needs a deadline from the caller.

        Raises ``trio.TooSlowError`` if the object still exists ``WAIT_MARGIN`` seconds before
        the deadline (after one last read, in case the watch missed the deletion).
        """
        deadline = _require_deadline("waiting for deletion")
        current = await self.read_raw(namespace, name)
        if current is None:
            return
        rv = str((current.get("metadata") or {}).get("resourceVersion") or "") or None
        with trio.move_on_at(deadline - WAIT_MARGIN):
            async with self.watch_one_in(namespace, name, resource_version=rv) as states:
                async for state in states:
                    if state is None:
                        return
        with trio.move_on_after(WAIT_MARGIN):
            if await self.read_raw(namespace, name) is None:
                return
        raise trio.TooSlowError(f"{self._ref(namespace, name)} was not deleted in time")

    async def wait_for_creation_in(self, namespace: str | None, name: str) -> T:
        """Return the object once it exists (spec §10.3); needs a deadline from the caller."""
        deadline = _require_deadline("waiting for creation")
        current = await self.read_raw(namespace, name)
        if current is not None:
            return self.resource.decode(current)
        with trio.move_on_at(deadline - WAIT_MARGIN):
            async with self.watch_one_in(namespace, name) as states:
                async for state in states:
                    if state is not None:
                        return state
        with trio.move_on_after(WAIT_MARGIN):
            found = await self.read_in(namespace, name)
            if found is not None:
                return found
        raise trio.TooSlowError(f"{self._ref(namespace, name)} was not created in time")


class NamespacedResource(ResourceClient[T]):
    """Typed operations on a namespaced kind (``client.pods``, ``client.secrets``, ...)."""

    async def create(self, namespace: str, obj: T, *, adopt: bool = True) -> T:
        """Create ``obj`` in ``namespace``; adopts an existing object we own (see module doc)."""
        return await self.create_in(namespace, obj, adopt=adopt)

    async def create_raw(self, namespace: str, obj: T, *, adopt: bool = True) -> dict[str, Any]:
        """:meth:`create`, returning the server's JSON (when the caller needs a field or two)."""
        return await self.create_raw_in(namespace, obj, adopt=adopt)

    async def create_or_replace(
        self, namespace: str, obj: T, *, propagation: str | None = None
    ) -> T:
        """Create ``obj``, deleting and recreating an existing object of the same name."""
        return await self.create_or_replace_in(namespace, obj, propagation=propagation)

    async def read(self, namespace: str, name: str) -> T | None:
        """Read an object; ``None`` if absent."""
        return await self.read_in(namespace, name)

    async def list(
        self,
        namespace: str | None,
        *,
        label_selector: Selector = None,
        field_selector: Selector = None,
    ) -> list[T]:
        """List objects in ``namespace`` (``None``: all namespaces)."""
        return await self.list_in(
            namespace, label_selector=label_selector, field_selector=field_selector
        )

    async def delete(
        self,
        namespace: str,
        name: str,
        *,
        grace_period: int | None = None,
        propagation: str | None = None,
        wait: bool = False,
    ) -> None:
        """Delete an object (absent is success); ``wait=True`` also waits until it is gone."""
        await self.delete_in(
            namespace, name, grace_period=grace_period, propagation=propagation, wait=wait
        )

    def watch(
        self,
        namespace: str | None,
        *,
        label_selector: Selector = None,
        field_selector: Selector = None,
        resource_version: str | None = None,
        reconnect_timeout: float = DEFAULT_WATCH_RECONNECT_TIMEOUT,
        idle_timeout: float | None = None,
    ) -> Watch[T]:
        """Watch ``namespace`` (``None``: all namespaces); use as ``async with``."""
        return self.watch_in(
            namespace,
            label_selector=label_selector,
            field_selector=field_selector,
            resource_version=resource_version,
            reconnect_timeout=reconnect_timeout,
            idle_timeout=idle_timeout,
        )

    def watch_raw(
        self,
        namespace: str | None,
        *,
        label_selector: Selector = None,
        field_selector: Selector = None,
        resource_version: str | None = None,
        reconnect_timeout: float = DEFAULT_WATCH_RECONNECT_TIMEOUT,
        streaming_list: bool = False,
    ) -> Watch[dict[str, Any]]:
        """:meth:`watch` yielding server JSON: for watchers that read one field of big objects
        (a lab follows its pod's phase; building a ``V1Pod`` per event cost more than that).
        ``streaming_list``: list by watching (see :mod:`actors.kube.watch`)."""
        return self._watch(
            self.resource.as_raw(),
            namespace,
            label_selector=label_selector,
            field_selector=field_selector,
            resource_version=resource_version,
            reconnect_timeout=reconnect_timeout,
            idle_timeout=None,
            streaming_list=streaming_list,
        )

    def watch_one(
        self, namespace: str, name: str, *, resource_version: str | None = None
    ) -> ObjectWatch[T]:
        """The states of one object (``None``: absent) after each change; for waits."""
        return self.watch_one_in(namespace, name, resource_version=resource_version)

    async def wait_for_deletion(self, namespace: str, name: str) -> None:
        """Wait (within the caller's deadline) until the object is gone."""
        await self.wait_for_deletion_in(namespace, name)

    async def wait_for_creation(self, namespace: str, name: str) -> T:
        """Wait (within the caller's deadline) until the object exists, and return it."""
        return await self.wait_for_creation_in(namespace, name)


class ClusterResource(ResourceClient[T]):
    """Typed operations on a cluster-scoped kind (``client.namespaces``, ``client.nodes``)."""

    async def create(self, obj: T, *, adopt: bool = True) -> T:
        """Create ``obj``; adopts an existing object we own (see module doc)."""
        return await self.create_in(None, obj, adopt=adopt)

    async def create_raw(self, obj: T, *, adopt: bool = True) -> dict[str, Any]:
        """:meth:`create`, returning the server's JSON (when the caller needs a field or two)."""
        return await self.create_raw_in(None, obj, adopt=adopt)

    async def create_or_replace(self, obj: T, *, propagation: str | None = None) -> T:
        """Create ``obj``, deleting and recreating an existing object of the same name."""
        return await self.create_or_replace_in(None, obj, propagation=propagation)

    async def read(self, name: str) -> T | None:
        """Read an object; ``None`` if absent."""
        return await self.read_in(None, name)

    async def list(
        self, *, label_selector: Selector = None, field_selector: Selector = None
    ) -> list[T]:
        """List objects."""
        return await self.list_in(
            None, label_selector=label_selector, field_selector=field_selector
        )

    async def delete(
        self,
        name: str,
        *,
        grace_period: int | None = None,
        propagation: str | None = None,
        wait: bool = False,
    ) -> None:
        """Delete an object (absent is success); ``wait=True`` also waits until it is gone."""
        await self.delete_in(
            None, name, grace_period=grace_period, propagation=propagation, wait=wait
        )

    def watch(
        self,
        *,
        label_selector: Selector = None,
        field_selector: Selector = None,
        resource_version: str | None = None,
        reconnect_timeout: float = DEFAULT_WATCH_RECONNECT_TIMEOUT,
        idle_timeout: float | None = None,
    ) -> Watch[T]:
        """Watch the collection; use as ``async with``."""
        return self.watch_in(
            None,
            label_selector=label_selector,
            field_selector=field_selector,
            resource_version=resource_version,
            reconnect_timeout=reconnect_timeout,
            idle_timeout=idle_timeout,
        )

    def watch_raw(
        self, *, label_selector: Selector = None, field_selector: Selector = None
    ) -> Watch[dict[str, Any]]:
        """:meth:`watch` yielding server JSON (for watchers that read a few fields)."""
        return self._watch(
            self.resource.as_raw(),
            None,
            label_selector=label_selector,
            field_selector=field_selector,
            resource_version=None,
            reconnect_timeout=DEFAULT_WATCH_RECONNECT_TIMEOUT,
            idle_timeout=None,
        )

    def watch_one(self, name: str, *, resource_version: str | None = None) -> ObjectWatch[T]:
        """The states of one object (``None``: absent) after each change; for waits."""
        return self.watch_one_in(None, name, resource_version=resource_version)

    async def wait_for_deletion(self, name: str) -> None:
        """Wait (within the caller's deadline) until the object is gone."""
        await self.wait_for_deletion_in(None, name)

    async def wait_for_creation(self, name: str) -> T:
        """Wait (within the caller's deadline) until the object exists, and return it."""
        return await self.wait_for_creation_in(None, name)


def _selector_params(label_selector: Selector, field_selector: Selector) -> dict[str, str]:
    params: dict[str, str] = {}
    labels = render_selector(label_selector)
    fields = render_selector(field_selector)
    if labels:
        params["labelSelector"] = labels
    if fields:
        params["fieldSelector"] = fields
    return params


def _name_of(body: Mapping[str, Any]) -> str:
    metadata = body.get("metadata") or {}
    return str(metadata.get("name") or "")


def _labels_of(body: Mapping[str, Any]) -> Mapping[str, str]:
    metadata = body.get("metadata") or {}
    return metadata.get("labels") or {}


def _same_owner(new: Mapping[str, Any], existing: Mapping[str, Any]) -> bool:
    """Whether ``existing`` was made by the controller for the same purpose as ``new``."""
    wanted, found = _labels_of(new), _labels_of(existing)
    category = wanted.get(CATEGORY_LABEL)
    return (
        category is not None
        and found.get(CATEGORY_LABEL) == category
        and found.get(USER_LABEL) == wanted.get(USER_LABEL)
    )


def _require_deadline(what: str) -> float:
    """The caller's deadline; a wait without one is a bug.

    A scope that is already cancelled reports ``-inf``: that is a deadline (long past), and
    the wait must end with the cancellation, not with this error (a spawn cancelled by a
    delete while it waited for its service account crashed its actor that way).
    """
    deadline = trio.current_effective_deadline()
    if deadline == math.inf:
        raise ValueError(f"{what} needs a deadline: call it inside trio.fail_after()")
    return deadline


def _reconnect_for_wait() -> float:
    """Watch request lifetime for waits: the usual limit, or less if the deadline is closer."""
    left = trio.current_effective_deadline() - trio.current_time()
    return max(1.0, min(DEFAULT_WATCH_RECONNECT_TIMEOUT, left))
