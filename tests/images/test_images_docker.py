"""The Docker Registry v2 client against kubesim's fake registry over real HTTP."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import trio

from actors.images.credentials import DockerCredentials, DockerCredentialStore
from actors.images.docker import MANIFEST_MEDIA_TYPES, DockerRegistryClient, parse_challenge
from actors.images.errors import DockerRegistryError, RegistryAuthError, UnknownTagError
from kubesim.http import Request, Response
from kubesim.registry import AuthConfig, FakeRegistry, RegistryData, demo_registry

from .conftest import Recorder, http_client, serving

REPO = "lsstsqre/sciplat-lab"
DEMO_TAGS = set(demo_registry().repositories[REPO].tags)


class Clock:
    """A settable clock for both the fake registry and the client."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def registry_data(mode: str, *, password: str = "demo-password", lifetime: float = 300):
    data = demo_registry()
    data.auth = AuthConfig(mode=mode, username="demo", password=password, token_lifetime=lifetime)
    return data


def store_for(url: str, username: str = "demo", password: str = "demo-password"):
    host = url.removeprefix("http://")
    return DockerCredentialStore({host: DockerCredentials(username, password)})


def client_for(http, url: str, store=None, clock=None) -> DockerRegistryClient:
    return DockerRegistryClient(
        http,
        registry=url.removeprefix("http://"),
        credentials=store,
        base_url=url,
        clock=clock,
    )


# -- listing and digests ---------------------------------------------------------------------


async def test_anonymous_registry_lists_every_tag_and_reads_a_digest() -> None:
    fake = FakeRegistry(registry_data("anonymous"))
    with trio.fail_after(10):
        async with serving(fake) as url, http_client() as http:
            client = client_for(http, url)
            tags = await client.list_tags(REPO)
            digest = await client.get_digest(REPO, "recommended")
    assert tags == DEMO_TAGS
    assert digest == fake.data.find(REPO, "w_2026_46").digest  # type: ignore[union-attr]


async def test_tag_listing_follows_link_pagination() -> None:
    data = registry_data("anonymous")
    data.page_size = 3
    recorder = Recorder(FakeRegistry(data))
    with trio.fail_after(10):
        async with serving(recorder) as url, http_client() as http:
            tags = await client_for(http, url).list_tags(REPO)
    assert tags == DEMO_TAGS
    assert len(recorder.requests) == -(-len(DEMO_TAGS) // 3)
    assert all(r.headers["accept"] == "application/json" for r in recorder.requests)


async def test_digest_request_is_a_head_with_the_manifest_accept_list() -> None:
    recorder = Recorder(FakeRegistry(registry_data("anonymous")))
    with trio.fail_after(10):
        async with serving(recorder) as url, http_client() as http:
            await client_for(http, url).get_digest(REPO, "w_2026_46")
    (request,) = recorder.requests
    assert (request.method, request.path) == ("HEAD", f"/v2/{REPO}/manifests/w_2026_46")
    assert request.headers["accept"] == ", ".join(MANIFEST_MEDIA_TYPES)
    assert request.headers["accept"].startswith(
        "application/vnd.docker.distribution.manifest.v2+json, "
    )


async def test_unknown_tag_is_an_unknown_tag_error() -> None:
    with trio.fail_after(10):
        async with serving(FakeRegistry(registry_data("anonymous"))) as url, http_client() as h:
            with pytest.raises(UnknownTagError, match="no_such_tag"):
                await client_for(h, url).get_digest(REPO, "no_such_tag")


async def test_unknown_repository_reports_the_registry_error_code() -> None:
    with trio.fail_after(10):
        async with serving(FakeRegistry(registry_data("anonymous"))) as url, http_client() as h:
            with pytest.raises(DockerRegistryError, match="NAME_UNKNOWN") as caught:
                await client_for(h, url).list_tags("no/such-repo")
    assert caught.value.status == 404


# -- authentication --------------------------------------------------------------------------


async def test_basic_auth_challenge_is_answered_once_then_reused() -> None:
    recorder = Recorder(FakeRegistry(registry_data("basic")))
    with trio.fail_after(10):
        async with serving(recorder) as url, http_client() as http:
            client = client_for(http, url, store_for(url))
            await client.list_tags(REPO)
            await client.get_digest(REPO, "r28_0_0")
    assert recorder.statuses() == [401, 200, 200]
    assert recorder.requests[-1].headers["authorization"].startswith("Basic ")


async def test_bearer_token_is_fetched_once_and_cached() -> None:
    fake = FakeRegistry(registry_data("bearer"))
    recorder = Recorder(fake)
    with trio.fail_after(10):
        async with serving(recorder) as url, http_client() as http:
            client = client_for(http, url, store_for(url))
            async with trio.open_nursery() as nursery:
                for tag in ("r27_0_0", "r28_0_0", "w_2026_40", "w_2026_41"):
                    nursery.start_soon(client.get_digest, REPO, tag)
            await client.list_tags(REPO)
    assert fake.tokens_issued == 1
    token_requests = [r for r in recorder.requests if r.path == "/registry/token"]
    assert token_requests[0].query["service"] == "kubesim-registry"
    assert token_requests[0].query["realm"].endswith("/registry/token")  # all params sent


async def test_token_expired_at_the_server_is_replaced_not_treated_as_rejected() -> None:
    server_clock = Clock()
    fake = FakeRegistry(registry_data("bearer", lifetime=300), clock=server_clock)
    with trio.fail_after(10):
        async with serving(fake) as url, http_client() as http:
            client = client_for(http, url, store_for(url))
            await client.list_tags(REPO)
            server_clock.now += 301  # the server expires it; the client still trusts it
            tags = await client.list_tags(REPO)
    assert tags == DEMO_TAGS
    assert fake.tokens_issued == 2


async def test_token_known_to_be_expired_is_refreshed_before_the_request() -> None:
    clock = Clock()
    fake = FakeRegistry(registry_data("bearer", lifetime=300), clock=clock)
    recorder = Recorder(fake)
    with trio.fail_after(10):
        async with serving(recorder) as url, http_client() as http:
            client = client_for(http, url, store_for(url), clock=clock)
            await client.list_tags(REPO)
            clock.now += 295  # inside the client's early-refresh margin
            await client.list_tags(REPO)
    assert fake.tokens_issued == 2
    assert recorder.statuses().count(401) == 1  # only the very first request was challenged


async def test_wrong_password_for_basic_is_credentials_rejected() -> None:
    fake = FakeRegistry(registry_data("basic"))
    with trio.fail_after(10):
        async with serving(fake) as url, http_client() as http:
            client = client_for(http, url, store_for(url, password="wrong"))
            with pytest.raises(RegistryAuthError, match="credentials rejected") as caught:
                await client.list_tags(REPO)
    assert "wrong" not in str(caught.value)


async def test_wrong_password_for_bearer_fails_at_the_token_endpoint() -> None:
    fake = FakeRegistry(registry_data("bearer"))
    with trio.fail_after(10):
        async with serving(fake) as url, http_client() as http:
            client = client_for(http, url, store_for(url, password="wrong"))
            with pytest.raises(RegistryAuthError, match=r"token request .* HTTP 401") as caught:
                await client.get_digest(REPO, "r28_0_0")
    assert "wrong" not in str(caught.value)


async def test_challenge_without_credentials_for_the_host_fails_clearly() -> None:
    fake = FakeRegistry(registry_data("bearer"))
    with trio.fail_after(10):
        async with serving(fake) as url, http_client() as http:
            other_host = DockerCredentialStore({"elsewhere.org": DockerCredentials("a", "b")})
            client = client_for(http, url, other_host)
            with pytest.raises(RegistryAuthError, match="no credentials are configured"):
                await client.list_tags(REPO)


async def test_unsupported_challenge_scheme_and_missing_challenge_fail() -> None:
    async def negotiate(request: Request) -> Response:
        response = Response.json(401, {})
        if request.path.endswith("tags/list"):
            response.headers.append(("WWW-Authenticate", 'Negotiate realm="x"'))
        return response

    with trio.fail_after(10):
        async with serving(negotiate) as url, http_client() as http:
            client = client_for(http, url, store_for(url))
            with pytest.raises(RegistryAuthError, match="unsupported authentication scheme"):
                await client.list_tags(REPO)
            with pytest.raises(RegistryAuthError, match="without a WWW-Authenticate"):
                await client.get_digest(REPO, "x")


# -- protocol errors -------------------------------------------------------------------------


def paginated(link: str):
    async def handler(request: Request) -> Response:
        return Response.json(200, {"tags": ["a"]}, headers=[("Link", f'<{link}>; rel="next"')])

    return handler


async def test_pagination_loop_is_an_error() -> None:
    with trio.fail_after(10):
        async with serving(paginated(f"/v2/{REPO}/tags/list")) as url, http_client() as http:
            with pytest.raises(DockerRegistryError, match="loops back"):
                await client_for(http, url).list_tags(REPO)


async def test_next_page_on_another_host_is_an_error() -> None:
    with trio.fail_after(10):
        async with serving(paginated("https://evil.example/v2/x")) as url, http_client() as http:
            with pytest.raises(DockerRegistryError, match="outside"):
                await client_for(http, url).list_tags(REPO)


async def test_server_error_and_bad_body_and_missing_digest_header() -> None:
    async def broken(request: Request) -> Response:
        if "manifests" in request.path:
            return Response(200)
        if "bad" in request.path:
            return Response(200, b"not json")
        return Response.json(500, {"errors": [{"code": "UNKNOWN", "message": "boom"}]})

    with trio.fail_after(10):
        async with serving(broken) as url, http_client() as http:
            client = client_for(http, url)
            with pytest.raises(DockerRegistryError, match="HTTP 500: UNKNOWN boom") as caught:
                await client.list_tags(REPO)
            assert caught.value.status == 500
            with pytest.raises(DockerRegistryError, match="not JSON"):
                await client.list_tags("bad/repo")
            with pytest.raises(DockerRegistryError, match="no Docker-Content-Digest"):
                await client.get_digest(REPO, "x")


async def test_unreachable_registry_is_a_registry_error() -> None:
    with trio.fail_after(10):
        async with serving(paginated("/")) as url:
            pass  # the port is closed again
        async with http_client() as http:
            with pytest.raises(DockerRegistryError, match="ConnectError") as caught:
                await client_for(http, url).list_tags(REPO)
    # httpx's ConnectError says nothing itself; the reason is in its cause.
    assert "(caused by ConnectionRefusedError" in str(caught.value)


async def test_empty_repository_lists_no_tags() -> None:
    data = RegistryData()
    data.repository("empty/repo")
    with trio.fail_after(10):
        async with serving(FakeRegistry(data)) as url, http_client() as http:
            assert await client_for(http, url).list_tags("empty/repo") == set()


# -- challenge parsing and credentials ---------------------------------------------------------


def test_challenge_parameters_may_contain_commas_and_escapes() -> None:
    challenge = parse_challenge(
        'Bearer realm="https://auth.example/token",service="registry",'
        'scope="repository:a/b:pull,push",note="say \\"hi\\"", bare=token68'
    )
    assert challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": "https://auth.example/token",
        "service": "registry",
        "scope": "repository:a/b:pull,push",
        "note": 'say "hi"',
        "bare": "token68",
    }


def docker_config(entries: dict[str, str]) -> dict[str, object]:
    return {
        "auths": {
            host: {"auth": base64.b64encode(pair.encode()).decode()}
            for host, pair in entries.items()
        }
    }


def test_credentials_lookup_exact_host_then_domain() -> None:
    store = DockerCredentialStore.from_config(
        docker_config({"example.org": "dom:one", "reg.example.org": "exact:two:with:colons"})
    )
    assert store.for_host("reg.example.org") == DockerCredentials("exact", "two:with:colons")
    assert store.for_host("other.example.org") == DockerCredentials("dom", "one")
    assert store.for_host("notexample.org") is None
    assert "two:with" not in repr(store.for_host("reg.example.org"))


async def test_credentials_file_is_loaded_and_a_missing_file_means_anonymous(
    tmp_path: Path,
) -> None:
    path = tmp_path / ".dockerconfigjson"
    path.write_text(json.dumps(docker_config({"lighthouse.ceres": "u:p"})))
    with trio.fail_after(10):
        store = await DockerCredentialStore.load(path)
        missing = await DockerCredentialStore.load(tmp_path / "absent")
        none = await DockerCredentialStore.load(None)
    assert store.for_host("lighthouse.ceres") == DockerCredentials("u", "p")
    assert len(missing) == len(none) == 0


async def test_malformed_credentials_file_names_the_file_not_the_secret(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"auths": {"h": {"auth": "c2VjcmV0"}}}')  # base64 of "secret", no colon
    with trio.fail_after(10), pytest.raises(RegistryAuthError, match=r"config\.json") as caught:
        await DockerCredentialStore.load(path)
    assert "secret" not in str(caught.value)
