"""api.md §11: the internal health route and the prefixed metadata route."""

from __future__ import annotations

from importlib.metadata import version

import httpx
import trio

from actors.config import ControllerConfig
from tests.web.conftest import minimal_config_data, run_server
from tests.web.trees import small_system


async def test_root_returns_package_metadata_without_null_fields(
    client: httpx.AsyncClient,
) -> None:
    with trio.fail_after(5):
        response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["name"] == "Nublado"
    assert body["version"] == version("nublado-trio")
    assert body["description"]
    # The package names no source repository (none is public yet): then the URL is empty.
    assert body["repository_url"] == "" or body["repository_url"].startswith("https://")
    assert "documentation_url" not in body


async def test_prefix_returns_the_same_metadata_wrapped(client: httpx.AsyncClient) -> None:
    with trio.fail_after(5):
        root = await client.get("/")
        prefixed = await client.get("/nublado")
    assert prefixed.status_code == 200
    assert prefixed.json() == {"metadata": root.json()}


async def test_configured_name_and_prefix_are_used() -> None:
    config = ControllerConfig.model_validate(
        minimal_config_data(name="Science Labs", pathPrefix="/labs")
    )
    with trio.fail_after(10):
        async with (
            run_server(config, small_system()) as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            response = await client.get("/labs")
            old_prefix = await client.get("/nublado")
    assert response.json()["metadata"]["name"] == "Science Labs"
    assert old_prefix.status_code == 404
