"""Percent-encoded names in API paths, over raw HTTP: each segment is decoded on its own.

kubesim splits the path at its literal slashes and only then decodes each segment, so an
encoded name is one name (``nb-a%3Fx`` is the namespace ``nb-a?x``, not ``nb-a`` with a
query). Names a path cannot carry are 400 ``BadRequest`` as on a real API server; any other
name nobody has is a 404; creating an object with a name that is not a DNS name is 422.
"""

from __future__ import annotations

import httpx
import pytest
import trio

NS = "/api/v1/namespaces"


async def _neighbour(kube: httpx.AsyncClient) -> str:
    """Create namespace ``user00000`` with a pod ``p``; return the namespace's uid."""
    created = await kube.post(NS, json={"metadata": {"name": "user00000"}})
    assert created.status_code == 201
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}}
    assert (await kube.post(f"{NS}/user00000/pods", json=pod)).status_code == 201
    return str(created.json()["metadata"]["uid"])


async def _assert_neighbour_intact(kube: httpx.AsyncClient, uid: str) -> None:
    namespace = (await kube.get(f"{NS}/user00000")).json()
    assert namespace["metadata"]["uid"] == uid
    assert "deletionTimestamp" not in namespace["metadata"]
    assert (await kube.get(f"{NS}/user00000/pods/p")).status_code == 200


@pytest.mark.parametrize(
    "segment",
    ["user00000%3Fx", "user00000%23x", "user00000%20x", "user00000%3Fwatch=1", "us%C3%A9r"],
)
async def test_an_encoded_name_is_that_name_and_nothing_else(
    kube: httpx.AsyncClient, segment: str
) -> None:
    with trio.fail_after(10):
        uid = await _neighbour(kube)
        read = await kube.get(f"{NS}/{segment}")
        deleted = await kube.delete(f"{NS}/{segment}")
        pods = await kube.get(f"{NS}/{segment}/pods")
        pod_read = await kube.get(f"{NS}/user00000/pods/{segment.replace('user00000', 'p')}")
        assert read.status_code == 404
        assert read.json()["reason"] == "NotFound"
        assert deleted.status_code == 404
        assert pods.status_code == 200
        assert pods.json()["items"] == []
        assert pod_read.status_code == 404
        await _assert_neighbour_intact(kube, uid)


async def test_the_decoded_name_is_reported_in_the_not_found_status(
    kube: httpx.AsyncClient,
) -> None:
    with trio.fail_after(10):
        read = await kube.get(f"{NS}/user00000%3Fx")
    assert read.json()["message"] == 'namespaces "user00000?x" not found'


@pytest.mark.parametrize(
    ("segment", "problem"),
    [
        ("%2E%2E", "may not be '..'"),
        ("%2E", "may not be '.'"),
        ("a%2F..%2Fuser00000", "may not contain '/'"),
        ("user00000%2Fpods", "may not contain '/'"),
        ("user00000%253Fx", "may not contain '%'"),
    ],
)
async def test_names_a_path_cannot_carry_are_bad_requests(
    kube: httpx.AsyncClient, segment: str, problem: str
) -> None:
    with trio.fail_after(10):
        uid = await _neighbour(kube)
        for method, path in (
            ("GET", f"{NS}/{segment}"),
            ("DELETE", f"{NS}/{segment}"),
            ("GET", f"{NS}/{segment}/pods"),
            ("DELETE", f"{NS}/user00000/pods/{segment}"),
        ):
            response = await kube.request(method, path)
            assert response.status_code == 400, (method, path)
            assert response.json()["reason"] == "BadRequest"
            assert response.json()["message"].endswith(problem)
        await _assert_neighbour_intact(kube, uid)


async def test_a_name_that_is_no_dns_name_cannot_be_created(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        created = await kube.post(NS, json={"metadata": {"name": "user00000?x"}})
    assert created.status_code == 422
    assert created.json()["reason"] == "Invalid"
