"""The controller process is killed (SIGKILL) in the middle of a storm of spawns and deletes.

Three processes, as in production: a standalone kubesim (``nublado-trio simulate``), the
controller (``nublado-trio serve --config``) and this test, which drives 40 users as
JupyterHub's spawner does (create, follow the progress stream, delete; on 409 delete then
create). Half-way through the storm the controller is killed with SIGKILL: no shutdown, no
cleanup, requests and spawns cut wherever they were. A new controller process starts on the
same cluster, every user is driven to the state their last action asked for, and then:

* every user whose last action was a create has a running lab, and the controller lists
  exactly those labs;
* every user whose last action was a delete has no lab, and their namespace is gone;
* the cluster holds no orphan: no lab namespace the controller does not report, no pod
  without its lab's other objects, nothing terminating forever;
* labs that were running when the controller died were adopted by the new one, not
  recreated.

The test proves the kill really happened mid-storm (stops whose lab namespace was still there
and starts whose pod was not running yet, cut by the kill), so it cannot pass by killing an
idle controller or one that had finished its work.
"""

from __future__ import annotations

import hashlib
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx
import trio
import yaml

from tests.e2e.processes import ChildProcess, controller_process, kubesim_process
from tests.e2e.spawner_client import Credentials, SpawnerClient, SpawnerError

DEADLINE = 50.0
"""Ceiling of the whole test (a run takes a fraction of it)."""
CONVERGE_DEADLINE = 20.0
"""Ceiling of each part of the convergence after the restart (the users' starts and stops,
then the wait for the cluster to settle)."""

USERS = 40
CONTROLLER_NAMESPACE = "nublado"
LAB_PREFIX = "nublado-"
PATH_PREFIX = "/nublado"
REGISTRY = "127.0.0.1:1"
"""Refuses connections at once: the image refresh fails fast and the form lists nothing, but
the create bodies name digest-pinned references, which need no registry."""
REPOSITORY = "test/storm-lab"
FAST_TAG = "w_2026_46"
SLOW_TAG = "w_2026_45"
SLOW_PULL_SECONDS = 4.0
"""Labs of :data:`SLOW_TAG` stay pending this long in the kubelet: they are mid-spawn at the
kill and finish under the new controller."""
TIMEOUT = httpx.Timeout(CONVERGE_DEADLINE)
LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=2 * USERS)


class Step(StrEnum):
    START_FAST = "start (fast image)"
    START_SLOW = "start (slow image)"
    CREATE_SLOW = "create only (slow image)"
    STOP = "stop"


PLANS: tuple[tuple[Step, ...], ...] = (
    (Step.START_FAST, Step.STOP),
    (Step.START_SLOW,),
    (Step.START_FAST, Step.STOP, Step.START_SLOW),
    (Step.CREATE_SLOW, Step.STOP),  # a delete while the spawn is in progress
    (Step.START_FAST,),
)
"""User ``i`` follows ``PLANS[i % len(PLANS)]``. The kill comes once half the users of the
first plan have finished it: the others are then starting, stopping or waiting for a pod."""
KILL_PLAN = 0
KILL_AFTER = USERS // len(PLANS) // 2
STAGGER = 0.05
"""User ``i`` begins ``i * STAGGER`` seconds into the storm, so that at the kill users are at
every stage of their plans (a stop takes over a second: the pod's grace period)."""


@dataclass
class User:
    index: int
    plan: tuple[Step, ...]
    in_flight: Step | None = None
    finished: bool = False
    failures: list[str] = field(default_factory=list)
    """Failures before the kill (the controller was healthy: there must be none)."""
    recovery_failures: list[str] = field(default_factory=list)
    """Failures of the start or stop after the restart (there must be none)."""

    @property
    def name(self) -> str:
        return f"storm{self.index:02d}"

    @property
    def token(self) -> str:
        return f"token-{self.name}"

    @property
    def namespace(self) -> str:
        return f"{LAB_PREFIX}{self.name}"

    @property
    def wants_lab(self) -> bool:
        """Whether the user's last action was a create."""
        return self.plan[-1] is not Step.STOP


def image(tag: str) -> str:
    digest = hashlib.sha256(f"{REPOSITORY}:{tag}".encode()).hexdigest()
    return f"{REGISTRY}/{REPOSITORY}:{tag}@sha256:{digest}"


def options(tag: str) -> dict[str, list[str]]:
    return {"image_dropdown": [image(tag)], "size": ["small"]}


def env(user: User) -> dict[str, str]:
    return {"JUPYTERHUB_SERVICE_PREFIX": f"/nb/user/{user.name}/"}


# -- the two programs' configuration ------------------------------------------------------


def kubesim_config(users: list[User]) -> dict[str, Any]:
    """Instant pods except the slow image's pull, and a Gafaelfawr that knows every user
    (each with a notebook quota, so that every lab has a ResourceQuota too)."""
    return {
        "seed": 11,
        "bookmark_interval": 1,
        "store": {"namespace_delete_delay": 0.05},
        "controllers": {
            "kubelet": {"pull_delays": {f"*{REPOSITORY}:{SLOW_TAG}@*": SLOW_PULL_SECONDS}},
            "gafaelfawr": {
                "users": [
                    {
                        "username": user.name,
                        "uid": 20000 + user.index,
                        "gid": 20000 + user.index,
                        "groups": [{"name": user.name, "id": 20000 + user.index}],
                        "quota": {"notebook": {"cpu": 2.0, "memory": 4}},
                    }
                    for user in users
                ],
                "tokens": [
                    {"token": user.token, "username": user.name, "scopes": ["exec:notebook"]}
                    for user in users
                ],
            },
        },
    }


def controller_config(site_url: str, metadata: Path) -> dict[str, Any]:
    """A production configuration behind the Gafaelfawr ingress (kubesim is Gafaelfawr)."""
    return {
        "auth": {"mode": "ingress", "gafaelfawrUrl": site_url},
        "metadataPath": str(metadata),
        "metrics": {"enabled": False, "application": "nublado"},
        "fsadmin": {},
        "images": {"source": {"type": "docker", "registry": REGISTRY, "repository": REPOSITORY}},
        "lab": {
            "namespacePrefix": LAB_PREFIX.removesuffix("-"),
            "sizes": [
                {
                    "size": "small",
                    "resources": {
                        "limits": {"cpu": 1.0, "memory": "2Gi"},
                        "requests": {"cpu": 0.25, "memory": "512Mi"},
                    },
                }
            ],
            "volumes": [{"name": "home", "source": {"type": "hostPath", "path": "/home"}}],
            "volumeMounts": [{"containerPath": "/home", "volumeName": "home"}],
        },
    }


def kubeconfig(site_url: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "sim", "cluster": {"server": site_url}}],
        "users": [{"name": "sim", "user": {"token": "unused"}}],
        "contexts": [{"name": "sim", "context": {"cluster": "sim", "user": "sim"}}],
        "current-context": "sim",
    }


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


# -- driving users ------------------------------------------------------------------------


def spawner(http: httpx.AsyncClient, base_url: str, user: User) -> SpawnerClient:
    return SpawnerClient(
        http=http,
        base_url=f"{base_url}{PATH_PREFIX}",
        username=user.name,
        credentials=Credentials.behind_ingress(user.name, user.token),
        start_timeout=CONVERGE_DEADLINE,
    )


async def attempt(call: Callable[[], Awaitable[object]]) -> str | None:
    """Run one spawner call; ``None`` if it succeeded, else what went wrong."""
    failure: str | None = None
    try:
        await call()
    except* (httpx.HTTPError, SpawnerError) as group:
        failure = "; ".join(f"{type(e).__name__}: {e}" for e in _leaves(group))
    return failure


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


async def perform(client: SpawnerClient, user: User, step: Step) -> None:
    match step:
        case Step.START_FAST:
            await client.start(options(FAST_TAG), env(user))
        case Step.START_SLOW:
            await client.start(options(SLOW_TAG), env(user))
        case Step.CREATE_SLOW:
            response = await client.create(options(SLOW_TAG), env(user))
            if response.status_code != 201:
                raise SpawnerError(f"create: {response.status_code} {response.text}", response)
        case Step.STOP:
            await client.stop()


@dataclass
class Storm:
    users: list[User]
    kill_now: trio.Event = field(default_factory=trio.Event)
    killed: bool = False
    running: int = 0

    def kill_plan_finished(self) -> int:
        return sum(1 for u in self.users if u.index % len(PLANS) == KILL_PLAN and u.finished)

    async def run(self, client: SpawnerClient, user: User) -> None:
        self.running += 1
        try:
            await trio.sleep(user.index * STAGGER)
            for step in user.plan:
                user.in_flight = step
                failure = await attempt(lambda: perform(client, user, step))  # noqa: B023
                user.in_flight = None
                if failure is not None:
                    if not self.killed:
                        user.failures.append(f"{step}: {failure}")
                    return
            user.finished = True
        finally:
            self.running -= 1
            if self.running == 0 or self.kill_plan_finished() >= KILL_AFTER:
                self.kill_now.set()


async def converge(client: SpawnerClient, user: User) -> None:
    """Do what the user's last action asked for, once, as JupyterHub's spawner does it: a
    start (its create recovers from a 409 by deleting first) unless the lab already runs, or
    a stop (a 404 counts as stopped)."""
    failure: str | None = None
    if user.wants_lab:
        state = await client.lab_state()
        if state is None or state["status"] != "running":
            failure = await attempt(lambda: client.start(options(FAST_TAG), env(user)))
    else:
        failure = await attempt(client.stop)
    if failure is not None:
        user.recovery_failures.append(failure)


# -- the cluster as kubectl shows it ------------------------------------------------------


@dataclass
class Cluster:
    """Lab namespaces, pods and objects, read from kubesim over its API."""

    namespaces: dict[str, dict[str, Any]]
    pods: dict[str, dict[str, dict[str, Any]]]
    config_maps: dict[str, set[str]]
    secrets: dict[str, set[str]]
    quotas: dict[str, set[str]]
    all_pod_namespaces: set[str]
    all_namespaces: set[str]

    @classmethod
    async def read(cls, kube: httpx.AsyncClient) -> Cluster:
        namespaces = await _items(kube, "/api/v1/namespaces")
        pods = await _items(kube, "/api/v1/pods")
        config_maps = await _items(kube, "/api/v1/configmaps")
        secrets = await _items(kube, "/api/v1/secrets")
        quotas = await _items(kube, "/api/v1/resourcequotas")
        by_namespace: dict[str, dict[str, dict[str, Any]]] = {}
        for pod in pods:
            meta = pod["metadata"]
            by_namespace.setdefault(meta["namespace"], {})[meta["name"]] = pod
        return cls(
            namespaces={
                n["metadata"]["name"]: n
                for n in namespaces
                if n["metadata"]["name"].startswith(LAB_PREFIX)
            },
            pods=by_namespace,
            config_maps=_names_by_namespace(config_maps),
            secrets=_names_by_namespace(secrets),
            quotas=_names_by_namespace(quotas),
            all_pod_namespaces=set(by_namespace),
            all_namespaces={n["metadata"]["name"] for n in namespaces},
        )

    def pod_phase(self, user: User) -> str | None:
        pod = self.pods.get(user.namespace, {}).get(f"{user.name}-nb")
        return None if pod is None else (pod.get("status") or {}).get("phase")

    def terminating(self, namespace: str) -> bool:
        return "deletionTimestamp" in self.namespaces[namespace]["metadata"]

    def uid(self, namespace: str) -> str | None:
        found = self.namespaces.get(namespace)
        return None if found is None else str(found["metadata"]["uid"])


async def _items(kube: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    response = await kube.get(path)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _names_by_namespace(items: list[dict[str, Any]]) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = {}
    for item in items:
        meta = item["metadata"]
        grouped.setdefault(meta["namespace"], set()).add(meta["name"])
    return grouped


async def problems(kube: httpx.AsyncClient, hub: httpx.AsyncClient, users: list[User]) -> list[str]:
    """Everything that is not yet as it must end (empty: converged, nothing orphaned)."""
    found: list[str] = []
    cluster = await Cluster.read(kube)
    listed = await hub.get(f"{PATH_PREFIX}/spawner/v1/labs")
    assert listed.status_code == 200, listed.text
    running = set(listed.json())
    wanted = {user.name for user in users if user.wants_lab}
    if running != wanted:
        found.append(f"controller lists {sorted(running ^ wanted)} wrongly as running or not")
    for user in users:
        response = await hub.get(f"{PATH_PREFIX}/spawner/v1/labs/{user.name}")
        state = response.json() if response.status_code == 200 else None
        status = None if state is None else state["status"]
        if user.wants_lab:
            if status != "running" or not state or not state.get("internal_url"):
                found.append(f"{user.name}: controller says {status}, not running with a URL")
            if user.namespace not in cluster.namespaces:
                found.append(f"{user.name}: no namespace")
            elif cluster.terminating(user.namespace):
                found.append(f"{user.name}: namespace terminating")
            if cluster.pod_phase(user) != "Running":
                found.append(f"{user.name}: pod phase {cluster.pod_phase(user)}")
        else:
            if response.status_code != 404:
                found.append(f"{user.name}: deleted, yet the controller says {status}")
            if user.namespace in cluster.namespaces:
                found.append(f"{user.name}: deleted, yet namespace {user.namespace} remains")
    wanted_namespaces = {f"{LAB_PREFIX}{name}" for name in wanted}
    for namespace in sorted(set(cluster.namespaces) - wanted_namespaces):
        found.append(f"orphan namespace {namespace}")
    for namespace in sorted(cluster.all_pod_namespaces - cluster.all_namespaces):
        found.append(f"pods in missing namespace {namespace}")
    for namespace in sorted(cluster.all_pod_namespaces & set(cluster.namespaces)):
        username = namespace.removeprefix(LAB_PREFIX)
        pod_names = set(cluster.pods[namespace])
        if pod_names != {f"{username}-nb"}:
            found.append(f"{namespace}: unexpected pods {sorted(pod_names)}")
        missing = [
            *sorted(
                {f"{username}-nb-{kind}" for kind in ("env", "nss", "files")}
                - cluster.config_maps.get(namespace, set())
            ),
            *sorted({f"{username}-nb"} - cluster.secrets.get(namespace, set())),
            *sorted({f"{username}-nb"} - cluster.quotas.get(namespace, set())),
        ]
        if missing:
            found.append(f"{namespace}: a pod without the lab's {missing}")
    return found


async def until_no_problems(
    kube: httpx.AsyncClient, hub: httpx.AsyncClient, users: list[User]
) -> None:
    """Wait until :func:`problems` finds nothing; the ceiling turns the last findings into
    the failure."""
    last: list[str] = []
    with trio.move_on_after(CONVERGE_DEADLINE):
        while last := await problems(kube, hub, users):
            await trio.sleep(0.1)
        return
    raise AssertionError("not converged: " + "\n".join(last))


# -- the test -----------------------------------------------------------------------------


async def test_sigkill_mid_storm_then_restart_converges_without_orphans(tmp_path: Path) -> None:
    users = [User(i, PLANS[i % len(PLANS)]) for i in range(USERS)]
    site_config = write_yaml(tmp_path / "kubesim.yaml", kubesim_config(users))
    with trio.fail_after(DEADLINE):
        async with (
            kubesim_process(site_config, tmp_path / "kubesim.log") as (_, site_url),
            httpx.AsyncClient(base_url=site_url, timeout=TIMEOUT) as kube,
        ):
            run = await prepare_cluster(kube, site_url, tmp_path)
            at_kill = await storm_and_kill(run, users)
            after = await restart_and_converge(run, users)

    # Labs that were up when the controller died were adopted, not replaced.
    adopted = [u for u in users if u.finished and u.wants_lab and at_kill.pod_phase(u) == "Running"]
    assert adopted, "no lab was running at the kill: nothing tested adoption"
    for user in adopted:
        assert after.uid(user.namespace) == at_kill.uid(user.namespace), user.name


@dataclass
class Run:
    """What starting a controller process on the cluster takes."""

    kube: httpx.AsyncClient
    config: Path
    env: dict[str, str]
    logs: Path


async def prepare_cluster(kube: httpx.AsyncClient, site_url: str, tmp_path: Path) -> Run:
    """The controller's namespace in the cluster; its config, pod metadata and kubeconfig."""
    created = await kube.post(
        "/api/v1/namespaces", json={"metadata": {"name": CONTROLLER_NAMESPACE}}
    )
    assert created.status_code == 201, created.text
    metadata = tmp_path / "podinfo"
    metadata.mkdir()
    (metadata / "namespace").write_text(f"{CONTROLLER_NAMESPACE}\n")
    config = write_yaml(tmp_path / "config.yaml", controller_config(site_url, metadata))
    credentials = write_yaml(tmp_path / "kubeconfig", kubeconfig(site_url))
    return Run(kube, config, {"KUBECONFIG": str(credentials)}, tmp_path)


async def storm_and_kill(run: Run, users: list[User]) -> Cluster:
    """Run every user's plan against a first controller and SIGKILL it half-way; return the
    cluster as it was right after the kill."""
    storm = Storm(users)
    log = run.logs / "controller-1.log"
    async with (
        controller_process(run.config, log, env=run.env) as (controller, url),
        httpx.AsyncClient(timeout=TIMEOUT, limits=LIMITS) as http,
        trio.open_nursery() as nursery,
    ):
        for user in users:
            nursery.start_soon(storm.run, spawner(http, url, user), user)
        await storm.kill_now.wait()
        in_flight = {u.name: u.in_flight for u in users if u.in_flight}
        storm.killed = True
        status = await controller.sigkill()
        at_kill = await Cluster.read(run.kube)
    assert_killed_mid_storm(controller, status, users, in_flight, at_kill)
    return at_kill


async def restart_and_converge(run: Run, users: list[User]) -> Cluster:
    """Start a new controller, drive every user to their last wish, check the cluster."""
    log = run.logs / "controller-2.log"
    async with (
        controller_process(run.config, log, env=run.env) as (controller, url),
        httpx.AsyncClient(timeout=TIMEOUT, limits=LIMITS) as http,
        httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as hub,
    ):
        with trio.fail_after(CONVERGE_DEADLINE):
            async with trio.open_nursery() as nursery:
                for user in users:
                    nursery.start_soon(converge, spawner(http, url, user), user)
        failed = [f"{u.name}: {failure}" for u in users for failure in u.recovery_failures]
        assert not failed, failed
        await until_no_problems(run.kube, hub, users)
        assert controller.process.returncode is None, controller.tail()
        return await Cluster.read(run.kube)


def assert_killed_mid_storm(
    process: ChildProcess,
    status: int,
    users: list[User],
    in_flight: dict[str, Step],
    at_kill: Cluster,
) -> None:
    """The kill was a real SIGKILL, in the middle of the storm, of a healthy controller."""
    assert status == -signal.SIGKILL, (
        f"the controller ended with {status}, not by SIGKILL:\n{process.tail()}"
    )
    before_kill = [f"{u.name}: {failure}" for u in users for failure in u.failures]
    assert not before_kill, before_kill
    assert any(u.finished for u in users), "no user had finished anything before the kill"
    by_name = {u.name: u for u in users}
    # Cut in the middle, as the cluster shows: the deleted lab's namespace is still there,
    # the spawned lab's pod is not running yet.
    cut_stops = [
        name
        for name, step in in_flight.items()
        if step is Step.STOP and by_name[name].namespace in at_kill.namespaces
    ]
    cut_starts = [
        name
        for name, step in in_flight.items()
        if step is not Step.STOP and at_kill.pod_phase(by_name[name]) != "Running"
    ]
    # Shown when the test fails later: what the new controller had to sort out.
    print(f"killed with {len(in_flight)} operations in flight: {sorted(in_flight.items())}")
    print(f"stops cut: {cut_stops}; starts cut: {cut_starts}")
    assert cut_stops, f"no stop was cut half-way by the kill: {in_flight}"
    assert cut_starts, f"no start was cut half-way by the kill: {in_flight}"
