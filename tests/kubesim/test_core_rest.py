"""REST semantics of kubesim over raw HTTP: CRUD, Status errors, selectors, pagination."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import trio

NS = "/api/v1/namespaces"


def pod(name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "main", "image": "example/lab:1"}]},
    }


async def make_ns(kube: httpx.AsyncClient, name: str = "ns") -> dict[str, Any]:
    response = await kube.post(NS, json={"metadata": {"name": name}})
    assert response.status_code == 201
    return response.json()


async def test_create_get_replace_delete_configmap(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await make_ns(kube)
        url = f"{NS}/ns/configmaps"
        created = await kube.post(url, json={"metadata": {"name": "cm"}, "data": {"a": "1"}})
        assert created.status_code == 201
        body = created.json()
        assert body["kind"] == "ConfigMap"
        assert body["apiVersion"] == "v1"
        assert body["metadata"]["uid"]
        assert body["metadata"]["creationTimestamp"].endswith("Z")
        fetched = (await kube.get(f"{url}/cm")).json()
        assert fetched == body
        fetched["data"]["a"] = "2"
        replaced = await kube.put(f"{url}/cm", json=fetched)
        assert replaced.status_code == 200
        assert int(replaced.json()["metadata"]["resourceVersion"]) > int(
            body["metadata"]["resourceVersion"]
        )
        deleted = await kube.delete(f"{url}/cm")
        assert deleted.status_code == 200
        assert deleted.json()["kind"] == "Status"
        assert deleted.json()["status"] == "Success"
        assert (await kube.get(f"{url}/cm")).status_code == 404


async def test_resource_versions_come_from_one_global_counter(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        ns = await make_ns(kube)
        secret = (await kube.post(f"{NS}/ns/secrets", json={"metadata": {"name": "s"}})).json()
        listed = (await kube.get(f"{NS}/ns/secrets")).json()
        assert int(secret["metadata"]["resourceVersion"]) > int(ns["metadata"]["resourceVersion"])
        assert listed["kind"] == "SecretList"
        assert listed["metadata"]["resourceVersion"] == secret["metadata"]["resourceVersion"]


async def test_generation_increments_on_spec_change_only(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await make_ns(kube)
        url = f"{NS}/ns/pods"
        await kube.post(url, json=pod("p"))
        labelled = await kube.patch(
            f"{url}/p",
            json={"metadata": {"labels": {"x": "y"}}},
            headers={"content-type": "application/merge-patch+json"},
        )
        assert labelled.json()["metadata"]["generation"] == 1
        changed = await kube.patch(
            f"{url}/p",
            json={"spec": {"activeDeadlineSeconds": 5}},
            headers={"content-type": "application/strategic-merge-patch+json"},
        )
        assert changed.json()["metadata"]["generation"] == 2


async def test_stale_resource_version_on_put_is_a_conflict(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await make_ns(kube)
        url = f"{NS}/ns/configmaps"
        first = (await kube.post(url, json={"metadata": {"name": "cm"}})).json()
        updated = dict(first, data={"k": "v"})
        assert (await kube.put(f"{url}/cm", json=updated)).status_code == 200
        stale = await kube.put(f"{url}/cm", json=dict(first, data={"k": "other"}))
        assert stale.status_code == 409
        assert stale.json()["reason"] == "Conflict"
        assert stale.json()["code"] == 409


async def test_duplicate_create_is_already_exists(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await make_ns(kube)
        await kube.post(f"{NS}/ns/pods", json=pod("p"))
        again = await kube.post(f"{NS}/ns/pods", json=pod("p"))
        assert again.status_code == 409
        assert again.json()["reason"] == "AlreadyExists"
        assert again.json()["details"] == {"kind": "pods", "name": "p"}


@pytest.mark.parametrize(
    ("plural", "body", "field"),
    [
        ("pods", {"metadata": {}}, "metadata.name"),
        ("pods", {"metadata": {"name": "Not_Valid"}}, "metadata.name"),
        ("services", {"metadata": {"name": "1starts-with-digit"}}, "metadata.name"),
        ("pods", {"kind": "Service", "metadata": {"name": "p"}}, "kind"),
        ("pods", {"apiVersion": "v2", "metadata": {"name": "p"}}, "apiVersion"),
    ],
)
async def test_invalid_objects_are_rejected_with_422(
    kube: httpx.AsyncClient, plural: str, body: dict[str, Any], field: str
) -> None:
    with trio.fail_after(10):
        await make_ns(kube)
        response = await kube.post(f"{NS}/ns/{plural}", json=body)
        assert response.status_code == 422
        status = response.json()
        assert status["reason"] == "Invalid"
        assert [cause["field"] for cause in status["details"]["causes"]] == [field]


async def test_namespace_names_must_be_dns_labels(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        response = await kube.post(NS, json={"metadata": {"name": "has.dots"}})
        assert response.status_code == 422


async def test_create_in_missing_namespace_is_namespace_not_found(
    kube: httpx.AsyncClient,
) -> None:
    with trio.fail_after(10):
        response = await kube.post(f"{NS}/nowhere/pods", json=pod("p"))
        assert response.status_code == 404
        assert response.json()["details"] == {"kind": "namespaces", "name": "nowhere"}


async def test_unknown_paths_and_verbs(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await make_ns(kube)
        assert (await kube.get("/api/v1/widgets")).status_code == 404
        not_allowed = await kube.put(f"{NS}/ns/pods", json=pod("p"))
        assert not_allowed.status_code == 405
        assert not_allowed.json()["reason"] == "MethodNotAllowed"
        malformed = await kube.post(f"{NS}/ns/pods", content=b"{not json")
        assert malformed.status_code == 400


async def test_label_selectors(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await make_ns(kube)
        for name, labels in [
            ("a", {"app": "lab", "tier": "1"}),
            ("b", {"app": "lab", "tier": "2"}),
            ("c", {"app": "files"}),
            ("d", {}),
        ]:
            await kube.post(f"{NS}/ns/pods", json=pod(name, **labels))

        async def names(selector: str) -> list[str]:
            response = await kube.get(f"{NS}/ns/pods", params={"labelSelector": selector})
            assert response.status_code == 200
            return [item["metadata"]["name"] for item in response.json()["items"]]

        assert await names("app=lab") == ["a", "b"]
        assert await names("app==lab,tier=2") == ["b"]
        assert await names("app!=lab") == ["c", "d"]
        assert await names("tier in (1, 2)") == ["a", "b"]
        assert await names("app notin (lab)") == ["c", "d"]
        assert await names("tier") == ["a", "b"]
        assert await names("!tier") == ["c", "d"]
        assert await names("tier>1") == ["b"]
        bad = await kube.get(f"{NS}/ns/pods", params={"labelSelector": "app in lab"})
        assert bad.status_code == 400
        assert bad.json()["reason"] == "BadRequest"


async def test_field_selectors(kube: httpx.AsyncClient, kubesim: Any) -> None:
    with trio.fail_after(10):
        await make_ns(kube, "one")
        await make_ns(kube, "two")
        await kube.post(f"{NS}/one/pods", json=pod("p"))
        await kube.post(f"{NS}/two/pods", json=pod("p"))
        store = kubesim.store
        store.mutate(
            store.resource("pods"), "two", "p", lambda o: o["status"].update(phase="Running")
        )

        async def where(selector: str) -> list[str]:
            response = await kube.get("/api/v1/pods", params={"fieldSelector": selector})
            assert response.status_code == 200
            return [i["metadata"]["namespace"] for i in response.json()["items"]]

        assert await where("status.phase=Running") == ["two"]
        assert await where("status.phase!=Running") == ["one"]
        assert await where("metadata.namespace=one,metadata.name=p") == ["one"]
        assert await where("spec.nodeName=") == ["one", "two"]
        unknown = await kube.get("/api/v1/pods", params={"fieldSelector": "spec.image=x"})
        assert unknown.status_code == 400


async def test_event_field_selectors(kube: httpx.AsyncClient, kubesim: Any) -> None:
    with trio.fail_after(10):
        await make_ns(kube)
        a = (await kube.post(f"{NS}/ns/pods", json=pod("a"))).json()
        b = (await kube.post(f"{NS}/ns/pods", json=pod("b"))).json()
        kubesim.store.record_event("ns", a, "Pulling", "pulling image")
        kubesim.store.record_event("ns", b, "Pulling", "pulling image")
        response = await kube.get(
            f"{NS}/ns/events",
            params={"fieldSelector": "involvedObject.name=a,involvedObject.kind=Pod"},
        )
        events = response.json()["items"]
        assert [e["involvedObject"]["name"] for e in events] == ["a"]
        assert events[0]["message"] == "pulling image"


async def test_pagination_walks_all_items_with_continue_tokens(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await make_ns(kube)
        for i in range(7):
            await kube.post(f"{NS}/ns/configmaps", json={"metadata": {"name": f"cm{i}"}})
        seen: list[str] = []
        params: dict[str, Any] = {"limit": 3}
        pages = 0
        while True:
            body = (await kube.get(f"{NS}/ns/configmaps", params=params)).json()
            pages += 1
            seen += [item["metadata"]["name"] for item in body["items"]]
            token = body["metadata"].get("continue")
            if not token:
                break
            params = {"limit": 3, "continue": token}
        assert pages == 3
        assert seen == [f"cm{i}" for i in range(7)]


async def test_expired_continue_token_is_http_410(kube: httpx.AsyncClient, kubesim: Any) -> None:
    with trio.fail_after(10):
        await make_ns(kube)
        for i in range(3):
            await kube.post(f"{NS}/ns/configmaps", json={"metadata": {"name": f"cm{i}"}})
        first = (await kube.get(f"{NS}/ns/configmaps", params={"limit": 1})).json()
        await kube.post(f"{NS}/ns/configmaps", json={"metadata": {"name": "later"}})
        kubesim.faults.expire_resource_versions()
        response = await kube.get(
            f"{NS}/ns/configmaps", params={"limit": 1, "continue": first["metadata"]["continue"]}
        )
        assert response.status_code == 410
        assert response.json()["reason"] == "Expired"


async def test_status_subresource_keeps_spec_and_main_resource_keeps_status(
    kube: httpx.AsyncClient,
) -> None:
    with trio.fail_after(10):
        await make_ns(kube)
        url = f"{NS}/ns/pods/p"
        created = (await kube.post(f"{NS}/ns/pods", json=pod("p"))).json()
        assert created["status"]["phase"] == "Pending"
        merge = {"content-type": "application/merge-patch+json"}
        running = await kube.patch(
            f"{url}/status", json={"status": {"phase": "Running"}, "spec": {"x": 1}}, headers=merge
        )
        assert running.json()["status"]["phase"] == "Running"
        assert "x" not in running.json()["spec"]
        ignored = await kube.patch(url, json={"status": {"phase": "Failed"}}, headers=merge)
        assert ignored.json()["status"]["phase"] == "Running"


async def test_json_patch(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await make_ns(kube)
        await kube.post(f"{NS}/ns/configmaps", json={"metadata": {"name": "c"}, "data": {"a": "1"}})
        patched = await kube.patch(
            f"{NS}/ns/configmaps/c",
            json=[
                {"op": "add", "path": "/data/b", "value": "2"},
                {"op": "remove", "path": "/data/a"},
            ],
            headers={"content-type": "application/json-patch+json"},
        )
        assert patched.json()["data"] == {"b": "2"}


async def test_generate_name_and_secret_string_data(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await make_ns(kube)
        secret = (
            await kube.post(
                f"{NS}/ns/secrets",
                json={"metadata": {"generateName": "tok-"}, "stringData": {"t": "abc"}},
            )
        ).json()
        assert secret["metadata"]["name"].startswith("tok-")
        assert len(secret["metadata"]["name"]) == len("tok-") + 5
        assert secret["data"] == {"t": "YWJj"}
        assert "stringData" not in secret


async def test_custom_resource_and_other_groups(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        await make_ns(kube)
        gaf = "/apis/gafaelfawr.lsst.io/v1alpha1/namespaces/ns/gafaelfawringresses"
        created = await kube.post(
            gaf,
            json={
                "apiVersion": "gafaelfawr.lsst.io/v1alpha1",
                "kind": "GafaelfawrIngress",
                "metadata": {"name": "lab"},
                "config": {"scopes": {"all": ["exec:notebook"]}},
            },
        )
        assert created.status_code == 201
        assert created.json()["config"] == {"scopes": {"all": ["exec:notebook"]}}
        job = await kube.post(
            "/apis/batch/v1/namespaces/ns/jobs",
            json={"metadata": {"name": "j"}, "spec": {"template": {"spec": {}}}},
        )
        assert job.json()["spec"]["selector"]["matchLabels"]
        netpol = await kube.post(
            "/apis/networking.k8s.io/v1/namespaces/ns/networkpolicies",
            json={"metadata": {"name": "np"}, "spec": {"podSelector": {}}},
        )
        assert netpol.json()["kind"] == "NetworkPolicy"
        cluster_wide = await kube.get("/apis/batch/v1/jobs")
        assert [j["metadata"]["name"] for j in cluster_wide.json()["items"]] == ["j"]


async def test_discovery_documents(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        assert (await kube.get("/api")).json()["versions"] == ["v1"]
        groups = {g["name"] for g in (await kube.get("/apis")).json()["groups"]}
        assert groups == {
            "apps",
            "batch",
            "networking.k8s.io",
            "policy",
            "rbac.authorization.k8s.io",
            "gafaelfawr.lsst.io",
            "coordination.k8s.io",
        }
        core = (await kube.get("/api/v1")).json()
        assert {"pods", "pods/status", "namespaces", "events"} <= {
            r["name"] for r in core["resources"]
        }
        assert (await kube.get("/version")).json()["major"] == "1"


async def test_demo_site_fixture_runs_the_controllers(kubesim_demo: Any) -> None:
    with trio.fail_after(10):
        async with httpx.AsyncClient(base_url=kubesim_demo.url) as client:
            nodes = (await client.get("/api/v1/nodes")).json()["items"]
        assert nodes
