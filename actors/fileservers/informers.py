"""What file servers follow in Kubernetes, through one shared watch per kind.

A file server actor needs two facts from the cluster: the phases of its Job's pods (to learn
that the server started, or that the WebDAV server exited by itself when idle) and whether
its Ingress has an address yet (creation waits for it). Each used to cost a watch connection
per file server; now one informer per kind watches the file-server namespace, narrowed to
objects labelled ``nublado.lsst.io/category=fileserver``, and keeps only these digests:

* pods: the user (from the ``nublado.lsst.io/user`` label) and the phase. A Job's pods
  have generated names and a Job may make several (it replaces a failed pod), so the pod
  feed groups them by ``(namespace, user)`` and each file server takes a group view;
* ingresses: the address, ``""`` while none is assigned, under the Ingress's own key
  (``<user>-fs``, the name the GafaelfawrIngress template gives it).

The watches are namespaced rather than cluster-wide: every file server lives in
``fileserver.namespace``, which is also where reconciliation lists them, so an object
carrying the label anywhere else is none of ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from actors.common.labels import Category
from actors.kube import CATEGORY_LABEL, USER_LABEL, KubeClient
from actors.kube.informer import Informer, InformerFeed, InformerSpec, ObjectKey
from actors.runtime import ActorRef

__all__ = [
    "FILESERVER_SELECTOR",
    "FileserverInformers",
    "FileserverPod",
    "fileserver_informers",
    "fileserver_pod_digest",
    "ingress_address_digest",
    "pod_group",
]

FILESERVER_SELECTOR = {CATEGORY_LABEL: Category.FILESERVER.value}


@dataclass(frozen=True, slots=True)
class FileserverPod:
    """The digest of a file-server pod: whose server it belongs to, and its phase."""

    user: str
    phase: str


def fileserver_pod_digest(obj: dict[str, Any]) -> FileserverPod:
    """Only what a file server reads of its pod; a pod without a phase counts as Unknown,
    as the per-server watch counted it."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    phase = (obj.get("status") or {}).get("phase") or "Unknown"
    return FileserverPod(user=str(labels.get(USER_LABEL) or ""), phase=str(phase))


def pod_group(key: ObjectKey, pod: FileserverPod) -> ObjectKey | None:
    """The group of a file-server pod: ``(namespace, user)``; none without a user label."""
    return (key[0], pod.user) if pod.user else None


def ingress_address_digest(obj: dict[str, Any]) -> str:
    """The first load-balancer IP of an Ingress, ``""`` while it has none (the same reading
    as :func:`.cluster.ingress_address`, on server JSON)."""
    balancer = (obj.get("status") or {}).get("loadBalancer") or {}
    entries = balancer.get("ingress") or []
    first = entries[0] if entries and isinstance(entries[0], dict) else {}
    return str(first.get("ip") or "")


@dataclass(frozen=True)
class FileserverInformers:
    """The two feeds file server actors read and the informer actors that fill them."""

    pods: InformerFeed[FileserverPod]
    ingresses: InformerFeed[str]
    pod_informer: ActorRef
    ingress_informer: ActorRef


def fileserver_informers(
    kube: KubeClient, namespace: str, *, reconnect_timeout: float
) -> FileserverInformers:
    """Feeds (which outlive the informers' restarts) and ``informer/fileserver-pods`` and
    ``informer/fileserver-ingresses``, to be supervised under ``fileservers``."""
    pods: InformerFeed[FileserverPod] = InformerFeed("fileserver-pods", group=pod_group)
    ingresses: InformerFeed[str] = InformerFeed("fileserver-ingresses")
    pod_spec = InformerSpec.of(
        kube.pods,
        namespace,
        label_selector=FILESERVER_SELECTOR,
        digest=fileserver_pod_digest,
        reconnect_timeout=reconnect_timeout,
    )
    ingress_spec = InformerSpec.of(
        kube.ingresses,
        namespace,
        label_selector=FILESERVER_SELECTOR,
        digest=ingress_address_digest,
        reconnect_timeout=reconnect_timeout,
    )
    return FileserverInformers(
        pods=pods,
        ingresses=ingresses,
        pod_informer=ActorRef("informer/fileserver-pods", partial(Informer, pods, pod_spec)),
        ingress_informer=ActorRef(
            "informer/fileserver-ingresses", partial(Informer, ingresses, ingress_spec)
        ),
    )
