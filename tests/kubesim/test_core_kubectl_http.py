"""What kubectl relies on, over plain HTTP: field validation, Tables and OpenAPI."""

from __future__ import annotations

import httpx

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io, application/json"


async def make_namespace(kube: httpx.AsyncClient, name: str = "ns") -> None:
    response = await kube.post("/api/v1/namespaces", json={"metadata": {"name": name}})
    assert response.status_code == 201


async def test_field_validation_modes(kube: httpx.AsyncClient) -> None:
    await make_namespace(kube)
    url = "/api/v1/namespaces/ns/configmaps"
    body = {"metadata": {"name": "c", "colour": "red"}, "data": {}, "extra": 1}
    strict = await kube.post(url, params={"fieldValidation": "Strict"}, json=body)
    assert strict.status_code == 400
    # In the order of the body.
    assert 'unknown field "metadata.colour", unknown field "extra"' in strict.json()["message"]
    warned = await kube.post(url, params={"fieldValidation": "Warn"}, json=body)
    assert warned.status_code == 201
    assert warned.headers.get_list("warning") == [
        '299 - "unknown field \\"metadata.colour\\""',
        '299 - "unknown field \\"extra\\""',
    ]
    assert "extra" not in warned.json()
    bad = await kube.post(url, params={"fieldValidation": "Loose"}, json=body)
    assert bad.status_code == 400
    dry = await kube.post(url, params={"dryRun": "All"}, json={"metadata": {"name": "d"}})
    assert dry.status_code == 400


async def test_tables_carry_metadata_and_continue_tokens(kube: httpx.AsyncClient) -> None:
    await make_namespace(kube)
    for name in ("a", "b", "c"):
        await kube.post("/api/v1/namespaces/ns/configmaps", json={"metadata": {"name": name}})
    page = await kube.get(
        "/api/v1/namespaces/ns/configmaps", params={"limit": "2"}, headers={"accept": TABLE}
    )
    table = page.json()
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert [row["cells"][:2] for row in table["rows"]] == [["a", 0], ["b", 0]]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    assert table["metadata"]["continue"]
    whole = await kube.get(
        "/api/v1/namespaces/ns/configmaps",
        params={"includeObject": "Object"},
        headers={"accept": TABLE},
    )
    assert whole.json()["rows"][0]["object"]["kind"] == "ConfigMap"
    plain = await kube.get("/api/v1/namespaces/ns/configmaps")
    assert plain.json()["kind"] == "ConfigMapList"


async def test_openapi_v3_index_and_documents(kube: httpx.AsyncClient) -> None:
    index = (await kube.get("/openapi/v3")).json()
    assert {"api/v1", "apis/apps/v1", "apis/rbac.authorization.k8s.io/v1"} <= set(index["paths"])
    url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
    document = (await kube.get(url)).json()
    schemas = document["components"]["schemas"]
    deployment = next(
        s
        for s in schemas.values()
        if s.get("x-kubernetes-group-version-kind")
        == [{"group": "apps", "version": "v1", "kind": "Deployment"}]
    )
    assert {"spec", "status", "metadata"} <= set(deployment["properties"])
    containers = schemas["io.k8s.kubesim.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert (await kube.get("/openapi/v3/apis/nothing/v1")).status_code == 404
