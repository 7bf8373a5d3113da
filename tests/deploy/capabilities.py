"""One run of the controller that uses every capability it has, for the RBAC test.

Why one dedicated run instead of recording the whole e2e suite: the suite's tests choose and
change freely what they exercise, and a recorder spread over them would make the RBAC test
depend on which tests ran (``-k``, ``-x``, a skipped module) and in which order. Here the
list of capabilities is written down once and always driven completely:

* a lab spawned and deleted, with copied secrets and a pull secret from the controller's
  namespace, its pod waiting for the namespace's service account (as on a real cluster,
  where a controller makes the ``default`` account a moment after the namespace);
* the conflict paths of a spawn: each kind of lab object answered once with 409, so the
  controller reads it back to adopt it, as it would after a crash mid-spawn;
* a file server created by a user and deleted by an administrator;
* fsadmin started, read and stopped; a home-directory migration run to its end;
* image refresh and prepulling (they start on their own with the controller);
* a controller restart that finds a running lab, reconciles it, and deletes it.

Leader election is on, as in the shipped overlays: the first controller creates the lease,
renews it while it works and releases it when it stops; the restarted one takes it over;
both follow it with a watch. Requests are sent once a controller leads, so that each is
served where it arrives rather than forwarded.

The run is made twice, on a simulated server with Kubernetes' streaming lists (WatchList)
and on one without them: the controller's informers then list instead, as they must on a
cluster where that feature is off, so the rights cover both.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import trio

from actors.controller import Controller
from kubesim.gafaelfawr import API_PREFIX, FakeGafaelfawr, NotebookQuota, TokenRecord, UserRecord
from kubesim.site import Site, SiteConfig
from kubesim.store import StoreConfig
from tests.deploy.api_recorder import ApiUse, record_api
from tests.e2e.harness import RunningController, serving_controller
from web.simulate import CONTROLLER_NAMESPACE, FILESERVER_NAMESPACE, simulated_cluster

LAB_SECRET = "nublado-lab-secret"
PULL_SECRET = "pull-secret"
LAB_KINDS_CREATED = (
    "namespaces",
    "configmaps",
    "secrets",
    "resourcequotas",
    "networkpolicies",
    "services",
    "persistentvolumeclaims",
    "pods",
)
"""Every kind a spawn creates: each gets one injected 409 to drive the adoption read."""

MIGRATION_EXITS = {"migrator-alice-to-bob": {"after": 0.2, "code": 0}}

LEASE_NAME = "nublado-controller"
"""The lease the run's controllers elect by (the name the shipped overlays configure)."""

LEADER_ELECTION = {
    "enabled": True,
    "leaseName": LEASE_NAME,
    # Long enough that a loaded machine does not make a controller lose the lease mid-run.
    "leaseDuration": 10,
    "renewDeadline": 8,
    "retryPeriod": 1,
}


def _site_config(*, streaming_lists: bool) -> SiteConfig:
    return SiteConfig(
        store=StoreConfig(
            namespace_delete_delay=0.05,
            default_pod_grace_seconds=1,
            # The default service account appears later than the lab's pod is created, so
            # every spawn takes the wait-for-the-account path.
            service_account_delay=1.5,
            streaming_lists=streaming_lists,
        ),
        bookmark_interval=1.0,
        seed=11,
        controllers={"kubelet": {"pod_exits": MIGRATION_EXITS}},
    )


def _overrides() -> dict[str, Any]:
    lab: dict[str, Any] = {
        "namespacePrefix": "nublado",
        "sizes": [
            {
                "size": "small",
                "resources": {
                    "limits": {"cpu": 1.0, "memory": "2Gi"},
                    "requests": {"cpu": 0.25, "memory": "512Mi"},
                },
            }
        ],
        "volumes": [
            {"name": "home", "source": {"type": "hostPath", "path": "/home"}},
            {
                "name": "scratch",
                "source": {
                    "type": "persistentVolumeClaim",
                    "storageClassName": "rwx",
                    "accessModes": ["ReadWriteMany"],
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            },
        ],
        "volumeMounts": [
            {"containerPath": "/home", "volumeName": "home"},
            {"containerPath": "/scratch", "volumeName": "scratch"},
        ],
        "secrets": [{"secretName": LAB_SECRET, "secretKey": "butler", "env": "BUTLER"}],
        "pullSecret": PULL_SECRET,
        "env": {"RSP_SITE_TYPE": "science"},
    }
    fileserver = {
        "enabled": True,
        "namespace": FILESERVER_NAMESPACE,
        "volumeMounts": [
            {"containerPath": "/home", "volumeName": "home"},
            {"containerPath": "/scratch", "volumeName": "scratch"},
        ],
    }
    return {
        "lab": lab,
        "fsadmin": {"mountPrefix": "/mnt"},
        "fileserver": fileserver,
        "leaderElection": LEADER_ELECTION,
    }


def _add_controller_secrets(site: Site) -> None:
    secrets = site.store.resource("secrets")
    value = base64.b64encode(b"s3cret").decode()
    site.store.create(
        secrets, CONTROLLER_NAMESPACE, {"metadata": {"name": LAB_SECRET}, "data": {"butler": value}}
    )
    config = base64.b64encode(b'{"auths": {}}').decode()
    site.store.create(
        secrets,
        CONTROLLER_NAMESPACE,
        {
            "metadata": {"name": PULL_SECRET},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": config},
        },
    )


def _add_user(site: Site, username: str, uid: int) -> str:
    """A user with a notebook quota (so the lab gets a ResourceQuota); their bearer token."""
    fake = site.mounted(API_PREFIX)
    assert isinstance(fake, FakeGafaelfawr)
    quota = NotebookQuota(cpu=4.0, memory=16.0)
    fake.data.add_user(UserRecord(username=username, uid=uid, gid=uid, notebook_quota=quota))
    token = f"{username}-token"
    fake.data.add_token(TokenRecord(token=token, username=username, scopes=("exec:notebook",)))
    return token


def _spawn_body(running: RunningController, username: str) -> dict[str, Any]:
    return {
        "options": {"image_dropdown": [running.image()], "size": ["small"]},
        "env": {"JUPYTERHUB_SERVICE_PREFIX": f"/nb/user/{username}/"},
    }


async def _spawn(running: RunningController, username: str, token: str | None = None) -> str:
    """Spawn ``username``'s lab; its final progress event type (``complete`` or ``failed``)."""
    async with running.client(token or username) as user:
        url = f"{running.prefix}/spawner/v1/labs/{username}/create"
        created = await user.post(url, json=_spawn_body(running, username))
        assert created.status_code == 201, created.text
        events = await user.get(f"{running.prefix}/spawner/v1/labs/{username}/events")
        assert events.status_code == 200, events.text
        kinds = [line.removeprefix("event:").strip() for line in events.text.splitlines()]
        last = [kind for kind in kinds if kind in ("complete", "failed")]
        assert last, events.text
        return last[-1]


async def _delete_lab(running: RunningController, hub: httpx.AsyncClient, username: str) -> None:
    url = f"{running.prefix}/spawner/v1/labs/{username}"
    deleted = await hub.delete(url)
    assert deleted.status_code in (202, 204), deleted.text
    while (await hub.get(url)).status_code != 404:
        await trio.sleep(0.05)


async def _use_fileserver(running: RunningController, admin: httpx.AsyncClient) -> None:
    async with running.client("alice") as alice:
        assert (await alice.get("/files")).status_code == 200
    url = f"{running.prefix}/fileserver/v1/users/alice"
    assert (await admin.get(url)).status_code == 200
    assert (await admin.delete(url)).status_code == 204
    while (await admin.get(url)).status_code != 404:
        await trio.sleep(0.05)


async def _use_fsadmin(running: RunningController, admin: httpx.AsyncClient) -> None:
    url = f"{running.prefix}/fsadmin/v1/service"
    started = await admin.post(url, json={"start": True})
    assert started.status_code == 200, started.text
    assert (await admin.get(url)).status_code == 200
    assert (await admin.delete(url)).status_code == 204


async def _migrate(running: RunningController, admin: httpx.AsyncClient) -> None:
    url = f"{running.prefix}/migrator/v1/service"
    body = {"old_user": "alice", "new_user": "bob"}
    started = await admin.post(url, json=body)
    assert started.status_code == 200, started.text
    while True:
        status = await admin.get(url, params=body)
        if status.status_code == 200 and not status.json()["running"]:
            break
        await trio.sleep(0.05)
    assert (await admin.delete(url, params=body)).status_code in (200, 204)


async def _wait_leading(controller: Controller) -> None:
    """Until this controller holds the lease (the caller's deadline bounds the wait)."""
    replicas = controller.replicas
    assert replicas is not None
    while not replicas.view.leading:
        await trio.sleep(0.05)


async def _wait_prepulled(running: RunningController, admin: httpx.AsyncClient) -> None:
    while True:
        status = (await admin.get(f"{running.prefix}/spawner/v1/prepulls")).json()
        if status["images"]["prepulled"] and not status["images"]["pending"]:
            return
        await trio.sleep(0.1)


async def _adopt_each_lab_kind(running: RunningController, hub: httpx.AsyncClient) -> None:
    for index, kind in enumerate(LAB_KINDS_CREATED):
        username = f"conflict{index}"
        token = _add_user(running.site, username, 5000 + index)
        running.site.faults.add_error(verb="create", resource=kind, status=409, count=1)
        await _spawn(running, username, token)
        rules = running.site.faults.errors
        assert all(rule.count == 0 for rule in rules), f"no create of {kind} was refused"
        rules.clear()
        response = await hub.get(f"{running.prefix}/spawner/v1/labs/{username}")
        if response.status_code == 200:
            await _delete_lab(running, hub, username)


async def exercise_every_capability() -> set[ApiUse]:
    """Drive every capability, with and without streaming lists; every distinct API use."""
    uses: set[ApiUse] = set()
    for streaming_lists in (True, False):
        uses |= await _exercise_on(_site_config(streaming_lists=streaming_lists))
    return uses


async def _exercise_on(site_config: SiteConfig) -> set[ApiUse]:
    async with simulated_cluster(site_config) as site:
        _add_controller_secrets(site)
        accounts = site.store.resource("serviceaccounts")
        with trio.fail_after(10):
            while not site.store.list(accounts, CONTROLLER_NAMESPACE)[0]:
                await trio.sleep(0.05)
        recorder = record_api(site)
        overrides = _overrides()
        with trio.fail_after(120):
            async with (
                serving_controller(site, config_overrides=overrides) as first,
                first.client("hub") as hub,
                first.client("admin") as admin,
            ):
                await _wait_leading(first.controller)
                await _wait_prepulled(first, admin)
                assert await _spawn(first, "alice") == "complete"
                await _use_fileserver(first, admin)
                await _use_fsadmin(first, admin)
                await _migrate(first, admin)
                await _delete_lab(first, hub, "alice")
                await _adopt_each_lab_kind(first, hub)
                assert await _spawn(first, "bob") == "complete"
            async with (
                serving_controller(site, config_overrides=overrides) as second,
                second.client("hub") as hub,
            ):
                await _wait_leading(second.controller)
                state = await hub.get(f"{second.prefix}/spawner/v1/labs/bob")
                assert state.status_code == 200, state.text
                await _delete_lab(second, hub, "bob")
        return recorder.uses
