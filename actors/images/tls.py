"""TLS trust for the Docker registry client: the public CAs plus an operator's own.

A registry behind a private certificate authority (a site-internal registry, kubesim's TLS
listener) is reached by giving the controller that CA's certificate
(``images.source.caBundlePath``); it is trusted *in addition to* the public authorities
httpx trusts by default, never instead of them, so pointing the setting at a private CA
cannot break a registry with a public certificate.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi

__all__ = ["RegistryTLSError", "registry_ssl_context"]


class RegistryTLSError(Exception):
    """The CA file cannot be used; the message names it and says why."""


def registry_ssl_context(ca_bundle: Path) -> ssl.SSLContext:
    """A client context trusting the public CAs and those in ``ca_bundle``.

    Blocking (reads files): call it in a worker thread.
    """
    context = ssl.create_default_context(cafile=certifi.where())
    try:
        context.load_verify_locations(cafile=str(ca_bundle))
    except FileNotFoundError:
        raise RegistryTLSError(f"images.source.caBundlePath {ca_bundle} does not exist") from None
    except (OSError, ssl.SSLError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise RegistryTLSError(
            f"images.source.caBundlePath {ca_bundle} is not a PEM CA bundle: {reason}"
        ) from None
    return context
