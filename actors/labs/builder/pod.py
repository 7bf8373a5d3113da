"""The lab ``Pod`` ``<user>-nb`` (§2.12).

Pod-level settings: no service account token (the lab talks to Kubernetes with nothing),
restart on failure, the user's groups as supplemental groups (no pod-level ``runAsUser``:
each container sets its own), the copied pull secret, and the configured scheduling.
"""

from __future__ import annotations

import json

from kubernetes.client import (
    V1LocalObjectReference,
    V1Pod,
    V1PodSecurityContext,
    V1PodSpec,
)

from actors.common.labels import (
    USER_GROUPS_ANNOTATION,
    USER_NAME_ANNOTATION,
    Category,
    standard_metadata,
)
from actors.common.models import ResolvedImage, UserGroup
from actors.common.naming import PULL_SECRET_NAME, lab_object_name
from actors.common.scheduling import kubernetes_affinity, kubernetes_tolerations

from .containers import ContainerContext, init_containers, notebook_container
from .volumes import lab_pod_volumes

__all__ = ["groups_annotation", "lab_pod"]


def groups_annotation(groups: list[UserGroup]) -> str:
    """The groups as JSON (``", "``/``": "`` separators, name before id), read by reconcile."""
    return json.dumps([{"name": group.name, "id": group.id} for group in groups])


def lab_pod(
    context: ContainerContext,
    *,
    namespace: str,
    image: ResolvedImage,
    name: str | None,
    groups: list[UserGroup],
) -> V1Pod:
    """The lab pod for ``context``'s user running ``image``."""
    lab = context.lab
    annotations = {USER_GROUPS_ANNOTATION: groups_annotation(groups)}
    if name is not None:
        annotations[USER_NAME_ANNOTATION] = name
    annotations.update(lab.extra_annotations)
    metadata = standard_metadata(
        lab_object_name(context.username),
        namespace=namespace,
        category=Category.LAB,
        username=context.username,
        application=lab.application,
        annotations=annotations,
    )
    pull_secrets = (
        [V1LocalObjectReference(name=PULL_SECRET_NAME)] if lab.pull_secret is not None else None
    )
    spec = V1PodSpec(
        automount_service_account_token=False,
        restart_policy="OnFailure",
        security_context=V1PodSecurityContext(supplemental_groups=[group.id for group in groups]),
        image_pull_secrets=pull_secrets,
        affinity=kubernetes_affinity(lab.affinity),
        node_selector=dict(lab.node_selector) or None,
        tolerations=kubernetes_tolerations(lab.tolerations),
        init_containers=init_containers(context),
        containers=[notebook_container(context, image.reference)],
        volumes=lab_pod_volumes(
            lab, username=context.username, files=context.files, resources=context.lab_resources
        ),
    )
    return V1Pod(api_version="v1", kind="Pod", metadata=metadata, spec=spec)
