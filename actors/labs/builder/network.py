"""How a lab is reached: the ``lab`` Service and the ``<user>-nb`` NetworkPolicy (§2.10-11).

Only port 8888 of the lab pod accepts connections, and only from pods of the user's own lab
namespace (worker pods the user starts) or JupyterHub pods (``app: jupyterhub``: hub and
proxy) in any namespace. Egress is not restricted.
"""

from __future__ import annotations

from kubernetes.client import (
    V1LabelSelector,
    V1NetworkPolicy,
    V1NetworkPolicyIngressRule,
    V1NetworkPolicyPeer,
    V1NetworkPolicyPort,
    V1NetworkPolicySpec,
    V1Service,
    V1ServicePort,
    V1ServiceSpec,
)

from actors.common.labels import Category, selector_labels, standard_metadata
from actors.common.naming import LAB_PORT, SERVICE_NAME, lab_object_name
from actors.config import LabConfig

__all__ = ["JUPYTERHUB_POD_LABELS", "lab_network_policy", "lab_service"]

JUPYTERHUB_POD_LABELS = {"app": "jupyterhub"}
"""Labels of the hub and proxy pods, which must reach every lab."""


def lab_network_policy(lab: LabConfig, *, namespace: str, username: str) -> V1NetworkPolicy:
    """Ingress to the lab pod only on 8888, from the lab namespace or JupyterHub pods."""
    lab_labels = selector_labels(Category.LAB, username)
    metadata = standard_metadata(
        lab_object_name(username),
        namespace=namespace,
        category=Category.LAB,
        username=username,
        application=lab.application,
    )
    from_lab_namespace = V1NetworkPolicyPeer(
        namespace_selector=V1LabelSelector(match_labels=dict(lab_labels))
    )
    from_jupyterhub = V1NetworkPolicyPeer(
        namespace_selector=V1LabelSelector(),
        pod_selector=V1LabelSelector(match_labels=dict(JUPYTERHUB_POD_LABELS)),
    )
    spec = V1NetworkPolicySpec(
        policy_types=["Ingress"],
        pod_selector=V1LabelSelector(match_labels=dict(lab_labels)),
        ingress=[
            # "from" is a Python keyword; the model only takes it by its JSON name.
            V1NetworkPolicyIngressRule.model_validate(
                {
                    "from": [from_lab_namespace, from_jupyterhub],
                    "ports": [V1NetworkPolicyPort(port=LAB_PORT)],
                }
            )
        ],
    )
    return V1NetworkPolicy(
        api_version="networking.k8s.io/v1", kind="NetworkPolicy", metadata=metadata, spec=spec
    )


def lab_service(lab: LabConfig, *, namespace: str, username: str) -> V1Service:
    """The ``lab`` Service selecting the lab pod on 8888 (the internal URL's host)."""
    metadata = standard_metadata(
        SERVICE_NAME,
        namespace=namespace,
        category=Category.LAB,
        username=username,
        application=lab.application,
    )
    spec = V1ServiceSpec(
        ports=[V1ServicePort(port=LAB_PORT, target_port=LAB_PORT)],
        selector=selector_labels(Category.LAB, username),
    )
    return V1Service(api_version="v1", kind="Service", metadata=metadata, spec=spec)
