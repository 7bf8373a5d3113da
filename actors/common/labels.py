"""Labels and annotations the controller puts on every object it creates.

Labs, file servers, fsadmin, prepuller and migrator objects share the same label keys; the
category label says which family an object belongs to and the user label whose it is. The
Argo CD annotations keep Argo CD from pruning or diffing objects it did not create. File
servers and fsadmin reuse everything here, so the keys live in one place.
"""

from __future__ import annotations

from enum import StrEnum

from kubernetes.client import V1ObjectMeta

__all__ = [
    "ARGOCD_ANNOTATIONS",
    "ARGOCD_COMPARE_OPTIONS_ANNOTATION",
    "ARGOCD_INSTANCE_LABEL",
    "ARGOCD_SYNC_OPTIONS_ANNOTATION",
    "CATEGORY_LABEL",
    "USER_GROUPS_ANNOTATION",
    "USER_LABEL",
    "USER_NAME_ANNOTATION",
    "Category",
    "argocd_annotations",
    "selector_labels",
    "standard_labels",
    "standard_metadata",
]

CATEGORY_LABEL = "nublado.lsst.io/category"
"""Which family of controller objects this is (a ``Category`` value)."""

USER_LABEL = "nublado.lsst.io/user"
"""Username owning a lab or file server object."""

ARGOCD_INSTANCE_LABEL = "argocd.argoproj.io/instance"
"""Argo CD application; set only when ``lab.application``/``fileserver.application`` is."""

ARGOCD_COMPARE_OPTIONS_ANNOTATION = "argocd.argoproj.io/compare-options"
ARGOCD_SYNC_OPTIONS_ANNOTATION = "argocd.argoproj.io/sync-options"

ARGOCD_ANNOTATIONS: tuple[tuple[str, str], ...] = (
    (ARGOCD_COMPARE_OPTIONS_ANNOTATION, "IgnoreExtraneous"),
    (ARGOCD_SYNC_OPTIONS_ANNOTATION, "Prune=false"),
)
"""The annotations every lab, file server, fsadmin and migrator object carries.

A tuple of pairs so that nobody can mutate the shared value; use ``argocd_annotations()`` for
a fresh dict.
"""

USER_GROUPS_ANNOTATION = "nublado.lsst.io/user-groups"
"""Lab pod annotation: the user's groups as JSON, read back by reconciliation."""

USER_NAME_ANNOTATION = "nublado.lsst.io/user-name"
"""Lab pod annotation: the user's display name (absent when the name is null)."""


class Category(StrEnum):
    """Values of ``CATEGORY_LABEL``."""

    LAB = "lab"
    FILESERVER = "fileserver"
    FSADMIN = "fsadmin"
    PREPULLER = "prepuller"
    MIGRATOR = "migrator"


def argocd_annotations() -> dict[str, str]:
    """A new dict of the Argo CD annotations, safe to extend."""
    return dict(ARGOCD_ANNOTATIONS)


def selector_labels(category: Category, username: str) -> dict[str, str]:
    """The two labels that select a user's objects of one category (pods, namespaces)."""
    return {CATEGORY_LABEL: category.value, USER_LABEL: username}


def standard_labels(
    category: Category, username: str | None, application: str | None
) -> dict[str, str]:
    """Labels of a controller object: category, user (if any), Argo CD instance (if any)."""
    labels = {CATEGORY_LABEL: category.value}
    if username is not None:
        labels[USER_LABEL] = username
    if application is not None:
        labels[ARGOCD_INSTANCE_LABEL] = application
    return labels


def standard_metadata(
    name: str,
    *,
    namespace: str | None,
    category: Category,
    username: str | None,
    application: str | None,
    annotations: dict[str, str] | None = None,
) -> V1ObjectMeta:
    """Metadata with the standard labels and the Argo CD annotations.

    ``annotations`` are added after the Argo CD ones and win on a clash (that is how
    ``lab.extraAnnotations`` may override anything).
    """
    merged = argocd_annotations()
    if annotations:
        merged.update(annotations)
    return V1ObjectMeta(
        name=name,
        namespace=namespace,
        labels=standard_labels(category, username, application),
        annotations=merged,
    )
