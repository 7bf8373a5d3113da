"""Credentials: kubeconfig and in-cluster loading, and per-request bearer tokens."""

from __future__ import annotations

import ssl
from pathlib import Path

import trio

from actors.kube.credentials import Authorizer, BearerTokenAuth, load_incluster, load_kubeconfig

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: sim
  cluster: {server: "http://127.0.0.1:6443"}
users:
- name: controller
  user: {token: kubeconfig-token}
contexts:
- name: sim
  context: {cluster: sim, user: controller}
current-context: sim
"""


async def _header_sent(auth: Authorizer) -> str | None:
    return await auth.authorization()


async def test_kubeconfig_gives_base_url_and_bearer_token(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(KUBECONFIG)
    with trio.fail_after(10):
        creds = await load_kubeconfig(str(path))
    assert creds.base_url == "http://127.0.0.1:6443"
    assert creds.auth is not None
    assert await _header_sent(creds.auth) == "Bearer kubeconfig-token"
    assert "kubeconfig-token" not in repr(creds.auth)


async def test_incluster_uses_service_account_token_and_ca(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("service-account-token")
    ca = Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    with trio.fail_after(10):
        creds = await load_incluster(token_path=str(token), ca_path=str(ca), environ=env)
    assert creds.base_url == "https://10.0.0.1:443"
    assert isinstance(creds.verify, ssl.SSLContext)
    assert creds.verify.verify_mode == ssl.CERT_REQUIRED
    assert creds.auth is not None
    assert await _header_sent(creds.auth) == "Bearer service-account-token"


async def test_bearer_auth_refreshes_after_its_interval() -> None:
    now = [0.0]
    tokens = iter(["Bearer one", "bearer two"])
    auth = BearerTokenAuth(lambda: next(tokens), refresh_interval=60, clock=lambda: now[0])
    with trio.fail_after(10):
        assert await _header_sent(auth) == "Bearer one"
        now[0] = 59.0
        assert await _header_sent(auth) == "Bearer one"
        now[0] = 61.0
        # The in-cluster loader spells the scheme in lower case; it is normalised.
        assert await _header_sent(auth) == "Bearer two"
