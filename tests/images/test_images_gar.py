"""The Google Artifact Registry client and the image sources, against kubesim over HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import trio

from actors.config.images import GARSource, ImagesConfig
from actors.images.errors import ArtifactRegistryError, UnknownTagError
from actors.images.gar import ArtifactRegistryClient
from actors.images.source import (
    DockerImageSource,
    GARImageSource,
    ImageSource,
    SourceEndpoints,
    build_image_source,
)
from actors.images.tags import ImageType
from kubesim import artifact_registry, registry
from kubesim.artifact_registry import ArtifactRegistryData, FakeArtifactRegistry
from kubesim.site import Site, SiteConfig, run_site

SOURCE = GARSource(
    location="us-central1", project_id="kubesim-project", repository="sciplat", image="sketchbook"
)


def example_data() -> ArtifactRegistryData:
    """The GAR variant of images.md §11, plus an untagged manifest and another image."""
    data = ArtifactRegistryData(location="us-central1", project_id="kubesim-project")
    data.add("sketchbook", ["w_2077_43", "recommended", "latest_weekly"], size=65537)
    data.add("sketchbook", ["w_2077_42"], size=65538)
    data.add("sketchbook", ["w_2077_41"], size=65539)
    data.add("sketchbook", ["exp_w_2077_41_testing"], size=1)
    data.add("sketchbook", ["w_2077_44-amd64"], size=2)
    data.add("sketchbook", [], digest="sha256:untagged", size=3)
    data.add("other", ["w_2077_43", "latest"], size=4)
    return data


@dataclass
class Sim:
    site: Site
    gar: FakeArtifactRegistry
    http: httpx.AsyncClient

    @property
    def url(self) -> str:
        assert self.site.url is not None
        return self.site.url

    def client(self, **options: object) -> ArtifactRegistryClient:
        return ArtifactRegistryClient(
            self.http,
            SOURCE,
            api_url=f"{self.url}/artifactregistry",
            metadata_url=self.url,
            retry_delay=0.01,
            **options,  # type: ignore[arg-type]
        )


@asynccontextmanager
async def simulated(data: ArtifactRegistryData | None = None) -> AsyncIterator[Sim]:
    installed: list[FakeArtifactRegistry] = []

    def setup(site: Site) -> None:
        installed.append(artifact_registry.install(site, data or example_data()))
        fake_docker = registry.FakeRegistry(registry.demo_registry())
        site.mount(registry.V2_PREFIX, fake_docker)
        site.mount(registry.TOKEN_PATH, fake_docker)

    async with run_site(SiteConfig(seed=3), setup=setup) as site, httpx.AsyncClient() as http:
        yield Sim(site, installed[0], http)


async def test_lists_every_tag_of_the_configured_image_with_digest_and_size() -> None:
    with trio.fail_after(10):
        async with simulated() as sim:
            remote = await sim.client(page_size=2).list_images()
    assert remote.registry == "us-central1-docker.pkg.dev"
    assert remote.repository == "kubesim-project/sciplat/sketchbook"
    by_tag = {image.tag: image for image in remote.images}
    assert set(by_tag) == {"w_2077_43", "recommended", "latest_weekly", "w_2077_42",
                           "w_2077_41", "exp_w_2077_41_testing", "w_2077_44-amd64"}  # fmt: skip
    assert by_tag["recommended"].digest == by_tag["w_2077_43"].digest
    assert by_tag["w_2077_42"].size == 65538
    assert sim.gar.api_calls == 4  # 7 manifests, 2 per page


async def test_listing_resolves_gar_aliases_in_a_collection() -> None:
    with trio.fail_after(10):
        async with simulated() as sim:
            collection = (await sim.client().list_images()).to_collection()
    names = {i.tag: i.display_name for i in collection.all_images()}
    assert names["recommended"] == "Recommended (Weekly 2077_43)"
    assert names["latest_weekly"] == "Latest Weekly (Weekly 2077_43)"
    assert collection.latest(ImageType.WEEKLY).tag == "w_2077_43"  # type: ignore[union-attr]


async def test_metadata_token_is_cached_until_it_expires() -> None:
    now = [100.0]
    with trio.fail_after(10):
        async with simulated() as sim:
            client = sim.client(clock=lambda: now[0])
            await client.list_images()
            await client.list_images()
            assert sim.gar.tokens_issued == 1
            now[0] += 3600
            await client.list_images()
    assert sim.gar.tokens_issued == 2


async def test_unavailable_listing_is_retried_three_times_with_the_delay() -> None:
    with trio.fail_after(10):
        async with simulated() as sim:
            sim.gar.fail_next(3, status=503)
            start = trio.current_time()
            remote = await sim.client().list_images()
            elapsed = trio.current_time() - start
    assert len(remote.images) == 7
    assert sim.gar.api_calls == 4
    assert elapsed >= 0.03


async def test_fourth_failure_propagates() -> None:
    with trio.fail_after(10):
        async with simulated() as sim:
            sim.gar.fail_next(4, status=500)
            with pytest.raises(ArtifactRegistryError, match="HTTP 500") as caught:
                await sim.client().list_images()
    assert caught.value.status == 500
    assert sim.gar.api_calls == 4


async def test_other_errors_are_not_retried() -> None:
    with trio.fail_after(10):
        async with simulated() as sim:
            sim.gar.fail_next(1, status=403)
            with pytest.raises(ArtifactRegistryError, match="HTTP 403"):
                await sim.client().list_images()
    assert sim.gar.api_calls == 1


async def test_configured_access_token_is_used_and_a_bad_one_is_reported() -> None:
    data = example_data()
    data.static_tokens = ["configured-token"]
    with trio.fail_after(10):
        async with simulated(data) as sim:
            remote = await sim.client(access_token="configured-token").list_images()
            with pytest.raises(ArtifactRegistryError, match="HTTP 401") as caught:
                await sim.client(access_token="bad-token").list_images()
    assert len(remote.images) == 7
    assert sim.gar.tokens_issued == 0
    assert "bad-token" not in str(caught.value)


async def test_unreachable_metadata_server_is_a_clear_error() -> None:
    with trio.fail_after(10):
        async with simulated() as sim:
            client = ArtifactRegistryClient(
                sim.http, SOURCE, api_url=f"{sim.url}/artifactregistry",
                metadata_url="http://127.0.0.1:9", retry_delay=0,
            )  # fmt: skip
            with pytest.raises(ArtifactRegistryError, match="metadata server") as caught:
                await client.list_images()
    assert "(caused by " in str(caught.value), "the connect error's reason is missing"


async def test_resolve_tag() -> None:
    with trio.fail_after(10):
        async with simulated() as sim:
            client = sim.client()
            digest = await client.resolve_tag("recommended")
            listed = {i.tag: i.digest for i in (await client.list_images()).images}
            with pytest.raises(UnknownTagError):
                await client.resolve_tag("latest")  # a tag of the other image only
    assert digest == listed["w_2077_43"]


# -- building sources from configuration ---------------------------------------------------


async def test_build_gar_source_from_configuration() -> None:
    config = ImagesConfig.model_validate({"source": SOURCE.model_dump(by_alias=True)})
    with trio.fail_after(10):
        async with simulated() as sim:
            endpoints = SourceEndpoints(
                gar_api_url=f"{sim.url}/artifactregistry", gar_metadata_url=sim.url
            )
            source = await build_image_source(config, sim.http, endpoints)
            remote = await source.list_images()
    assert isinstance(source, GARImageSource)
    assert isinstance(source, ImageSource)
    assert source.registry == remote.registry == "us-central1-docker.pkg.dev"
    assert len(remote.images) == 7


async def test_build_docker_source_with_credentials_file(tmp_path: Path) -> None:
    path = tmp_path / ".dockerconfigjson"
    with trio.fail_after(10):
        async with simulated() as sim:
            host = sim.url.removeprefix("http://")
            auth = base64.b64encode(b"demo:demo-password").decode()
            path.write_text(json.dumps({"auths": {host: {"auth": auth}}}))
            config = ImagesConfig.model_validate(
                {
                    "source": {"type": "docker", "registry": host,
                               "repository": "lsstsqre/sciplat-lab"},
                    "dockerCredentialsPath": str(path),
                }
            )  # fmt: skip
            source = await build_image_source(
                config, sim.http, SourceEndpoints(docker_base_url=sim.url)
            )
            remote = await source.list_images()
            digest = await source.resolve_tag("recommended")
    assert isinstance(source, DockerImageSource)
    assert "recommended" in remote.tags
    assert all(image.digest is None for image in remote.images)
    assert digest == registry.demo_registry().digest_of("lsstsqre/sciplat-lab:w_2026_46")
    collection = remote.to_collection(aliases={"recommended"})
    assert collection.image_for_tag("recommended").image_type is ImageType.ALIAS  # type: ignore[union-attr]


async def test_fake_metadata_server_requires_the_flavor_header_and_demo_data_serves() -> None:
    demo_source = SOURCE.model_copy(update={"image": "sciplat-lab"})
    with trio.fail_after(10):
        async with simulated(artifact_registry.demo_artifact_registry()) as sim:
            bare = await sim.http.get(sim.url + artifact_registry.METADATA_TOKEN_PATH)
            client = ArtifactRegistryClient(
                sim.http, demo_source, api_url=f"{sim.url}/artifactregistry",
                metadata_url=sim.url,
            )  # fmt: skip
            remote = await client.list_images()
    assert bare.status_code == 403
    assert remote.tags == set(registry.demo_registry().repositories["lsstsqre/sciplat-lab"].tags)
