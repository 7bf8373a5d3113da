"""The fake Docker registry: auth flows, tag pagination and manifest digests."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import trio

from kubesim.http import serve_http
from kubesim.registry import AuthConfig, FakeRegistry, RegistryData, demo_registry, parse_config

REPO = "lsstsqre/sciplat-lab"
CREDENTIALS = ("demo", "demo-password")


@asynccontextmanager
async def served(registry: FakeRegistry) -> AsyncIterator[httpx.AsyncClient]:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_http, registry)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            yield client
        nursery.cancel_scope.cancel()


def challenge_params(header: str) -> dict[str, str]:
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


async def fetch_token(
    client: httpx.AsyncClient, challenge: str, auth=CREDENTIALS
) -> httpx.Response:
    params = challenge_params(challenge)
    return await client.get(params["realm"], params=params, auth=auth)


def anonymous_registry() -> FakeRegistry:
    data = demo_registry()
    data.auth = AuthConfig(mode="anonymous")
    return FakeRegistry(data)


async def test_bearer_flow_challenge_token_then_access() -> None:
    with trio.fail_after(10):
        async with served(FakeRegistry(demo_registry())) as client:
            first = await client.get(f"/v2/{REPO}/tags/list")
            token = await fetch_token(client, first.headers["www-authenticate"])
            again = await client.get(
                f"/v2/{REPO}/tags/list",
                headers={"Authorization": f"Bearer {token.json()['token']}"},
            )
    assert first.status_code == 401
    params = challenge_params(first.headers["www-authenticate"])
    assert first.headers["www-authenticate"].startswith("Bearer ")
    assert params["service"] == "kubesim-registry"
    assert params["scope"] == f"repository:{REPO}:pull"
    assert first.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert token.status_code == 200
    assert token.json()["expires_in"] == 300
    assert again.status_code == 200
    assert "recommended" in again.json()["tags"]


async def test_base_endpoint_challenges_without_a_scope() -> None:
    with trio.fail_after(10):
        async with served(FakeRegistry(demo_registry())) as client:
            r = await client.get("/v2/")
    assert r.status_code == 401
    assert "scope" not in challenge_params(r.headers["www-authenticate"])
    assert challenge_params(r.headers["www-authenticate"])["realm"].endswith("/registry/token")


async def test_token_endpoint_rejects_wrong_credentials() -> None:
    with trio.fail_after(10):
        async with served(FakeRegistry(demo_registry())) as client:
            first = await client.get("/v2/")
            bad = await fetch_token(client, first.headers["www-authenticate"], ("demo", "wrong"))
            none = await client.get("/registry/token")
    assert bad.status_code == 401
    assert none.status_code == 401
    assert "wrong" not in bad.text


async def test_expired_token_gets_a_new_challenge_and_a_fresh_token_works() -> None:
    now = [0.0]
    data = demo_registry()
    data.auth = AuthConfig("bearer", "demo", "demo-password", token_lifetime=60)
    registry = FakeRegistry(data, clock=lambda: now[0])
    with trio.fail_after(10):
        async with served(registry) as client:
            challenge = (await client.get("/v2/")).headers["www-authenticate"]
            old = (await fetch_token(client, challenge)).json()["token"]
            ok = await client.get("/v2/", headers={"Authorization": f"Bearer {old}"})
            now[0] = 60.0
            expired = await client.get("/v2/", headers={"Authorization": f"Bearer {old}"})
            new = (await fetch_token(client, expired.headers["www-authenticate"])).json()["token"]
            refreshed = await client.get("/v2/", headers={"Authorization": f"Bearer {new}"})
    assert ok.status_code == 200
    assert expired.status_code == 401
    assert expired.headers["www-authenticate"].startswith("Bearer ")
    assert new != old
    assert refreshed.status_code == 200
    assert registry.tokens_issued == 2


async def test_basic_mode_challenges_with_basic_and_accepts_credentials() -> None:
    data = demo_registry()
    data.auth = AuthConfig("basic", "demo", "demo-password")
    with trio.fail_after(10):
        async with served(FakeRegistry(data)) as client:
            anonymous = await client.get("/v2/")
            wrong = await client.get("/v2/", auth=("demo", "nope"))
            right = await client.get("/v2/", auth=CREDENTIALS)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Basic ")
    assert wrong.status_code == 401
    assert right.status_code == 200


async def test_anonymous_mode_needs_no_credentials() -> None:
    with trio.fail_after(10):
        async with served(anonymous_registry()) as client:
            r = await client.get("/v2/")
    assert r.status_code == 200
    assert r.headers["docker-distribution-api-version"] == "registry/2.0"


async def test_tags_are_paginated_with_link_headers_until_the_end() -> None:
    with trio.fail_after(10):
        async with served(anonymous_registry()) as client:
            everything = (await client.get(f"/v2/{REPO}/tags/list")).json()["tags"]
            pages: list[list[str]] = []
            url: str | None = f"/v2/{REPO}/tags/list?n=5"
            while url is not None:
                r = await client.get(url)
                pages.append(r.json()["tags"])
                link = r.headers.get("link")
                url = re.match(r'<([^>]+)>; rel="next"', link).group(1) if link else None
    assert everything == sorted(everything)
    assert [tag for page in pages for tag in page] == everything
    assert all(len(page) == 5 for page in pages[:-1])
    assert 0 < len(pages[-1]) <= 5
    assert len(pages) == (len(everything) + 4) // 5


async def test_server_page_size_applies_when_client_sends_no_n() -> None:
    data = parse_config(
        "page_size: 2\nrepositories: [{name: a/b, tags: [{tag: x}, {tag: y}, {tag: z}]}]"
    )
    with trio.fail_after(10):
        async with served(FakeRegistry(data)) as client:
            first = await client.get("/v2/a/b/tags/list")
            last = await client.get("/v2/a/b/tags/list", params={"last": "y"})
    assert first.json() == {"name": "a/b", "tags": ["x", "y"]}
    assert first.headers["link"] == '</v2/a/b/tags/list?n=2&last=y>; rel="next"'
    assert last.json()["tags"] == ["z"]
    assert "link" not in last.headers


async def test_manifest_head_returns_the_digest_and_aliases_share_it() -> None:
    with trio.fail_after(10):
        async with served(anonymous_registry()) as client:
            weekly = await client.head(f"/v2/{REPO}/manifests/w_2026_46")
            alias = await client.head(f"/v2/{REPO}/manifests/recommended")
            other = await client.head(f"/v2/{REPO}/manifests/w_2026_45")
            by_digest = await client.get(
                f"/v2/{REPO}/manifests/{weekly.headers['docker-content-digest']}"
            )
    digest = weekly.headers["docker-content-digest"]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    assert alias.headers["docker-content-digest"] == digest
    assert other.headers["docker-content-digest"] != digest
    assert weekly.content == b""
    assert by_digest.status_code == 200
    assert by_digest.json()["schemaVersion"] == 2


async def test_unknown_repository_and_tag_are_404_with_registry_error_codes() -> None:
    with trio.fail_after(10):
        async with served(anonymous_registry()) as client:
            repo = await client.get("/v2/no/such/tags/list")
            tag = await client.get(f"/v2/{REPO}/manifests/w_1999_01")
    assert repo.status_code == 404
    assert repo.json()["errors"][0]["code"] == "NAME_UNKNOWN"
    assert tag.status_code == 404
    assert tag.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"


async def test_configured_digests_and_aliases_load_from_yaml() -> None:
    digest = "sha256:" + "ab" * 32
    data = parse_config(
        f"""
        repositories:
          - name: team/lab
            tags:
              - {{tag: w_2026_01, digest: "{digest}"}}
              - {{tag: recommended, alias_of: w_2026_01}}
        """
    )
    assert data.find("team/lab", "recommended").digest == digest
    assert data.lookup_image(f"ghcr.io/team/lab:recommended@{digest}").tag == "w_2026_01"
    assert data.digest_of("127.0.0.1:5000/team/lab:w_2026_01") == digest


async def test_deleting_a_manifest_removes_all_its_tags() -> None:
    data = RegistryData()
    repo = data.repository("x/y")
    info = repo.set_tag("w_2026_01")
    repo.set_tag("recommended", info.digest)
    repo.set_tag("w_2026_02")
    with trio.fail_after(10):
        async with served(FakeRegistry(data)) as client:
            r = await client.delete(f"/v2/x/y/manifests/{info.digest}")
            tags = (await client.get("/v2/x/y/tags/list")).json()["tags"]
    assert r.status_code == 202
    assert tags == ["w_2026_02"]
