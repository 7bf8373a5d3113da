"""The four shared informers that hold what the controller knows of every lab.

Lab namespaces, lab env ConfigMaps, lab quotas and lab pods are each watched once, cluster-wide
(``actors.kube.informer``), and each informer keeps only the facts a lab's state is rebuilt from
(``builder.facts``). Lab actors follow their pod through the pod feed; reconciliation reads all
four indexes instead of listing the cluster (``reconcile.py``), so a pass costs no request
and a restart costs four, however many labs there are.

Namespaces cannot be selected by label: a half-made lab's namespace may lack the lab label,
and reconciliation must still see it. That informer watches every namespace and indexes only
those with the lab prefix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import trio

from actors.common.labels import CATEGORY_LABEL, Category
from actors.config import ControllerConfig
from actors.kube import KubeClient
from actors.kube.informer import Informer, InformerFeed, InformerSpec
from actors.runtime import ActorRef

from .builder import (
    EnvFacts,
    LabPodFacts,
    NamespaceFacts,
    QuotaFacts,
    env_facts,
    lab_username,
    namespace_facts,
    pod_facts,
    quota_facts,
)

__all__ = ["LAB_SELECTOR", "LabFeeds", "lab_informers"]

LAB_SELECTOR = {CATEGORY_LABEL: Category.LAB.value}


@dataclass
class LabFeeds:
    """The indexes of lab objects, keyed by ``(namespace, name)`` (``("", name)`` for
    namespaces), outliving their informers' restarts."""

    namespaces: InformerFeed[NamespaceFacts] = field(
        default_factory=lambda: InformerFeed("lab-namespaces")
    )
    env: InformerFeed[EnvFacts] = field(default_factory=lambda: InformerFeed("lab-env"))
    quotas: InformerFeed[QuotaFacts] = field(default_factory=lambda: InformerFeed("lab-quotas"))
    pods: InformerFeed[LabPodFacts] = field(default_factory=lambda: InformerFeed("lab-pods"))

    @property
    def all(self) -> tuple[InformerFeed[Any], ...]:
        return (self.namespaces, self.env, self.quotas, self.pods)

    async def wait_listed(self) -> None:
        """Wait until every informer has listed once (the caller bounds the wait)."""
        for feed in self.all:
            await feed.ready.wait()

    async def resync(self) -> None:
        """Have every lab informer list again (see :meth:`InformerFeed.resync`)."""
        async with trio.open_nursery() as nursery:
            for feed in self.all:
                nursery.start_soon(feed.resync)

    @property
    def synced_at(self) -> float:
        """When all four indexes were last known current together (see
        :attr:`InformerFeed.synced_at`)."""
        return min((feed.synced_at for feed in self.all), default=-math.inf)


def lab_informers(config: ControllerConfig, kube: KubeClient, feeds: LabFeeds) -> list[ActorRef]:
    """The informer actors that keep ``feeds`` (to run under the labs supervisor)."""
    reconnect = config.watch_reconnect_timeout.total_seconds()

    def lab_namespace_facts(obj: Mapping[str, Any]) -> NamespaceFacts | None:
        name = (obj.get("metadata") or {}).get("name")
        if not isinstance(name, str) or lab_username(config, name) is None:
            return None
        return namespace_facts(obj)

    specs: list[tuple[str, InformerFeed[Any], InformerSpec[Any]]] = [
        (
            "lab-namespaces",
            feeds.namespaces,
            InformerSpec.of(
                kube.namespaces,
                None,
                label_selector=None,
                digest=lab_namespace_facts,
                reconnect_timeout=reconnect,
            ),
        ),
        (
            "lab-env",
            feeds.env,
            InformerSpec.of(
                kube.config_maps,
                None,
                label_selector=LAB_SELECTOR,
                digest=env_facts,
                reconnect_timeout=reconnect,
            ),
        ),
        (
            "lab-quotas",
            feeds.quotas,
            InformerSpec.of(
                kube.resource_quotas,
                None,
                label_selector=LAB_SELECTOR,
                digest=quota_facts,
                reconnect_timeout=reconnect,
            ),
        ),
        (
            "lab-pods",
            feeds.pods,
            InformerSpec.of(
                kube.pods,
                None,
                label_selector=LAB_SELECTOR,
                digest=pod_facts,
                reconnect_timeout=reconnect,
            ),
        ),
    ]
    return [
        ActorRef(f"informer/{name}", partial(Informer, feed, spec)) for name, feed, spec in specs
    ]
