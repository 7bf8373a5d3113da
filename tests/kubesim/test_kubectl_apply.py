"""``kubectl apply``, ``explain`` and ``delete`` against kubesim.

kubectl reads ``/openapi/v3`` to learn that the server validates fields itself (it then
sends ``fieldValidation=Strict``) and how lists merge; its three-way merge then sends
strategic merge patches (merge patches for the custom resource). These tests check what
ends up stored, not only kubectl's exit status.
"""

from __future__ import annotations

from typing import Any

from tests.kubesim.kubectl_helpers import Kubectl
from tests.kubesim.manifests import EVERY_KIND

RBAC = "rbac.authorization.k8s.io"

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: example.org/web:1.0
          env:
            - {name: MODE, value: demo}
            - {name: COLOR, value: blue}
          ports: [{containerPort: 8080, name: http}]
        - name: sidecar
          image: example.org/sidecar:1.0
"""


def deployment(kubectl: Kubectl, name: str = "web") -> dict[str, Any]:
    store = kubectl.site.store
    return store.get(store.resource("deployments", "apps"), "default", name)


async def test_every_kind_applies_then_reapplies_unchanged(kubectl: Kubectl) -> None:
    first = await kubectl.run("apply", "-f", "-", stdin=EVERY_KIND)
    assert first.stderr == ""
    assert len(first.lines()) == EVERY_KIND.count("\nkind: ")
    assert all(line.endswith(" created") for line in first.lines())
    store = kubectl.site.store
    pdb = store.resource("poddisruptionbudgets", "policy")
    pdb_version = store.get(pdb, "demo", "web")["metadata"]["resourceVersion"]
    again = await kubectl.run("apply", "-f", "-", stdin=EVERY_KIND)
    # A Secret written with stringData is stored as data, so kubectl's three-way merge
    # always finds something to send, and says "configured", as against a real cluster.
    # kubectl now and then also says "configured" for the PodDisruptionBudget (about one
    # run in eight, depending on timing) although the server stores nothing new; what must
    # hold is the server's side: the budget's resourceVersion does not move.
    reported = {line for line in again.lines() if not line.endswith(" unchanged")}
    assert reported - {"poddisruptionbudget.policy/web configured"} == {"secret/token configured"}
    assert store.get(pdb, "demo", "web")["metadata"]["resourceVersion"] == pdb_version
    for plural, group, namespace, name in (
        ("deployments", "apps", "demo", "web"),
        ("poddisruptionbudgets", "policy", "demo", "web"),
        ("serviceaccounts", "", "demo", "robot"),
        ("roles", RBAC, "demo", "reader"),
        ("rolebindings", RBAC, "demo", "reader"),
        ("clusterroles", RBAC, None, "demo-nodes"),
        ("clusterrolebindings", RBAC, None, "demo-nodes"),
        ("configmaps", "", "demo", "settings"),
        ("limitranges", "", "demo", "limits"),
        ("leases", "coordination.k8s.io", "demo", "controller"),
    ):
        stored = store.get(store.resource(plural, group), namespace, name)
        annotations = stored["metadata"]["annotations"]
        assert "kubectl.kubernetes.io/last-applied-configuration" in annotations


async def test_reapply_merges_lists_by_key_and_drops_what_the_file_dropped(
    kubectl: Kubectl,
) -> None:
    await kubectl.run("apply", "-f", "-", stdin=DEPLOYMENT)
    created = deployment(kubectl)
    assert created["metadata"]["generation"] == 1
    assert created["spec"]["replicas"] == 1  # defaulted
    # Someone else adds an environment variable; the next apply must keep it (three-way
    # merge) while changing the image and removing the variable the file no longer has.
    await kubectl.run("set", "env", "deployment/web", "-c", "web", "ADDED_BY_HAND=yes")
    changed = DEPLOYMENT.replace("web:1.0", "web:2.0").replace(
        "            - {name: COLOR, value: blue}\n", ""
    )
    result = await kubectl.run("apply", "-f", "-", stdin=changed)
    assert result.lines() == ["deployment.apps/web configured"]
    updated = deployment(kubectl)
    web, sidecar = updated["spec"]["template"]["spec"]["containers"]
    assert web["image"] == "example.org/web:2.0"
    assert sidecar["name"] == "sidecar"
    assert {e["name"]: e["value"] for e in web["env"]} == {"MODE": "demo", "ADDED_BY_HAND": "yes"}
    assert web["ports"] == [{"containerPort": 8080, "name": "http", "protocol": "TCP"}]
    assert updated["metadata"]["generation"] == 3
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]


async def test_unknown_fields_are_refused_as_strict_validation_does(kubectl: Kubectl) -> None:
    bad = DEPLOYMENT.replace("  selector:", "  replicaz: 3\n  selector:")
    result = await kubectl.run("apply", "-f", "-", stdin=bad, check=False)
    assert result.returncode != 0
    assert 'strict decoding error: unknown field "spec.replicaz"' in result.stderr
    store = kubectl.site.store
    assert store.find(store.resource("deployments", "apps"), "default", "web") is None
    # With validation off, kubectl asks the server to drop the field silently.
    await kubectl.run("apply", "--validate=false", "-f", "-", stdin=bad)
    assert "replicaz" not in deployment(kubectl)["spec"]


async def test_invalid_objects_are_refused_with_the_field_at_fault(kubectl: Kubectl) -> None:
    no_selector = DEPLOYMENT.replace("  selector: {matchLabels: {app: web}}\n", "")
    result = await kubectl.run("apply", "-f", "-", stdin=no_selector, check=False)
    assert "spec.selector: Required value" in result.stderr
    binding = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: wrong}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: robot}]
"""
    result = await kubectl.run("apply", "-f", "-", stdin=binding, check=False)
    assert 'roleRef.kind: Unsupported value: "Role"' in result.stderr
    assert "subjects[0].namespace: Required value" in result.stderr
    good = binding.replace("kind: Role,", "kind: ClusterRole,").replace(
        "name: robot}", "name: robot, namespace: default}"
    )
    await kubectl.run("apply", "-f", "-", stdin=good)
    moved = good.replace("name: reader}", "name: writer}")
    result = await kubectl.run("apply", "-f", "-", stdin=moved, check=False)
    assert "cannot change roleRef" in result.stderr


async def test_custom_resource_is_applied_with_merge_patches(kubectl: Kubectl) -> None:
    ingress = """
apiVersion: gafaelfawr.lsst.io/v1alpha1
kind: GafaelfawrIngress
metadata: {name: files, namespace: default}
config: {baseUrl: "https://lab.example.org", scopes: {all: [read:image]}}
template:
  metadata: {name: files}
  spec: {rules: [{host: lab.example.org}]}
"""
    await kubectl.run("apply", "-f", "-", stdin=ingress)
    result = await kubectl.run(
        "apply", "-f", "-", stdin=ingress.replace("read:image", "exec:admin")
    )
    assert result.lines() == ["gafaelfawringress.gafaelfawr.lsst.io/files configured"]
    store = kubectl.site.store
    stored = store.get(
        store.resource("gafaelfawringresses", "gafaelfawr.lsst.io"), "default", "files"
    )
    assert stored["config"]["scopes"] == {"all": ["exec:admin"]}


async def test_explain_reads_the_published_schema(kubectl: Kubectl) -> None:
    output = (await kubectl.run("explain", "pod.spec")).stdout
    assert "KIND:       Pod" in output
    assert "FIELD: spec <PodSpec>" in output
    assert "containers\t<[]Container> -required-" in output
    output = (await kubectl.run("explain", "deployments.spec.strategy.type")).stdout
    assert "GROUP:      apps" in output
    assert "RollingUpdate" in output
    output = (await kubectl.run("explain", "clusterrolebinding.roleRef")).stdout
    assert "name\t<string> -required-" in output


async def test_delete_removes_objects(kubectl: Kubectl) -> None:
    await kubectl.run("apply", "-f", "-", stdin=DEPLOYMENT)
    result = await kubectl.run("delete", "-f", "-", stdin=DEPLOYMENT)
    # Newer kubectl adds "from default namespace".
    (line,) = result.lines()
    assert line.startswith('deployment.apps "web" deleted')
    store = kubectl.site.store
    assert store.find(store.resource("deployments", "apps"), "default", "web") is None
    result = await kubectl.run("delete", "deployment", "web", check=False)
    assert 'deployments.apps "web" not found' in result.stderr
