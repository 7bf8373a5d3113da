"""``kubectl get`` against kubesim prints the columns a real cluster prints.

kubectl asks for server-side Tables; these tests run a real kubectl and read its output
as a person would, so a missing or misnamed column, or a cell computed wrongly, shows.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

import trio

from kubesim.tables import human_duration
from tests.kubesim.kubectl_helpers import Kubectl, columns
from tests.kubesim.manifests import EVERY_KIND

#: What a real API server's Table columns are, for every kind kubesim serves.
HEADERS = {
    "pods": ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
    "namespaces": ["NAME", "STATUS", "AGE"],
    "services": ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
    "configmaps": ["NAME", "DATA", "AGE"],
    "secrets": ["NAME", "TYPE", "DATA", "AGE"],
    "nodes": ["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
    "events": ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
    "jobs": ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"],
    "ingresses": ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"],
    "resourcequotas": ["NAME", "AGE", "REQUEST", "LIMIT"],
    "networkpolicies": ["NAME", "POD-SELECTOR", "AGE"],
    "persistentvolumeclaims": [
        "NAME",
        "STATUS",
        "VOLUME",
        "CAPACITY",
        "ACCESS MODES",
        "STORAGECLASS",
        "VOLUMEATTRIBUTESCLASS",
        "AGE",
    ],
    "serviceaccounts": ["NAME", "SECRETS", "AGE"],
    "limitranges": ["NAME", "CREATED AT"],
    "deployments": ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
    "poddisruptionbudgets": [
        "NAME",
        "MIN AVAILABLE",
        "MAX UNAVAILABLE",
        "ALLOWED DISRUPTIONS",
        "AGE",
    ],
    "roles": ["NAME", "CREATED AT"],
    "rolebindings": ["NAME", "ROLE", "AGE"],
    "gafaelfawringresses": ["NAME", "AGE"],
    "leases": ["NAME", "HOLDER", "AGE"],
}
CLUSTER_HEADERS = {
    "clusterroles": ["NAME", "CREATED AT"],
    "clusterrolebindings": ["NAME", "ROLE", "AGE"],
}


def table(output: str) -> tuple[list[str], dict[str, list[str]]]:
    """(header cells, rows by first cell) of kubectl's table output."""
    header, *rows = output.splitlines()
    return columns(header), {columns(row)[0]: columns(row) for row in rows}


async def test_default_namespaces_exist(kubectl: Kubectl) -> None:
    header, rows = table((await kubectl.run("get", "namespaces")).stdout)
    assert header == HEADERS["namespaces"]
    assert set(rows) == {"default", "kube-node-lease", "kube-public", "kube-system"}
    assert all(row[1] == "Active" for row in rows.values())
    # Each one has its default service account, as the service-account controller makes.
    accounts = await kubectl.run("get", "serviceaccounts", "-A", "-o", "name")
    assert accounts.lines().count("serviceaccount/default") == 4


async def test_every_kind_prints_the_columns_of_a_real_cluster(kubectl: Kubectl) -> None:
    applied = await kubectl.run("apply", "-f", "-", stdin=EVERY_KIND)
    assert len(applied.lines()) == EVERY_KIND.count("\nkind: ")
    await kubectl.run("wait", "-n", "demo", "--for=condition=Ready", "pod/lab", "--timeout=20s")
    for plural, wanted in HEADERS.items():
        where = ["-A"] if plural in ("nodes", "namespaces") else ["-n", "demo"]
        output = (await kubectl.run("get", plural, *where)).stdout
        header, _ = table(output)
        assert header == wanted, plural
    for plural, wanted in CLUSTER_HEADERS.items():
        header, rows = table((await kubectl.run("get", plural)).stdout)
        assert header == wanted, plural
        assert "demo-nodes" in rows

    store = kubectl.site.store
    service = store.get(store.resource("services"), "demo", "lab")

    def counted(quota: dict[str, Any]) -> None:  # what a quota controller would write
        quota["status"] = {
            "hard": {"pods": "10", "limits.cpu": "4"},
            "used": {"pods": "1", "limits.cpu": "0"},
        }

    store.mutate(store.resource("resourcequotas"), "demo", "quota", counted)
    cells = {
        plural: table((await kubectl.run("get", plural, "-n", "demo")).stdout)[1]
        for plural in HEADERS
        if plural not in ("nodes", "namespaces", "events")
    }
    assert cells["pods"]["lab"][1:4] == ["1/1", "Running", "0"]
    assert cells["services"]["lab"][1:5] == [
        "ClusterIP",
        service["spec"]["clusterIP"],
        "<none>",
        "80/TCP",
    ]
    assert cells["configmaps"]["settings"][1] == "2"
    assert cells["secrets"]["token"][1:3] == ["Opaque", "1"]
    assert cells["resourcequotas"]["quota"][2:] == ["pods: 1/10", "limits.cpu: 0/4"]
    assert cells["networkpolicies"]["lab"][1] == "app=lab"
    assert cells["ingresses"]["lab"][1:3] == ["nginx", "lab.example.org"]
    assert cells["deployments"]["web"][1:4] == ["0/2", "0", "0"]  # no controller runs it
    assert cells["poddisruptionbudgets"]["web"][1:4] == ["1", "N/A", "0"]
    assert cells["rolebindings"]["reader"][1] == "Role/reader"
    assert cells["leases"]["controller"][1] == "replica-a"
    assert cells["persistentvolumeclaims"]["scratch"][1] == "Pending"
    assert cells["jobs"]["migrate"][1] in ("Running", "Complete")

    events = (await kubectl.run("get", "events", "-n", "demo")).stdout
    assert any(
        columns(line)[1:4] == ["Normal", "Started", "pod/lab"] for line in events.splitlines()
    )


async def test_wide_output_and_labels_come_from_the_server_table(kubectl: Kubectl) -> None:
    await kubectl.run("apply", "-f", "-", stdin=EVERY_KIND)
    await kubectl.run("wait", "-n", "demo", "--for=condition=Ready", "pod/lab", "--timeout=20s")
    pod = kubectl.site.store.get(kubectl.site.store.resource("pods"), "demo", "lab")
    header, rows = table((await kubectl.run("get", "pods", "-n", "demo", "-o", "wide")).stdout)
    assert header == [
        *HEADERS["pods"],
        "IP",
        "NODE",
        "NOMINATED NODE",
        "READINESS GATES",
    ]
    assert rows["lab"][5:] == [pod["status"]["podIP"], pod["spec"]["nodeName"], "<none>", "<none>"]
    # The namespace column and the labels come from each row's object metadata.
    output = (await kubectl.run("get", "pods", "-A", "--show-labels")).stdout
    header, _ = table(output)
    assert header == ["NAMESPACE", *HEADERS["pods"], "LABELS"]
    by_name = {columns(line)[1]: columns(line) for line in output.splitlines()[1:]}
    assert by_name["lab"][0] == "demo"
    assert by_name["lab"][-1] == "app=lab"
    header, rows = table((await kubectl.run("get", "nodes", "-o", "wide")).stdout)
    assert header[5:] == [
        "INTERNAL-IP",
        "EXTERNAL-IP",
        "OS-IMAGE",
        "KERNEL-VERSION",
        "CONTAINER-RUNTIME",
    ]
    assert all(row[1] == "Ready" for row in rows.values())
    # One object by name is a one-row Table too.
    header, rows = table((await kubectl.run("get", "deployment", "web", "-n", "demo")).stdout)
    assert list(rows) == ["web"]


async def test_get_all_lists_the_all_category(kubectl: Kubectl) -> None:
    await kubectl.run("apply", "-f", "-", stdin=EVERY_KIND)
    names = set((await kubectl.run("get", "all", "-n", "demo", "-o", "name")).lines())
    assert {
        "pod/lab",
        "service/lab",
        "deployment.apps/web",
        "job.batch/migrate",
    } <= names
    assert not any(name.startswith("configmap/") for name in names)


def test_ages_are_shown_as_kubectl_shows_them() -> None:
    assert [human_duration(s) for s in (0, 59, 119, 120, 185, 600, 3 * 3600 + 120)] == [
        "0s",
        "59s",
        "119s",
        "2m",
        "3m5s",
        "10m",
        "3h2m",
    ]
    assert human_duration(30 * 3600) == "30h"
    assert human_duration(3 * 86400 + 4 * 3600) == "3d4h"
    assert human_duration(400 * 86400) == "400d"


async def test_simulate_writes_a_kubeconfig_that_kubectl_uses(tmp_path: Path) -> None:
    """``nublado-trio simulate --kubeconfig FILE`` (here ``python -m kubesim``, the same
    ``kubesim.cli.main``) in its own process, as a person would run it."""
    config = tmp_path / "kubeconfig"
    command = [sys.executable, "-m", "kubesim", "--port", "0", "--kubeconfig", str(config)]
    async with trio.open_nursery() as nursery:
        process = await nursery.start(
            partial(trio.run_process, command, stdout=subprocess.DEVNULL, check=False)
        )
        try:
            with trio.fail_after(30):
                while not config.exists() or "current-context" not in config.read_text():
                    await trio.sleep(0.05)
            kubectl = Kubectl(None, tmp_path, config_file=config)
            header, rows = table((await kubectl.run("get", "namespaces")).stdout)
            assert header == HEADERS["namespaces"]
            assert "kube-system" in rows
            nodes = (await kubectl.run("get", "nodes", "-o", "name")).lines()
            assert nodes  # the demo nodes
        finally:
            process.send_signal(signal.SIGINT)
    assert process.returncode == 0
