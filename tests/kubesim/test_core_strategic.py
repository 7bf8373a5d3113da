"""Strategic merge patches: lists merged by key, and the directives kubectl sends."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kubesim.errors import ApiError
from kubesim.schemas import model_for
from kubesim.strategic import strategic_merge

POD = model_for("Pod")
DEPLOYMENT = model_for("Deployment")


def pod(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "finalizers": ["a", "b"]}, "spec": spec}


def containers(*names: str) -> list[dict[str, Any]]:
    return [{"name": name, "image": f"{name}:1"} for name in names]


def test_lists_with_a_merge_key_merge_by_that_key() -> None:
    original = pod(containers=containers("lab", "sidecar"))
    patch = {"spec": {"containers": [{"name": "sidecar", "image": "sidecar:2"}]}}
    merged = strategic_merge(original, patch, POD)
    assert merged["spec"]["containers"] == [
        {"name": "lab", "image": "lab:1"},
        {"name": "sidecar", "image": "sidecar:2"},
    ]
    assert original["spec"]["containers"][1]["image"] == "sidecar:1"  # not modified


def test_lists_without_a_merge_key_are_replaced() -> None:
    original = pod(containers=containers("lab"), tolerations=[{"key": "a"}, {"key": "b"}])
    merged = strategic_merge(original, {"spec": {"tolerations": [{"key": "c"}]}}, POD)
    assert merged["spec"]["tolerations"] == [{"key": "c"}]


def test_delete_directive_in_a_list_and_in_a_map() -> None:
    original = pod(containers=containers("lab", "sidecar"), securityContext={"runAsUser": 1})
    patch = {
        "spec": {
            "containers": [{"name": "sidecar", "$patch": "delete"}],
            "securityContext": {"$patch": "delete"},
        }
    }
    merged = strategic_merge(original, patch, POD)
    assert merged["spec"]["containers"] == containers("lab")
    assert "securityContext" not in merged["spec"]


def test_replace_directive_replaces_the_list() -> None:
    original = pod(containers=containers("lab", "sidecar"))
    patch = {"spec": {"containers": [{"$patch": "replace"}, *containers("only")]}}
    assert strategic_merge(original, patch, POD)["spec"]["containers"] == containers("only")


def test_set_element_order_and_primitive_list_deletion() -> None:
    original = pod(containers=containers("a", "b", "c"))
    patch = {
        "metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "finalizers": ["c"]},
        "spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}]},
    }
    merged = strategic_merge(original, patch, POD)
    assert [c["name"] for c in merged["spec"]["containers"]] == ["c", "a", "b"]
    assert merged["metadata"]["finalizers"] == ["b", "c"]


def test_retain_keys_clears_what_the_patch_leaves_out() -> None:
    original = {
        "spec": {
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}},
        }
    }
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    assert strategic_merge(original, patch, DEPLOYMENT)["spec"]["strategy"] == {"type": "Recreate"}


def test_bad_directives_are_refused() -> None:
    with pytest.raises(ApiError) as caught:
        strategic_merge(pod(), {"spec": {"$patch": "explode"}}, POD)
    assert caught.value.status == 400
    with pytest.raises(ApiError):
        strategic_merge(pod(containers=containers("a")), {"spec": {"containers": [{}]}}, POD)


async def test_custom_resources_refuse_strategic_merge_patches(kube: httpx.AsyncClient) -> None:
    await kube.post("/api/v1/namespaces", json={"metadata": {"name": "ns"}})
    base = "/apis/gafaelfawr.lsst.io/v1alpha1/namespaces/ns/gafaelfawringresses"
    body = {"metadata": {"name": "g"}, "config": {}, "template": {}}
    assert (await kube.post(base, json=body)).status_code == 201
    response = await kube.patch(
        f"{base}/g",
        json={"config": {"a": 1}},
        headers={"content-type": "application/strategic-merge-patch+json"},
    )
    assert response.status_code == 415
