"""Namespaces get a ``default`` service account, and pods wait for theirs, as on a real cluster."""

from __future__ import annotations

import httpx
import trio

from kubesim.site import Site


async def test_a_new_namespace_soon_has_a_default_service_account(
    kubesim: Site, kube: httpx.AsyncClient
) -> None:
    with trio.fail_after(5):
        created = await kube.post("/api/v1/namespaces", json={"metadata": {"name": "accounts"}})
        assert created.status_code == 201
        while True:
            response = await kube.get("/api/v1/namespaces/accounts/serviceaccounts/default")
            if response.status_code == 200:
                break
            assert response.status_code == 404
            await trio.sleep(0.01)
        assert response.json()["metadata"]["namespace"] == "accounts"


async def test_a_pod_whose_service_account_is_missing_is_refused(
    kubesim: Site, kube: httpx.AsyncClient
) -> None:
    pod = {
        "metadata": {"name": "runner"},
        "spec": {
            "serviceAccountName": "builder",
            "containers": [{"name": "main", "image": "example.org/image:1"}],
        },
    }
    with trio.fail_after(5):
        await kube.post("/api/v1/namespaces", json={"metadata": {"name": "jobs"}})
        refused = await kube.post("/api/v1/namespaces/jobs/pods", json=pod)
        assert refused.status_code == 403
        assert refused.json()["reason"] == "Forbidden"
        assert 'serviceaccount "builder" not found' in refused.json()["message"]
        account = {"metadata": {"name": "builder"}}
        await kube.post("/api/v1/namespaces/jobs/serviceaccounts", json=account)
        accepted = await kube.post("/api/v1/namespaces/jobs/pods", json=pod)
        assert accepted.status_code == 201
