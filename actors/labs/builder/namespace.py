"""The lab ``Namespace``: standard metadata plus the rendered ``lab.namespaceAnnotations``."""

from __future__ import annotations

from kubernetes.client import V1Namespace

from actors.common.labels import Category, standard_metadata
from actors.config import LabConfig

from .templates import check_template, render_template

__all__ = ["check_namespace_annotations", "lab_namespace_object"]


def lab_namespace_object(
    lab: LabConfig, *, namespace: str, username: str, uid: int, gid: int
) -> V1Namespace:
    """The namespace; configured annotations are added after (and so win over) Argo CD's."""
    rendered = {
        key: render_template(key, template, {"uid": uid, "gid": gid})
        for key, template in lab.namespace_annotations.items()
    }
    metadata = standard_metadata(
        namespace,
        namespace=None,
        category=Category.LAB,
        username=username,
        application=lab.application,
        annotations=rendered,
    )
    return V1Namespace(api_version="v1", kind="Namespace", metadata=metadata)


def check_namespace_annotations(lab: LabConfig) -> None:
    """Refuse unsupported annotation templates before any user needs them."""
    for key, template in lab.namespace_annotations.items():
        check_template(key, template)
