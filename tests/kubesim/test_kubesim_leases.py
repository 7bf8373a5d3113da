"""Leases (``coordination.k8s.io/v1``) over real HTTP: what leader election relies on.

Optimistic concurrency (409 on a stale resourceVersion, 422 on a PUT without one), creation
conflicts, watches, the API server's decoding and validation of the spec, and what kubectl
shows, each as a real API server answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from tests.kubesim.kubectl_helpers import Kubectl, columns
from tests.kubesim.test_core_watch import watching

LEASES = "/apis/coordination.k8s.io/v1/namespaces/default/leases"
CONFLICT = (
    'Operation cannot be fulfilled on leases.coordination.k8s.io "ctl": the object has been'
    " modified; please apply your changes to the latest version and try again"
)


def lease(holder: str = "replica-a", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "ctl"},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": 15,
            "acquireTime": "2026-12-05T13:00:00.000001Z",
            "renewTime": "2026-12-05T13:00:00.000001Z",
            "leaseTransitions": 0,
            **spec,
        },
    }


async def create(kube: httpx.AsyncClient, body: dict[str, Any] | None = None) -> dict[str, Any]:
    created = await kube.post(LEASES, json=body or lease())
    assert created.status_code == 201, created.text
    return dict(created.json())


async def test_create_stores_the_spec_and_a_second_create_is_already_exists(
    kube: httpx.AsyncClient,
) -> None:
    with trio.fail_after(10):
        created = await create(kube, lease(renewTime="2026-12-05T14:00:00.123456+01:00"))
        assert created["kind"] == "Lease"
        assert created["apiVersion"] == "coordination.k8s.io/v1"
        # A MicroTime is stored in UTC with its six digits, whatever offset it was sent in.
        assert created["spec"]["renewTime"] == "2026-12-05T13:00:00.123456Z"
        assert created["spec"]["holderIdentity"] == "replica-a"
        assert "generation" not in created["metadata"]
        fetched = (await kube.get(f"{LEASES}/ctl")).json()
        assert fetched == created

        again = await kube.post(LEASES, json=lease("replica-b"))
        assert again.status_code == 409
        assert again.json()["reason"] == "AlreadyExists"
        assert again.json()["message"] == 'leases.coordination.k8s.io "ctl" already exists'
        assert again.json()["details"] == {
            "kind": "leases",
            "name": "ctl",
            "group": "coordination.k8s.io",
        }
        # The loser of the race changed nothing.
        assert (await kube.get(f"{LEASES}/ctl")).json()["spec"]["holderIdentity"] == "replica-a"


async def test_update_with_the_current_resource_version_bumps_it(
    kube: httpx.AsyncClient,
) -> None:
    with trio.fail_after(10):
        current = await create(kube)
        current["spec"]["renewTime"] = "2026-12-05T13:00:02.000000Z"
        renewed = await kube.put(f"{LEASES}/ctl", json=current)
        assert renewed.status_code == 200
        old_rv = int(current["metadata"]["resourceVersion"])
        new_rv = int(renewed.json()["metadata"]["resourceVersion"])
        assert new_rv > old_rv
        assert renewed.json()["spec"]["renewTime"] == "2026-12-05T13:00:02.000000Z"
        assert renewed.json()["metadata"]["uid"] == current["metadata"]["uid"]


async def test_two_writers_from_the_same_version_only_one_wins(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        seen = await create(kube)
        first = lease("replica-b", leaseTransitions=1)
        second = lease("replica-c", leaseTransitions=1)
        for body in (first, second):
            body["metadata"]["resourceVersion"] = seen["metadata"]["resourceVersion"]
        assert (await kube.put(f"{LEASES}/ctl", json=first)).status_code == 200
        lost = await kube.put(f"{LEASES}/ctl", json=second)
        assert lost.status_code == 409
        status = lost.json()
        assert status["reason"] == "Conflict"
        assert status["code"] == 409
        assert status["message"] == CONFLICT
        assert status["details"] == {
            "kind": "leases",
            "name": "ctl",
            "group": "coordination.k8s.io",
        }
        assert (await kube.get(f"{LEASES}/ctl")).json()["spec"]["holderIdentity"] == "replica-b"


async def test_a_stale_resource_version_conflicts_on_put_and_patch(
    kube: httpx.AsyncClient,
) -> None:
    with trio.fail_after(10):
        stale = await create(kube)
        fresh = dict(stale, spec=dict(stale["spec"], leaseTransitions=1))
        assert (await kube.put(f"{LEASES}/ctl", json=fresh)).status_code == 200
        put = await kube.put(f"{LEASES}/ctl", json=stale)
        assert (put.status_code, put.json()["message"]) == (409, CONFLICT)
        patch = await kube.patch(
            f"{LEASES}/ctl",
            json={
                "metadata": {"resourceVersion": stale["metadata"]["resourceVersion"]},
                "spec": {"holderIdentity": "replica-b"},
            },
            headers={"content-type": "application/merge-patch+json"},
        )
        assert (patch.status_code, patch.json()["message"]) == (409, CONFLICT)
        # A patch without a resourceVersion applies to whatever is stored.
        unconditional = await kube.patch(
            f"{LEASES}/ctl",
            json={"spec": {"holderIdentity": "replica-b"}},
            headers={"content-type": "application/merge-patch+json"},
        )
        assert unconditional.status_code == 200
        assert unconditional.json()["spec"]["holderIdentity"] == "replica-b"
        assert unconditional.json()["spec"]["leaseTransitions"] == 1


async def test_a_put_without_resource_version_is_refused_and_a_put_to_a_new_name_creates(
    kube: httpx.AsyncClient,
) -> None:
    with trio.fail_after(10):
        await create(kube)
        blind = await kube.put(f"{LEASES}/ctl", json=lease("replica-b"))
        assert blind.status_code == 422
        assert blind.json()["reason"] == "Invalid"
        assert blind.json()["message"] == (
            'leases.coordination.k8s.io "ctl" is invalid: metadata.resourceVersion: Invalid'
            " value: 0x0: must be specified for an update"
        )
        assert blind.json()["details"]["causes"] == [
            {
                "reason": "FieldValueInvalid",
                "message": "Invalid value: 0x0: must be specified for an update",
                "field": "metadata.resourceVersion",
            }
        ]
        assert (await kube.get(f"{LEASES}/ctl")).json()["spec"]["holderIdentity"] == "replica-a"

        body = lease("replica-b")
        body["metadata"] = {}
        made = await kube.put(f"{LEASES}/other", json=body)
        assert made.status_code == 201
        assert made.json()["metadata"]["name"] == "other"
        assert made.json()["spec"]["holderIdentity"] == "replica-b"
        mismatch = await kube.put(f"{LEASES}/third", json=lease())
        assert mismatch.status_code == 400
        assert "does not match the name on the URL" in mismatch.json()["message"]


async def test_a_watch_sees_every_change_of_the_lease(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        async with watching(kube, LEASES) as events:
            current = await create(kube)
            current["spec"]["holderIdentity"] = "replica-b"
            renewed = (await kube.put(f"{LEASES}/ctl", json=current)).json()
            deleted = await kube.delete(f"{LEASES}/ctl")
            assert deleted.status_code == 200
            assert deleted.json()["kind"] == "Status"
            seen = [await events.next() for _ in range(3)]
        assert [event["type"] for event in seen] == ["ADDED", "MODIFIED", "DELETED"]
        assert seen[1]["object"]["spec"]["holderIdentity"] == "replica-b"
        assert (
            seen[1]["object"]["metadata"]["resourceVersion"]
            == renewed["metadata"]["resourceVersion"]
        )
        listed = (await kube.get(LEASES)).json()
        assert listed["kind"] == "LeaseList"
        assert listed["items"] == []


@pytest.mark.parametrize(
    ("spec", "causes"),
    [
        (
            {"leaseDurationSeconds": 0},
            [("spec.leaseDurationSeconds", "Invalid value: 0: must be greater than 0")],
        ),
        (
            {"leaseDurationSeconds": -5, "leaseTransitions": -1},
            [
                ("spec.leaseDurationSeconds", "Invalid value: -5: must be greater than 0"),
                (
                    "spec.leaseTransitions",
                    "Invalid value: -1: must be greater than or equal to 0",
                ),
            ],
        ),
    ],
)
async def test_out_of_range_numbers_are_invalid(
    kube: httpx.AsyncClient, spec: dict[str, Any], causes: list[tuple[str, str]]
) -> None:
    with trio.fail_after(10):
        refused = await kube.post(LEASES, json=lease(**spec))
        assert refused.status_code == 422
        status = refused.json()
        assert status["reason"] == "Invalid"
        assert status["details"]["kind"] == "Lease"
        assert status["details"]["group"] == "coordination.k8s.io"
        assert [(c["field"], c["message"]) for c in status["details"]["causes"]] == causes
        # The same rules on update.
        current = await create(kube)
        current["spec"].update(spec)
        assert (await kube.put(f"{LEASES}/ctl", json=current)).status_code == 422


@pytest.mark.parametrize(
    ("spec", "detail"),
    [
        (
            {"holderIdentity": 7},
            "json: cannot unmarshal number 7 into Go struct field"
            " LeaseSpec.spec.holderIdentity of type string",
        ),
        (
            {"leaseDurationSeconds": "15"},
            "json: cannot unmarshal string into Go struct field"
            " LeaseSpec.spec.leaseDurationSeconds of type int32",
        ),
        (
            {"leaseDurationSeconds": 1.5},
            "json: cannot unmarshal number 1.5 into Go struct field"
            " LeaseSpec.spec.leaseDurationSeconds of type int32",
        ),
        (
            {"leaseTransitions": True},
            "json: cannot unmarshal bool into Go struct field"
            " LeaseSpec.spec.leaseTransitions of type int32",
        ),
        (
            {"leaseTransitions": 2**31},
            "json: cannot unmarshal number 2147483648 into Go struct field"
            " LeaseSpec.spec.leaseTransitions of type int32",
        ),
        ({"renewTime": "2026-12-05T13:00:00Z"}, 'spec.renewTime: parsing time "2026-12-05T13'),
        ({"renewTime": "2026-12-05T13:00:00.123Z"}, "exactly six fractional digits"),
        ({"acquireTime": "2026-12-05T13:00:00.123456789Z"}, "spec.acquireTime"),
        ({"acquireTime": "2026-13-05T13:00:00.123456Z"}, "spec.acquireTime"),
        ({"acquireTime": 1764939600}, "cannot unmarshal number into Go value of type string"),
    ],
)
async def test_fields_of_the_wrong_type_or_format_are_bad_requests(
    kube: httpx.AsyncClient, spec: dict[str, Any], detail: str
) -> None:
    with trio.fail_after(10):
        refused = await kube.post(LEASES, json=lease(**spec))
        assert refused.status_code == 400
        message = refused.json()["message"]
        assert refused.json()["reason"] == "BadRequest"
        assert message.startswith('Lease in version "v1" cannot be handled as a Lease: ')
        assert detail in message
        assert (await kube.get(f"{LEASES}/ctl")).status_code == 404


async def test_nulls_are_absent_and_coordinated_election_fields_are_dropped(
    kube: httpx.AsyncClient,
) -> None:
    with trio.fail_after(10):
        created = await create(
            kube,
            lease(
                holderIdentity=None,
                acquireTime=None,
                strategy="OldestEmulationVersion",
                preferredHolder="replica-b",
            ),
        )
        assert created["spec"] == {
            "leaseDurationSeconds": 15,
            "renewTime": "2026-12-05T13:00:00.000001Z",
            "leaseTransitions": 0,
        }


async def test_a_long_bad_time_is_quoted_only_in_part(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        refused = await kube.post(LEASES, json=lease(renewTime="9" * 5000))
        assert refused.status_code == 400
        assert len(refused.json()["message"]) < 400


async def test_discovery_and_openapi_list_leases(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(20):
        group = (await kube.get("/apis/coordination.k8s.io")).json()
        assert group["preferredVersion"]["groupVersion"] == "coordination.k8s.io/v1"
        resources = (await kube.get("/apis/coordination.k8s.io/v1")).json()["resources"]
        assert [(r["name"], r["kind"], r["namespaced"]) for r in resources] == [
            ("leases", "Lease", True)
        ]
        assert "update" in resources[0]["verbs"]
        index = (await kube.get("/openapi/v3")).json()["paths"]
        document = (
            await kube.get(index["apis/coordination.k8s.io/v1"]["serverRelativeURL"])
        ).json()
        spec_schema = next(
            schema
            for name, schema in document["components"]["schemas"].items()
            if name.endswith(".LeaseSpec")
        )
        assert spec_schema["properties"]["renewTime"]["format"] == "date-time"


async def test_kubectl_applies_and_gets_leases(tmp_path: Path, kubectl: Kubectl) -> None:
    manifest = """
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: nublado-controller, namespace: default}
spec:
  holderIdentity: replica-a
  leaseDurationSeconds: 15
  renewTime: "2026-12-05T13:00:00.000000Z"
"""
    await kubectl.run("apply", "-f", "-", stdin=manifest)
    header, *rows = (await kubectl.run("get", "leases")).lines()
    assert columns(header) == ["NAME", "HOLDER", "AGE"]
    assert [columns(row)[:2] for row in rows] == [["nublado-controller", "replica-a"]]
    # Reapplying with another holder patches the stored lease.
    await kubectl.run("apply", "-f", "-", stdin=manifest.replace("replica-a", "replica-b"))
    holder = await kubectl.run(
        "get", "lease", "nublado-controller", "-o", "jsonpath={.spec.holderIdentity}"
    )
    assert holder.stdout == "replica-b"
    refused = await kubectl.run("apply", "-f", "-", stdin=manifest.replace("15", "0"), check=False)
    assert refused.returncode != 0
    assert "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0" in (refused.stderr)


async def test_delete_with_a_stale_precondition_conflicts(kube: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        stale = await create(kube)
        current = dict(stale, spec=dict(stale["spec"], leaseTransitions=1))
        renewed = (await kube.put(f"{LEASES}/ctl", json=current)).json()
        options = {"preconditions": {"resourceVersion": stale["metadata"]["resourceVersion"]}}
        refused = await kube.request("DELETE", f"{LEASES}/ctl", json=options)
        assert refused.status_code == 409
        assert refused.json()["reason"] == "Conflict"
        assert refused.json()["message"] == (
            'Operation cannot be fulfilled on leases.coordination.k8s.io "ctl": Precondition'
            f" failed: ResourceVersion in precondition: {stale['metadata']['resourceVersion']},"
            f" ResourceVersion in object meta: {renewed['metadata']['resourceVersion']}"
        )
        options = {"preconditions": {"resourceVersion": renewed["metadata"]["resourceVersion"]}}
        assert (await kube.request("DELETE", f"{LEASES}/ctl", json=options)).status_code == 200
        assert (await kube.get(f"{LEASES}/ctl")).status_code == 404
