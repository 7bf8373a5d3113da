"""Simulated ingress controller and Gafaelfawr operator.

- **Ingress address**: every ``networking.k8s.io/v1`` Ingress without an address gets
  ``status.loadBalancer.ingress = [{"ip": <address>}]`` ``address_delay`` seconds after it
  appears (the ingress-nginx controller publishing its service address).
- **GafaelfawrIngress** (``gafaelfawr.lsst.io/v1alpha1``): for each one, an Ingress named
  ``template.metadata.name`` (default: the GafaelfawrIngress's name) in the same namespace,
  with the template's labels and annotations plus the ``nginx.ingress.kubernetes.io/auth-*``
  annotations Gafaelfawr adds, ``spec`` from ``template.spec`` (``ingressClassName: nginx``
  when unset) and an ``ownerReference`` to the GafaelfawrIngress (``controller: true``), so
  deleting the GafaelfawrIngress garbage-collects the Ingress. A changed GafaelfawrIngress
  updates its Ingress. (The real operator's ``status`` bookkeeping on the GafaelfawrIngress
  is not simulated.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import trio

from kubesim.errors import ApiError
from kubesim.jsoncopy import json_copy

__all__ = ["IngressConfig", "IngressController", "install"]


@dataclass
class IngressConfig:
    address: str = "10.10.0.1"
    address_delay: float = 0.0
    auth_url: str = "http://gafaelfawr.gafaelfawr.svc.cluster.local:8080/ingress/auth"


def _has_address(ingress: dict[str, Any]) -> bool:
    lb = (ingress.get("status") or {}).get("loadBalancer") or {}
    return bool(lb.get("ingress"))


class IngressController:
    """Runs both loops (addresses and GafaelfawrIngress) as one site controller."""

    def __init__(self, site: Any, config: IngressConfig | None = None) -> None:
        self.store = site.store
        self.config = config or IngressConfig()
        self._ingresses = self.store.resource("ingresses", "networking.k8s.io")
        self._gafaelfawr = self.store.resource("gafaelfawringresses", "gafaelfawr.lsst.io")
        self._pending: set[str] = set()  # uids of ingresses waiting for their address

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._run_addresses, nursery)
            nursery.start_soon(self._run_gafaelfawr)

    # -- addresses ------------------------------------------------------------------------

    async def _run_addresses(self, nursery: trio.Nursery) -> None:
        async with self.store.watch(self._ingresses) as events:
            async for event in events:
                ingress = event.object
                uid = ingress["metadata"].get("uid", "")
                if event.type == "DELETED" or _has_address(ingress) or uid in self._pending:
                    continue
                self._pending.add(uid)
                nursery.start_soon(self._assign_address, ingress)

    async def _assign_address(self, ingress: dict[str, Any]) -> None:
        meta = ingress["metadata"]
        try:
            if self.config.address_delay > 0:
                await trio.sleep(self.config.address_delay)
            current = self.store.get(self._ingresses, meta["namespace"], meta["name"])
            if current["metadata"].get("uid") != meta.get("uid"):
                return  # replaced by a new object with the same name; it has its own task

            def publish(obj: dict[str, Any]) -> None:
                obj.setdefault("status", {})["loadBalancer"] = {
                    "ingress": [{"ip": self.config.address}]
                }

            self.store.mutate(self._ingresses, meta["namespace"], meta["name"], publish)
        except ApiError as exc:
            if exc.status != 404:
                raise
        finally:
            self._pending.discard(meta.get("uid", ""))

    # -- GafaelfawrIngress ----------------------------------------------------------------

    async def _run_gafaelfawr(self) -> None:
        async with self.store.watch(self._gafaelfawr) as events:
            async for event in events:
                live = not event.object["metadata"].get("deletionTimestamp")
                if event.type in ("ADDED", "MODIFIED") and live:
                    self._reconcile(event.object)

    def _desired_ingress(self, gi: dict[str, Any]) -> dict[str, Any]:
        meta = gi["metadata"]
        template = json_copy(gi.get("template") or {})
        tmeta = template.get("metadata") or {}
        config = gi.get("config") or {}
        annotations = dict(tmeta.get("annotations") or {})
        annotations["nginx.ingress.kubernetes.io/auth-method"] = "GET"
        annotations["nginx.ingress.kubernetes.io/auth-response-headers"] = (
            "Authorization,Cookie,X-Auth-Request-Email,X-Auth-Request-Token,X-Auth-Request-User"
        )
        annotations["nginx.ingress.kubernetes.io/auth-url"] = self._auth_url(config)
        spec = template.get("spec") or {}
        spec.setdefault("ingressClassName", "nginx")
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {
                "name": tmeta.get("name") or meta["name"],
                "namespace": meta["namespace"],
                "labels": dict(tmeta.get("labels") or {}),
                "annotations": annotations,
                "ownerReferences": [
                    {
                        "apiVersion": "gafaelfawr.lsst.io/v1alpha1",
                        "kind": "GafaelfawrIngress",
                        "name": meta["name"],
                        "uid": meta["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": spec,
        }

    def _auth_url(self, config: dict[str, Any]) -> str:
        params = []
        scopes = (config.get("scopes") or {}).get("all") or []
        params += [f"scope={s}" for s in scopes]
        if config.get("authType"):
            params.append(f"auth_type={config['authType']}")
        if config.get("username"):
            params.append(f"username={config['username']}")
        return self.config.auth_url + ("?" + "&".join(params) if params else "")

    def _reconcile(self, gi: dict[str, Any]) -> None:
        desired = self._desired_ingress(gi)
        namespace, name = desired["metadata"]["namespace"], desired["metadata"]["name"]
        try:
            current = self.store.get(self._ingresses, namespace, name)
        except ApiError as exc:
            if exc.status != 404:
                raise
            try:
                self.store.create(self._ingresses, namespace, desired)
            except ApiError as create_exc:
                if create_exc.status not in (403, 404, 409):
                    raise
            return
        if current["metadata"].get("deletionTimestamp"):
            return

        def update(obj: dict[str, Any]) -> None:
            obj["metadata"]["labels"] = desired["metadata"]["labels"]
            obj["metadata"]["annotations"] = desired["metadata"]["annotations"]
            obj["metadata"]["ownerReferences"] = desired["metadata"]["ownerReferences"]
            obj["spec"] = desired["spec"]

        self.store.mutate(self._ingresses, namespace, name, update)


def install(site: Any, config: IngressConfig | None = None) -> IngressController:
    """Create the ingress controller for ``site`` and register it as a site controller."""
    controller = IngressController(site, config)

    async def run(_site: Any = None) -> None:
        await controller.run()

    site.add_controller(run, name="ingress")
    return controller
