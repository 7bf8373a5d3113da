"""Pure builders of a user lab's Kubernetes objects, and the inverse used by reconciliation.

Public entry points::

    from actors.labs.builder import build_lab, required_source_secrets, parse_lab_state

    names = required_source_secrets(config)          # read these from the controller namespace
    objects = build_lab(config, request, source_secrets=..., pull_secret=..., discovery=...)
    # create objects.namespace, then objects.namespaced_objects(), then objects.pod

One module per object family (``namespace``, ``environment``, ``nss``, ``files``,
``secrets``, ``quota``, ``network``, ``storage``, ``volumes``, ``containers``, ``pod``); the
shared label and annotation keys are in ``labels`` and every name in ``naming``.
"""

from actors.common.naming import home_directory, internal_url, lab_namespace, lab_username
from actors.common.resources import size_resources

from .errors import (
    FileKeyError,
    LabBuildError,
    MissingSecretError,
    NamespaceAnnotationError,
    UserIdentityError,
)
from .facts import (
    EnvFacts,
    LabPodFacts,
    NamespaceFacts,
    QuotaFacts,
    UnreadableObjectError,
    env_facts,
    namespace_facts,
    pod_facts,
    quota_facts,
)
from .lab import LabObjects, NamespacedLabObject, build_lab, check_lab_config
from .reconstruct import (
    IncompleteLabError,
    match_size,
    parse_lab_state,
    rebuild_lab_state,
    reconstruct_lab_state,
)
from .secrets import required_source_secrets

__all__ = [
    "EnvFacts",
    "FileKeyError",
    "IncompleteLabError",
    "LabBuildError",
    "LabObjects",
    "LabPodFacts",
    "MissingSecretError",
    "NamespaceAnnotationError",
    "NamespaceFacts",
    "NamespacedLabObject",
    "QuotaFacts",
    "UnreadableObjectError",
    "UserIdentityError",
    "build_lab",
    "check_lab_config",
    "env_facts",
    "home_directory",
    "internal_url",
    "lab_namespace",
    "lab_username",
    "match_size",
    "namespace_facts",
    "parse_lab_state",
    "pod_facts",
    "quota_facts",
    "rebuild_lab_state",
    "reconstruct_lab_state",
    "required_source_secrets",
    "size_resources",
]
