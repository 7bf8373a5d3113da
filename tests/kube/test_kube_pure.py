"""Pure parts of the Kubernetes client: resource table, selectors, errors, backoff, codec."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest
from kubernetes.client import V1ObjectMeta, V1Pod, V1Secret

from actors.kube import resources as r
from actors.kube.backoff import Backoff, parse_retry_after
from actors.kube.errors import KubernetesError, ObjectRef
from actors.kube.selectors import render_selector

ALL_KINDS = [value for value in vars(r).values() if isinstance(value, r.ResourceType)]


def test_resource_table_covers_every_kind_the_controller_uses() -> None:
    assert {k.kind for k in ALL_KINDS} == {
        "Namespace", "Node", "Pod", "Service", "ConfigMap", "Secret", "PersistentVolumeClaim",
        "ResourceQuota", "ServiceAccount", "Event", "NetworkPolicy", "Ingress", "Job",
        "GafaelfawrIngress", "Lease",
    }  # fmt: skip


@pytest.mark.parametrize("resource", ALL_KINDS, ids=lambda k: k.kind)
def test_models_match_their_kind(resource: r.ResourceType[object]) -> None:
    if resource.model is None:
        # Custom resources, and the lease (two fields of it are all leader election needs).
        assert resource.group in {"gafaelfawr.lsst.io", "coordination.k8s.io"}
    else:
        assert resource.model.__name__.endswith(resource.kind)


def test_paths_for_core_group_and_named_groups() -> None:
    assert r.PODS.path("ns") == "/api/v1/namespaces/ns/pods"
    assert r.PODS.path("ns", "p") == "/api/v1/namespaces/ns/pods/p"
    assert r.PODS.path() == "/api/v1/pods"
    assert r.NAMESPACES.path(None, "ns") == "/api/v1/namespaces/ns"
    assert r.JOBS.path("ns", "j") == "/apis/batch/v1/namespaces/ns/jobs/j"
    assert r.GAFAELFAWR_INGRESSES.path("ns") == (
        "/apis/gafaelfawr.lsst.io/v1alpha1/namespaces/ns/gafaelfawringresses"
    )


def test_scope_mistakes_are_refused() -> None:
    with pytest.raises(ValueError, match="cluster-scoped"):
        r.NODES.path("ns")
    with pytest.raises(ValueError, match="namespace is required"):
        r.PODS.path(None, "p")


def test_encode_adds_api_version_and_kind_and_drops_nones() -> None:
    pod = V1Pod(metadata=V1ObjectMeta(name="p", labels={"a": "b"}))
    assert r.PODS.encode(pod) == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": {"a": "b"}},
    }
    assert r.GAFAELFAWR_INGRESSES.encode({"metadata": {"name": "g"}})["apiVersion"] == (
        "gafaelfawr.lsst.io/v1alpha1"
    )


def test_decode_ignores_fields_from_newer_servers() -> None:
    data = {
        "metadata": {"name": "p", "newField": 1},
        "brandNew": {},
        "status": {"phase": "Running"},
    }
    pod = r.PODS.decode(data)
    assert isinstance(pod, V1Pod)
    assert pod.status is not None
    assert pod.status.phase == "Running"


def test_decode_keeps_custom_objects_as_dicts() -> None:
    data = {"metadata": {"name": "g"}, "config": {"scopes": ["x"]}}
    assert r.GAFAELFAWR_INGRESSES.decode(data) == data


def test_selectors_render_mappings_and_pass_strings_through() -> None:
    assert render_selector(None) is None
    assert render_selector({}) is None
    assert render_selector("a=b,c!=d") == "a=b,c!=d"
    assert render_selector({"nublado.lsst.io/category": "lab", "x": "y"}) == (
        "nublado.lsst.io/category=lab,x=y"
    )


@pytest.mark.parametrize("bad", [{"a": "b,c=d"}, {"a=b": "c"}, {"": "x"}, {"a": "!x"}])
def test_selector_values_that_would_change_meaning_are_refused(bad: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="invalid selector"):
        render_selector(bad)


def _status(code: int, reason: str, message: str) -> bytes:
    body = {"kind": "Status", "status": "Failure", "code": code, "reason": reason}
    return json.dumps({**body, "message": message}).encode()


def test_error_parses_status_body() -> None:
    body = _status(409, "AlreadyExists", 'pods "p" already exists')
    error = KubernetesError.from_response(409, body, ObjectRef("Pod", "ns", "p"))
    assert (error.status, error.reason, error.kind, error.namespace, error.name) == (
        409, "AlreadyExists", "Pod", "ns", "p",
    )  # fmt: skip
    assert error.message == 'pods "p" already exists'
    assert error.conflict
    assert error.already_exists
    assert not error.not_found
    assert not error.transient
    assert str(error) == 'Pod p in ns: 409 AlreadyExists: pods "p" already exists'


def test_error_classification() -> None:
    ref = ObjectRef("Pod", "ns", "p")
    assert KubernetesError.from_response(404, _status(404, "NotFound", ""), ref).not_found
    assert KubernetesError.from_response(410, _status(410, "Expired", ""), ref).gone
    for status in (429, 500, 502, 503, 504):
        assert KubernetesError.from_response(status, b"", ref).transient
    for status in (400, 401, 403, 404, 409, 422, 501):
        assert not KubernetesError.from_response(status, b"", ref).transient
    assert KubernetesError.unreachable(ConnectionResetError("reset"), ref).transient


def test_error_with_non_status_body_keeps_a_short_excerpt() -> None:
    error = KubernetesError.from_response(
        502, b"<html>" + b"x" * 1000, ObjectRef("Pod"), http_reason="Bad Gateway"
    )
    assert error.reason == "Bad Gateway"
    assert error.message.startswith("<html>")
    assert len(error.message) <= 200


def test_watch_error_event_status_takes_code_from_the_body() -> None:
    status = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}
    error = KubernetesError.from_status(None, status, ObjectRef("Pod", "ns"))
    assert error.gone
    assert error.message == "too old"


def test_backoff_grows_exponentially_up_to_the_cap_with_jitter_only_shortening() -> None:
    backoff = Backoff(initial=0.1, maximum=1.0, factor=2.0, jitter=0.25, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(8)]
    for delay, base in zip(delays, [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0], strict=True):
        assert base * 0.75 <= delay <= base
    backoff.reset()
    assert backoff.next_delay() <= 0.1


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2024, 1, 1, 0, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Mon, 01 Jan 2024 00:00:05 GMT", now=now) == 5.0
    assert parse_retry_after("Sun, 31 Dec 2023 00:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_secret_repr_is_never_used_for_errors() -> None:
    # Errors are built from the server's Status only; the request body never enters them.
    secret = V1Secret(metadata=V1ObjectMeta(name="s"), data={"token": "c2VjcmV0"})
    body = r.SECRETS.encode(secret)
    error = KubernetesError.from_response(
        422, _status(422, "Invalid", "bad"), ObjectRef("Secret", "ns", "s")
    )
    assert "c2VjcmV0" not in str(error)
    assert body["data"] == {"token": "c2VjcmV0"}
