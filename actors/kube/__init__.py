"""Trio-native Kubernetes client for the controller.

Requests go over HTTP/1.1 on h11 under Trio (no threads; ``http11.py`` says why not a
general-purpose client); objects in and out are the
official ``kubernetes`` models (plain dicts for GafaelfawrIngress). Public API::

    async with KubeClient.for_url(url) as kube:          # or: await KubeClient.from_environment()
        with trio.fail_after(60):                          # every call honours this deadline
            pod = await kube.pods.create("ns", V1Pod(...))   # adopts our own existing object
            pod = await kube.pods.read("ns", "name")         # None if absent
            pods = await kube.pods.list("ns", label_selector={"app": "x"})
            await kube.pods.delete("ns", "name", grace_period=1, wait=True)
            await kube.namespaces.wait_for_deletion("ns")
            phase = await kube.wait_for_pod_phase("ns", "name")
        async with kube.pods.watch("ns") as events:          # resumable, relists on 410
            async for item in events:                        # WatchSync | WatchEvent
                ...
        async with kube.pods.watch_one("ns", "name") as states:   # for waits on one object
            async for pod in states:                         # the pod, or None when absent
                ...

Accessors: ``namespaces`` and ``nodes`` (cluster-scoped: no namespace argument), ``pods``,
``services``, ``config_maps``, ``secrets``, ``persistent_volume_claims``, ``resource_quotas``,
``network_policies``, ``ingresses``, ``jobs``, ``events``, ``service_accounts``,
``gafaelfawr_ingresses``. Errors are :class:`KubernetesError` (``.not_found``,
``.already_exists``, ``.conflict``, ``.gone``, ``.transient``); waits that run out of time
raise ``trio.TooSlowError``. See docs/kubernetes-client.md.
"""

from .client import KubeClient
from .deadline import KUBERNETES_REQUEST_TIMEOUT
from .errors import KubernetesError
from .operations import CATEGORY_LABEL, USER_LABEL, ClusterResource, NamespacedResource
from .pods import PENDING_PHASES, PREPULL_PHASES
from .selectors import Selector
from .watch import (
    DEFAULT_WATCH_RECONNECT_TIMEOUT,
    ObjectWatch,
    Watch,
    WatchEvent,
    WatchItem,
    WatchSync,
)

__all__ = [
    "CATEGORY_LABEL",
    "DEFAULT_WATCH_RECONNECT_TIMEOUT",
    "KUBERNETES_REQUEST_TIMEOUT",
    "PENDING_PHASES",
    "PREPULL_PHASES",
    "USER_LABEL",
    "ClusterResource",
    "KubeClient",
    "KubernetesError",
    "NamespacedResource",
    "ObjectWatch",
    "Selector",
    "Watch",
    "WatchEvent",
    "WatchItem",
    "WatchSync",
]
