"""The registry over HTTPS: kubesim's TLS listener and our client trusting its private CA.

Real registries speak HTTPS and name an absolute token realm on the scheme and host they
were reached by; kubesim's TLS listener does the same, so any registry client works
against it given the CA file it writes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import trio

from actors.config import ControllerConfig
from actors.controller import ControllerSetupError, open_controller
from actors.images.credentials import DockerCredentials, DockerCredentialStore
from actors.images.docker import DockerRegistryClient, parse_challenge
from actors.images.errors import DockerRegistryError
from actors.images.tls import registry_ssl_context
from actors.kube import KubeClient
from kubesim.registry import AuthConfig, FakeRegistry, demo_registry
from kubesim.tls import RegistryTLS, serve_registry_tls
from web.simulate import CONTROLLER_NAMESPACE, demo_config_data, simulated_cluster

from .conftest import serving

REPO = "lsstsqre/sciplat-lab"


def _bearer_registry() -> FakeRegistry:
    data = demo_registry()
    data.auth = AuthConfig(mode="bearer", username="demo", password="demo-password")
    return FakeRegistry(data)


@asynccontextmanager
async def tls_registry(fake: FakeRegistry, directory: Path) -> AsyncIterator[RegistryTLS]:
    async with trio.open_nursery() as nursery:
        tls: RegistryTLS = await nursery.start(serve_registry_tls, fake, directory)
        try:
            yield tls
        finally:
            nursery.cancel_scope.cancel()


async def test_our_client_lists_and_resolves_over_tls_with_a_bearer_token(tmp_path: Path) -> None:
    fake = _bearer_registry()
    with trio.fail_after(20):
        async with tls_registry(fake, tmp_path) as tls:
            context = await trio.to_thread.run_sync(registry_ssl_context, tls.ca_path)
            async with httpx.AsyncClient(verify=context) as http:
                credentials = DockerCredentialStore(
                    {tls.address: DockerCredentials("demo", "demo-password")}
                )
                client = DockerRegistryClient(http, registry=tls.address, credentials=credentials)
                tags = await client.list_tags(REPO)
                digest = await client.get_digest(REPO, "recommended")
    assert tags == set(fake.data.repositories[REPO].tags)
    assert digest == fake.data.find(REPO, "recommended").digest  # type: ignore[union-attr]
    assert fake.tokens_issued >= 1  # the https realm was followed


async def test_without_the_ca_the_certificate_is_refused(tmp_path: Path) -> None:
    with trio.fail_after(20):
        async with tls_registry(_bearer_registry(), tmp_path) as tls, httpx.AsyncClient() as http:
            client = DockerRegistryClient(http, registry=tls.address)
            with pytest.raises(DockerRegistryError, match="CERTIFICATE_VERIFY_FAILED"):
                await client.list_tags(REPO)


async def test_the_realm_follows_the_scheme_and_host_the_registry_was_reached_by(
    tmp_path: Path,
) -> None:
    fake = _bearer_registry()
    with trio.fail_after(20):
        async with tls_registry(fake, tmp_path) as tls, serving(fake) as plain_url:
            context = await trio.to_thread.run_sync(registry_ssl_context, tls.ca_path)
            async with httpx.AsyncClient(verify=context) as http:
                secure = await http.get(f"{tls.url}/v2/")
                by_name = await http.get(f"https://localhost:{tls.port}/v2/{REPO}/tags/list")
                plain = await http.get(f"{plain_url}/v2/")
                # Not the registry: the TLS listener serves nothing else.
                other = await http.get(f"{tls.url}/api/v1/namespaces")
    realms = [
        parse_challenge(response.headers["www-authenticate"]).params["realm"]
        for response in (secure, by_name, plain)
    ]
    assert realms == [
        f"https://127.0.0.1:{tls.port}/registry/token",
        f"https://localhost:{tls.port}/registry/token",
        f"{plain_url}/registry/token",
    ]
    assert parse_challenge(by_name.headers["www-authenticate"]).params["scope"] == (
        f"repository:{REPO}:pull"
    )
    assert other.status_code == 404


def _credentials(directory: Path, registry: str) -> Path:
    path = directory / "dockerconfig.json"
    login = base64.b64encode(b"demo:demo-password").decode()
    path.write_text(json.dumps({"auths": {registry: {"auth": login}}}))
    return path


async def test_the_controller_refreshes_images_from_a_tls_registry_given_its_ca(
    tmp_path: Path,
) -> None:
    async with simulated_cluster() as site:
        fake = site.mounted("/v2")
        assert isinstance(fake, FakeRegistry)
        assert site.url is not None
        with trio.fail_after(30):
            async with tls_registry(fake, tmp_path) as tls:
                data = demo_config_data(site.url, _credentials(tmp_path, tls.address))
                data["images"]["source"]["registry"] = tls.address
                data["images"]["source"]["caBundlePath"] = str(tls.ca_path)
                config = ControllerConfig.model_validate(data)
                async with (
                    open_controller(
                        config,
                        kube=KubeClient.for_url(site.url),
                        controller_namespace=CONTROLLER_NAMESPACE,
                        environ={},
                    ) as controller,
                    trio.open_nursery() as nursery,
                ):
                    await nursery.start(controller.system.run)
                    assert controller.images is not None
                    await controller.images.refresh()
                    images = await controller.images.spawner_images()
                    controller.system.stop()
    assert images.recommended is not None
    assert images.recommended.reference.startswith(f"{tls.address}/{REPO}:")


async def test_a_missing_ca_file_stops_the_controller_with_a_message(tmp_path: Path) -> None:
    data = demo_config_data("http://127.0.0.1:1", tmp_path / "none.json")
    data["images"]["source"]["caBundlePath"] = str(tmp_path / "absent.pem")
    config = ControllerConfig.model_validate(data)
    with pytest.raises(ControllerSetupError, match=r"caBundlePath .*absent\.pem does not exist"):
        async with open_controller(
            config,
            kube=KubeClient.for_url("http://127.0.0.1:1"),
            controller_namespace=CONTROLLER_NAMESPACE,
            environ={},
        ):
            pass
