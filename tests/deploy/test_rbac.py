"""The RBAC of ``deploy/`` grants exactly what the controller uses, no more and no less.

The controller is run once against kubesim using every capability it has
(:mod:`tests.deploy.capabilities`), and every request it sends is reduced to what RBAC
authorizes: verb, API group, resource, namespace (:mod:`tests.deploy.api_recorder`). The
rights are read from what ``kubectl kustomize`` renders for each overlay: the ClusterRoles
bound to the controller's ServiceAccount by ClusterRoleBindings, and the Roles bound to it by
RoleBindings in one namespace.

* **Shortage**: a request no rule allows fails the test (the controller would get 403).
* **Excess**: a ClusterRole rule must be needed somewhere a Role cannot give it (cluster
  scope, or a lab namespace, which exists only once a user spawns); a Role rule must be
  used in its namespace and not be granted by the ClusterRole already. Anything else
  fails the test, so a right the code stops using has to leave the manifests too.

The run uses the controller namespace and file-server namespace of the shipped manifests;
the test checks that they agree, since the Roles are only right for those namespaces.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import trio

from tests.deploy.api_recorder import ApiUse
from tests.deploy.capabilities import exercise_every_capability
from tests.deploy.render import OVERLAYS, controller_config, find, only, render
from web.simulate import CONTROLLER_NAMESPACE, FILESERVER_NAMESPACE

Grant = tuple[str, str, str]
"""(verb, group, resource) as one RBAC rule grants it."""


def _grants(rules: list[dict[str, Any]]) -> Iterator[Grant]:
    for rule in rules:
        assert set(rule) <= {"apiGroups", "resources", "verbs"}, f"unexpected rule keys: {rule}"
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], f"wildcard in {rule}"
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    yield verb, group, resource


def controller_rights(objects: list[dict[str, Any]]) -> tuple[set[Grant], dict[str, set[Grant]]]:
    """(cluster-wide grants, grants per namespace) of the controller's ServiceAccount."""
    account = only(objects, "ServiceAccount")
    subject = {
        "kind": "ServiceAccount",
        "name": account["metadata"]["name"],
        "namespace": account["metadata"]["namespace"],
    }
    cluster: set[Grant] = set()
    namespaced: dict[str, set[Grant]] = {}
    for binding in find(objects, "ClusterRoleBinding") + find(objects, "RoleBinding"):
        if subject not in binding["subjects"]:
            continue
        ref = binding["roleRef"]
        if binding["kind"] == "ClusterRoleBinding":
            assert ref["kind"] == "ClusterRole"
            cluster |= set(_grants(only(objects, "ClusterRole", ref["name"])["rules"]))
            continue
        namespace = binding["metadata"]["namespace"]
        assert ref["kind"] == "Role", "a ClusterRole bound in one namespace: use a Role"
        [role] = [
            role
            for role in find(objects, "Role", ref["name"])
            if role["metadata"]["namespace"] == namespace
        ]
        namespaced.setdefault(namespace, set()).update(_grants(role["rules"]))
    return cluster, namespaced


@pytest.fixture(scope="module")
def used() -> set[ApiUse]:
    return trio.run(exercise_every_capability)


def _problems(
    used: set[ApiUse],
    cluster: set[Grant],
    namespaced: dict[str, set[Grant]],
    fixed_namespaces: set[str],
) -> list[str]:
    problems: list[str] = []
    needs_cluster_role: set[Grant] = set()
    used_in: dict[str, set[Grant]] = {}
    for use in used:
        grant = (use.verb, use.group, use.resource)
        if use.namespace in fixed_namespaces:
            used_in.setdefault(use.namespace, set()).add(grant)
            if grant not in cluster and grant not in namespaced.get(use.namespace, set()):
                problems.append(f"not allowed: {use}")
        else:
            needs_cluster_role.add(grant)
            if grant not in cluster:
                problems.append(f"not allowed: {use}")
    for verb, group, resource in sorted(cluster - needs_cluster_role):
        problems.append(
            f"ClusterRole grants {verb} {group or 'core'}/{resource}, which is never needed"
            " at cluster scope or in a lab namespace"
        )
    for namespace, grants in sorted(namespaced.items()):
        for verb, group, resource in sorted(grants):
            where = f"Role in {namespace} grants {verb} {group or 'core'}/{resource}"
            if (verb, group, resource) in cluster:
                problems.append(f"{where}, which the ClusterRole already grants")
            elif (verb, group, resource) not in used_in.get(namespace, set()):
                problems.append(f"{where}, which is never used there")
    return sorted(problems)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_rbac_grants_exactly_what_the_controller_uses(overlay: str, used: set[ApiUse]) -> None:
    objects = render(overlay)
    config = controller_config(objects)
    assert only(objects, "ServiceAccount")["metadata"]["namespace"] == CONTROLLER_NAMESPACE
    assert config["fileserver"]["namespace"] == FILESERVER_NAMESPACE
    cluster, namespaced = controller_rights(objects)
    fixed = {CONTROLLER_NAMESPACE, FILESERVER_NAMESPACE}
    lab_prefix = config["lab"]["namespacePrefix"] + "-"
    for use in used:
        assert (
            use.namespace is None or use.namespace in fixed or use.namespace.startswith(lab_prefix)
        ), f"a request in an unexpected namespace: {use}"
    assert _problems(used, cluster, namespaced, fixed) == []


def test_the_comparison_reports_both_shortage_and_excess(used: set[ApiUse]) -> None:
    cluster, namespaced = controller_rights(render("ingress"))
    fixed = {CONTROLLER_NAMESPACE, FILESERVER_NAMESPACE}
    short = set(cluster)
    short.discard(("create", "", "pods"))
    assert any(
        line.startswith("not allowed: create core/pods")
        for line in _problems(used, short, namespaced, fixed)
    )
    extra = {
        **namespaced,
        CONTROLLER_NAMESPACE: namespaced[CONTROLLER_NAMESPACE] | {("list", "", "secrets")},
    }
    assert _problems(used, cluster, extra, fixed) == [
        f"Role in {CONTROLLER_NAMESPACE} grants list core/secrets, which is never used there"
    ]
    assert _problems(used, cluster | {("delete", "", "nodes")}, namespaced, fixed) == [
        "ClusterRole grants delete core/nodes, which is never needed at cluster scope or in a"
        " lab namespace"
    ]
