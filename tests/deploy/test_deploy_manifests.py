"""What ``kubectl kustomize deploy/overlays/<mode>`` renders, checked offline.

* Built-in kinds are validated against the Kubernetes OpenAPI schemas shipped in the
  ``kubernetes-validate`` package (strict: unknown fields are errors).
* GafaelfawrIngress is a custom resource whose CRD is not available offline: it is validated
  against ``schemas/gafaelfawringress.json``, a schema written from Gafaelfawr's
  documentation of the resource (documented keys only). The controller's own per-user
  file-server GafaelfawrIngress is checked against the same schema, so the two agree.
* The ConfigMap of each overlay must be a configuration the controller accepts, with the
  environment the Deployment gives it.
* Several replicas: leader election on, a rolling update that never leaves fewer ready
  pods than before, a disruption budget, spreading over nodes, the pod's identity from the
  downward API, and a grace period that covers every bounded step of the stop.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest

from actors.common.models import UserInfo
from actors.config import build_config
from actors.fileservers.builder import build_fileserver
from actors.kube import KubeClient
from actors.replicas.elector import RELEASE_TIMEOUT
from actors.replicas.service import HANDOFF_LINGER, ReplicaService, replica_identity
from tests.deploy.render import (
    OVERLAYS,
    controller_config,
    controller_container,
    controller_env,
    controller_field_env,
    find,
    only,
    render,
)
from tests.e2e.harness import running_controller
from web.server import ServerTuning

ROOT = Path(__file__).parents[2]

KUBERNETES_VERSION = "1.30.0"
"""Oldest Kubernetes release the manifests must be valid for (a supported release)."""

GAFAELFAWR_SCHEMA = json.loads(
    (Path(__file__).parent / "schemas" / "gafaelfawringress.json").read_text(encoding="utf-8")
)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_builtin_object_is_valid_for_kubernetes(overlay: str) -> None:
    builtin = [obj for obj in render(overlay) if obj["kind"] != "GafaelfawrIngress"]
    assert builtin
    for obj in builtin:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_the_strict_validation_refuses_a_misspelt_field() -> None:
    deployment = only(render("direct"), "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["resource"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_shipped_configuration_loads(overlay: str) -> None:
    objects = render(overlay)
    config = build_config(controller_config(objects), controller_env(objects))
    assert config.auth.mode == overlay
    # The Deployment's pod-info volume is where the configuration reads the pod's identity.
    volumes = only(objects, "Deployment")["spec"]["template"]["spec"]["volumes"]
    podinfo = next(volume for volume in volumes if "downwardAPI" in volume)
    mounts = only(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0][
        "volumeMounts"
    ]
    mounted = next(mount for mount in mounts if mount["name"] == podinfo["name"])
    assert Path(mounted["mountPath"]) == config.metadata_path


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_controller_has_resources_and_probes(overlay: str) -> None:
    container = controller_container(render(overlay))
    resources = container["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"}
    assert set(resources["limits"]) == {"cpu", "memory"}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/", "port": "http"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def _pod_labels(objects: list[dict[str, Any]]) -> dict[str, str]:
    labels: dict[str, str] = only(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    return labels


def _selects_the_controller(selector: dict[str, Any], objects: list[dict[str, Any]]) -> bool:
    """Whether a label selector (matchLabels only) selects the controller's pods."""
    assert set(selector) == {"matchLabels"}, selector
    return bool(selector["matchLabels"]) and (
        selector["matchLabels"].items() <= _pod_labels(objects).items()
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_several_replicas_run_with_leader_election(overlay: str) -> None:
    objects = render(overlay)
    deployment = only(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    # More than one replica without an election would have every replica act on the cluster.
    config = build_config(controller_config(objects), controller_env(objects))
    assert config.leader_election.enabled


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_an_update_starts_the_new_pod_before_stopping_an_old_one(overlay: str) -> None:
    strategy = only(render(overlay), "Deployment")["spec"]["strategy"]
    assert strategy == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_voluntary_disruptions_take_one_replica_at_a_time(overlay: str) -> None:
    objects = render(overlay)
    budget = only(objects, "PodDisruptionBudget")
    deployment = only(objects, "Deployment")
    assert budget["metadata"]["namespace"] == deployment["metadata"]["namespace"]
    assert _selects_the_controller(budget["spec"]["selector"], objects)
    assert budget["spec"]["maxUnavailable"] == 1
    assert "minAvailable" not in budget["spec"]
    # With every replica healthy, evicting the allowed number still leaves one serving.
    assert deployment["spec"]["replicas"] - budget["spec"]["maxUnavailable"] >= 1
    assert budget["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_replicas_prefer_different_nodes_and_zones(overlay: str) -> None:
    objects = render(overlay)
    pod = only(objects, "Deployment")["spec"]["template"]["spec"]
    anti = pod["affinity"]["podAntiAffinity"]
    # Only a preference: a required rule would leave the surge pod of an update unschedulable
    # on a two-node cluster.
    assert set(anti) == {"preferredDuringSchedulingIgnoredDuringExecution"}
    [preferred] = anti["preferredDuringSchedulingIgnoredDuringExecution"]
    term = preferred["podAffinityTerm"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert _selects_the_controller(term["labelSelector"], objects)
    [spread] = pod["topologySpreadConstraints"]
    assert spread["topologyKey"] == "topology.kubernetes.io/zone"
    assert spread["whenUnsatisfiable"] == "ScheduleAnyway"
    assert _selects_the_controller(spread["labelSelector"], objects)


@pytest.mark.parametrize("overlay", OVERLAYS)
async def test_each_replica_knows_its_pod_name_and_address(overlay: str) -> None:
    objects = render(overlay)
    fields = controller_field_env(objects)
    assert fields == {"POD_NAME": "metadata.name", "POD_IP": "status.podIP"}
    # What the kubelet would put in those variables, read the way the controller reads them.
    pod = {"metadata.name": "nublado-controller-7d9f-abcde", "status.podIP": "10.12.0.7"}
    environ = {name: pod[path] for name, path in fields.items()}
    config = build_config(controller_config(objects), controller_env(objects))
    assert config.leader_election.advertise_url is None  # the pod's address is used
    [port] = controller_container(objects)["ports"]
    kube = KubeClient.for_url("http://127.0.0.1:1")  # never contacted
    try:
        replicas = ReplicaService(
            config.leader_election, kube, "nublado", identity=replica_identity(environ)
        )
        replicas.set_address(f"http://0.0.0.0:{port['containerPort']}", environ)
    finally:
        await kube.aclose()
    # The pod's name is the holder in the lease; its IP and port, where followers forward.
    assert replicas.view.identity == "nublado-controller-7d9f-abcde"
    assert replicas.view.url == f"http://10.12.0.7:{port['containerPort']}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_grace_period_covers_every_step_of_the_stop(overlay: str) -> None:
    objects = render(overlay)
    config = build_config(controller_config(objects), controller_env(objects))
    pod = only(objects, "Deployment")["spec"]["template"]["spec"]
    pause = controller_container(objects)["lifecycle"]["preStop"]["sleep"]["seconds"]
    server = ServerTuning.from_config(config.server)
    stop = (
        pause
        # The leader lets spawns finish creating their objects, then releases the lease (the
        # hand-off waits at most RELEASE_TIMEOUT + 1 for the release), then lingers while
        # the followers switch to the new leader.
        + config.leader_election.handoff_timeout.total_seconds()
        + RELEASE_TIMEOUT
        + 1
        + HANDOFF_LINGER
        + server.stream_close_timeout
        + server.graceful_timeout
        + server.actor_stop_timeout
    )
    assert stop < pod["terminationGracePeriodSeconds"]


def test_the_ingress_overlay_uses_ingress_mode_and_direct_uses_direct() -> None:
    assert find(render("direct"), "GafaelfawrIngress") == []
    assert find(render("direct"), "NetworkPolicy") == []
    assert len(find(render("ingress"), "GafaelfawrIngress")) == 5


def test_gafaelfawr_ingresses_follow_the_documented_schema() -> None:
    for ingress in find(render("ingress"), "GafaelfawrIngress"):
        jsonschema.validate(ingress, GAFAELFAWR_SCHEMA)
        if "anonymous" in ingress["config"]["scopes"]:
            continue  # no base URL, so no host rule
        base_host = urlsplit(ingress["config"]["baseUrl"]).hostname
        # Gafaelfawr refuses rules for another host than its base URL's.
        for rule in ingress["template"]["spec"]["rules"]:
            assert rule["host"] == base_host


def test_the_gafaelfawr_schema_refuses_what_the_documentation_does_not_know() -> None:
    ingress = find(render("ingress"), "GafaelfawrIngress")[0]
    ingress["config"]["scope"] = ingress["config"].pop("scopes")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(ingress, GAFAELFAWR_SCHEMA)
    anonymous = only(render("ingress"), "GafaelfawrIngress", "nublado-controller-anonymous")
    anonymous["config"]["service"] = "nublado"  # an anonymous ingress takes no other option
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(anonymous, GAFAELFAWR_SCHEMA)


def test_the_controllers_own_file_server_ingress_follows_the_same_schema() -> None:
    objects = render("ingress")
    config = build_config(controller_config(objects), controller_env(objects))
    user = UserInfo(username="wombat", uid=1000, gid=1000)
    ingress = build_fileserver(config, user).gafaelfawr_ingress
    jsonschema.validate(ingress, GAFAELFAWR_SCHEMA)


def _matches(path: str, rule_path: str, path_type: str) -> bool:
    if path_type == "Exact":
        return path == rule_path
    if path_type == "Prefix":
        return path == rule_path or path.startswith(rule_path.rstrip("/") + "/")
    return re.match(rule_path, path) is not None  # ingress-nginx with use-regex


def _scope_for(path: str) -> tuple[str, ...] | None:
    """The scopes the ingress overlay demands for ``path`` (``()``: anonymous); None if no
    ingress routes it.

    Like ingress-nginx, the longest matching path wins (exact matches before all others).
    """
    candidates: list[tuple[int, int, tuple[str, ...]]] = []
    for ingress in find(render("ingress"), "GafaelfawrIngress"):
        scopes = tuple(ingress["config"]["scopes"].get("all", ()))
        for rule in ingress["template"]["spec"]["rules"]:
            for entry in rule["http"]["paths"]:
                if _matches(path, entry["path"], entry["pathType"]):
                    exact = 1 if entry["pathType"] == "Exact" else 0
                    candidates.append((exact, len(entry["path"]), scopes))
    return max(candidates)[2] if candidates else None


@pytest.mark.parametrize(
    ("path", "scopes"),
    [
        ("/nublado/spawner/v1/labs/alice/create", ("exec:notebook",)),
        ("/nublado/spawner/v1/labs/alice/events", ("exec:notebook",)),
        ("/nublado/spawner/v1/lab-form/alice", ("exec:notebook",)),
        ("/nublado/spawner/v1/user-status", ("exec:notebook",)),
        ("/nublado/fileserver/v1/user-status", ("exec:notebook",)),
        ("/nublado/spawner/v1/labs", ("admin:jupyterlab",)),
        ("/nublado/spawner/v1/labs/alice", ("admin:jupyterlab",)),
        ("/nublado", ("exec:admin",)),
        ("/nublado/spawner/v1/images", ("exec:admin",)),
        ("/nublado/spawner/v1/prepulls", ("exec:admin",)),
        ("/nublado/fileserver/v1/users", ("exec:admin",)),
        ("/nublado/fsadmin/v1/service", ("exec:admin",)),
        ("/nublado/migrator/v1/service", ("exec:admin",)),
        ("/nublado/admin/actors", ("exec:admin",)),
        ("/files", ("write:files",)),
        ("/nublado/openapi.json", ()),
        ("/nublado/docs", ()),
        ("/", None),
        ("/health", None),
        ("/metrics", None),
    ],
)
def test_each_route_group_gets_its_scope(path: str, scopes: tuple[str, ...] | None) -> None:
    assert _scope_for(path) == scopes


def test_only_the_ingress_controller_jupyterhub_and_the_replicas_may_connect() -> None:
    objects = render("ingress")
    policy = only(objects, "NetworkPolicy")
    assert _selects_the_controller(policy["spec"]["podSelector"], objects)
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    [rule] = policy["spec"]["ingress"]
    peers = rule["from"]
    assert len(peers) == 3
    # Every peer is narrowed to particular pods: none admits a whole namespace or the world.
    assert all("podSelector" in peer and "ipBlock" not in peer for peer in peers)
    # The replicas reach each other (a follower forwards requests to the leader): a peer
    # without a namespace selector is in the policy's namespace, the controller's own.
    own = [peer for peer in peers if set(peer) == {"podSelector"}]
    assert any(_selects_the_controller(peer["podSelector"], objects) for peer in own)
    assert policy["metadata"]["namespace"] == only(objects, "Deployment")["metadata"]["namespace"]
    # On the port the controller listens on, which is where followers forward to.
    [port] = controller_container(objects)["ports"]
    assert rule["ports"] == [{"protocol": "TCP", "port": port["containerPort"]}]


async def test_the_probes_ask_a_route_the_controller_answers() -> None:
    container = only(render("ingress"), "Deployment")["spec"]["template"]["spec"]["containers"][0]
    paths = {container[probe]["httpGet"]["path"] for probe in container if probe.endswith("Probe")}
    async with running_controller() as nublado, nublado.client() as anonymous:
        for path in paths:
            assert (await anonymous.get(path)).status_code == 200


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_controller_image_is_this_version(overlay: str) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "version"
    ]
    container = only(render(overlay), "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"nublado-trio:{version}"
