"""A pod's life seen through kubectl: ``describe``, ``logs``, ``get -w`` and ``delete``."""

from __future__ import annotations

import trio

from tests.kubesim.kubectl_helpers import Kubectl, columns, read_lines_until, stop
from tests.kubesim.manifests import LAB_IMAGE

LAB = f"""
apiVersion: v1
kind: ConfigMap
metadata: {{name: lab-env, namespace: default}}
data: {{JUPYTERHUB_SERVICE_PREFIX: /nb/user/alice/}}
---
apiVersion: v1
kind: Pod
metadata: {{name: lab, namespace: default, labels: {{app: lab}}}}
spec:
  terminationGracePeriodSeconds: 3600
  initContainers:
    - {{name: inithome, image: "example.org/nublado:15", command: [nublado, inithome]}}
  containers:
    - name: notebook
      image: {LAB_IMAGE}
      args: [/opt/lsst/software/jupyterlab/runlab.sh]
      ports: [{{containerPort: 8888, name: jupyterlab}}]
      envFrom: [{{configMapRef: {{name: lab-env}}}}]
      env: [{{name: USER, value: alice}}]
"""


async def running_lab(kubectl: Kubectl, manifest: str = LAB) -> None:
    await kubectl.run("apply", "-f", "-", stdin=manifest)
    await kubectl.run("wait", "--for=condition=Ready", "pod/lab", "--timeout=20s")


async def test_describe_pod_node_and_namespace(kubectl: Kubectl) -> None:
    await running_lab(kubectl)
    pod = (await kubectl.run("describe", "pod", "lab")).stdout
    node_name = kubectl.site.store.get(kubectl.site.store.resource("pods"), "default", "lab")[
        "spec"
    ]["nodeName"]
    assert f"Node:             {node_name}/" in pod
    assert "Status:           Running" in pod
    events = pod.split("Events:")[1]
    reasons = [columns(line)[1] for line in events.splitlines()[3:] if line.strip()]
    assert reasons[0] == "Scheduled"
    assert "Started" in reasons
    node = (await kubectl.run("describe", "node", node_name)).stdout
    # The node's pods are found with a field selector on spec.nodeName and phase.
    assert "Non-terminated Pods:          (1 in total)" in node
    assert any(columns(line)[:2] == ["default", "lab"] for line in node.splitlines())
    namespace = (await kubectl.run("describe", "namespace", "default")).stdout
    assert "Status:       Active" in namespace
    assert "No resource quota." in namespace


async def test_logs_of_a_lab_and_its_init_container(kubectl: Kubectl) -> None:
    await running_lab(kubectl)
    log = await kubectl.run("logs", "lab")
    assert "Defaulted container" not in log.stdout
    assert any("Jupyter Server is running at:" in line for line in log.lines())
    # The URL is built from the environment, including what envFrom brings in.
    assert log.lines()[-2].endswith("ServerApp] http://lab:8888/nb/user/alice/lab")
    tail = await kubectl.run("logs", "lab", "-c", "notebook", "--tail=1", "--timestamps")
    (line,) = tail.lines()
    stamp, text = line.split(" ", 1)
    assert stamp.endswith("Z")
    assert "T" in stamp
    assert text.startswith("[I ")
    init = await kubectl.run("logs", "lab", "-c", "inithome")
    assert init.lines()[0].startswith("Checking ")
    wrong = await kubectl.run("logs", "lab", "-c", "nothing", check=False)
    assert "container nothing is not valid for pod lab" in wrong.stderr


async def test_logs_of_a_container_that_has_not_started(kubectl: Kubectl) -> None:
    stuck = LAB.replace(LAB_IMAGE, "example.org/does-not-exist:1")
    await kubectl.run("apply", "-f", "-", stdin=stuck)
    store = kubectl.site.store
    with trio.fail_after(20):
        while True:
            statuses = (
                store.get(store.resource("pods"), "default", "lab").get("status") or {}
            ).get("containerStatuses") or []
            if any(
                "waiting" in s["state"]
                and s["state"]["waiting"].get("reason", "").startswith("ErrImage")
                for s in statuses
            ):
                break
            await trio.sleep(0.05)
    result = await kubectl.run("logs", "lab", check=False)
    assert result.returncode != 0
    assert 'container "notebook" in pod "lab" is waiting to start: ErrImagePull' in result.stderr


async def test_logs_follow_ends_when_the_container_stops(kubectl: Kubectl) -> None:
    await running_lab(kubectl)
    process = await kubectl.open("logs", "-f", "lab")
    try:
        lines = await read_lines_until(
            process, lambda seen: any("Use Control-C" in line for line in seen)
        )
        assert any("Jupyter Server is running at:" in line for line in lines)
        await kubectl.run("delete", "pod", "lab", "--wait=false")
        with trio.fail_after(20):
            assert await process.wait() == 0
    finally:
        await stop(process)


async def test_get_watch_prints_each_change_under_one_header(kubectl: Kubectl) -> None:
    # A pod that never gets a node, so that kubectl has a first row to print: then its
    # watch has started and sees the lab from its creation on.
    marker = LAB.replace("name: lab,", "name: marker,").replace(
        "spec:\n", "spec:\n  nodeSelector: {nowhere: 'true'}\n", 1
    )
    await kubectl.run("apply", "-f", "-", stdin=marker)
    process = await kubectl.open("get", "pods", "-w", "-o", "wide")
    try:
        lines = await read_lines_until(process, lambda seen: len(seen) >= 2)
        await kubectl.run("apply", "-f", "-", stdin=LAB)

        def gone(lines: list[str]) -> bool:
            # Deletion starts, the containers exit, the pod goes: three changes.
            return sum("Terminating" in line for line in lines) >= 3

        lines += await read_lines_until(
            process, lambda seen: any(columns(line)[2:3] == ["Running"] for line in seen)
        )
        await kubectl.run("delete", "pod", "lab", "--wait=false")
        lines += await read_lines_until(process, gone)
    finally:
        await stop(process)
    header, first, *rows = lines
    assert columns(first)[:3] == ["marker", "0/1", "Pending"]
    assert columns(header) == [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED NODE",
        "READINESS GATES",
    ]
    assert all(columns(row)[0] == "lab" for row in rows)
    statuses = [columns(row)[2] for row in rows]
    assert statuses[0] == "Pending"
    assert "Init:0/1" in statuses
    assert "Running" in statuses
    assert statuses[-1] == "Terminating"


async def test_delete_returns_once_the_containers_exit_not_after_the_grace(
    kubectl: Kubectl,
) -> None:
    await running_lab(kubectl)  # its grace period is an hour
    store = kubectl.site.store
    pods = store.resource("pods")
    _, rv = store.list(pods, "default")
    # kubectl delete waits until the pod is gone: it can only return because the
    # containers exited on SIGTERM, as a real JupyterLab does, long before the grace.
    result = await kubectl.run("delete", "pod", "lab", "--timeout=30s")
    (line,) = result.lines()
    assert line.startswith('pod "lab" deleted')
    assert store.find(pods, "default", "lab") is None
    changes = []
    async with store.watch(pods, "default", resource_version=rv) as watch:
        async for event in watch:
            changes.append(event)
            if event.type == "DELETED":
                break
    last = changes[-2].object
    (container,) = last["status"]["containerStatuses"]
    assert container["state"]["terminated"]["reason"] == "Completed"
    assert last["metadata"]["deletionGracePeriodSeconds"] == 3600
