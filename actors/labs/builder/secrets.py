"""The user ``Secret`` (``<user>-nb``) and the copied image pull secret (§2.7, §2.8).

The caller reads the source secrets from the controller namespace (``required_source_secrets``
says which) and passes them in; this module only copies ``data`` values, already base64
encoded, verbatim. Errors name secrets and keys, never values.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

from kubernetes.client import V1Secret

from actors.common.labels import Category, standard_metadata
from actors.common.naming import PULL_SECRET_NAME, lab_object_name
from actors.config import ControllerConfig, LabConfig

from .errors import MissingSecretError

__all__ = [
    "TOKEN_KEY",
    "copy_pull_secret",
    "required_source_secrets",
    "user_secret",
]

TOKEN_KEY = "token"
"""Key of the user's delegated notebook token in the user Secret."""


def required_source_secrets(config: ControllerConfig | LabConfig) -> list[str]:
    """Sorted distinct names of the controller-namespace secrets ``lab.secrets`` copies from.

    The pull secret (``lab.pullSecret``) is not included: it is passed to the builder
    separately because it is copied whole under another name.
    """
    lab = config.lab if isinstance(config, ControllerConfig) else config
    return sorted({secret.secret_name for secret in lab.secrets})


def user_secret(
    lab: LabConfig,
    *,
    namespace: str,
    username: str,
    token: str,
    source_secrets: Mapping[str, V1Secret],
) -> V1Secret:
    """The immutable Opaque secret: every configured key copied, plus ``token``.

    Raises ``MissingSecretError`` for a source secret that was not passed in (the caller did
    not find it) or that lacks the configured key.
    """
    data: dict[str, str | bytes] = {}
    for entry in lab.secrets:
        source = source_secrets.get(entry.secret_name)
        if source is None:
            raise MissingSecretError(entry.secret_name)
        source_data = source.data or {}
        if entry.secret_key not in source_data:
            raise MissingSecretError(entry.secret_name, entry.secret_key)
        data[entry.secret_key] = source_data[entry.secret_key]
    data[TOKEN_KEY] = base64.b64encode(token.encode()).decode("ascii")
    metadata = standard_metadata(
        lab_object_name(username),
        namespace=namespace,
        category=Category.LAB,
        username=username,
        application=lab.application,
    )
    return V1Secret(
        api_version="v1", kind="Secret", metadata=metadata, type="Opaque", immutable=True, data=data
    )


def copy_pull_secret(
    lab: LabConfig, *, namespace: str, username: str, source: V1Secret | None
) -> V1Secret | None:
    """``pull-secret`` in the lab namespace, a copy of ``lab.pullSecret``; ``None`` if unset.

    Raises ``MissingSecretError`` when a pull secret is configured but ``source`` is None.
    """
    if lab.pull_secret is None:
        return None
    if source is None:
        raise MissingSecretError(lab.pull_secret)
    metadata = standard_metadata(
        PULL_SECRET_NAME,
        namespace=namespace,
        category=Category.LAB,
        username=username,
        application=lab.application,
    )
    return V1Secret(
        api_version="v1",
        kind="Secret",
        metadata=metadata,
        type=source.type,
        immutable=True,
        data=dict(source.data) if source.data is not None else None,
    )
