"""The RBAC of ``deploy/`` grants exactly what the controller uses, no more and no less.

The controller is run once against kubesim using every capability it has
(:mod:`tests.deploy.capabilities`, leader election included), and every request it sends is
reduced to what RBAC authorizes: verb, API group, resource, namespace and the name the
authorizer sees (:mod:`tests.deploy.api_recorder`). The
rights are read from what ``kubectl kustomize`` renders for each overlay: the ClusterRoles
bound to the controller's ServiceAccount by ClusterRoleBindings, and the Roles bound to it by
RoleBindings in one namespace.

* **Shortage**: a request no rule allows fails the test (the controller would get 403).
* **Excess**: a ClusterRole rule must be needed somewhere a Role cannot give it (cluster
  scope, or a lab namespace, which exists only once a user spawns); a Role rule must be
  used in its namespace and not be granted by the ClusterRole already. Anything else
  fails the test, so a right the code stops using has to leave the manifests too.
* **Names**: a rule with ``resourceNames`` allows only requests that name one of them (in
  the path, or by a ``metadata.name`` field selector for a list or watch), as on a real
  API server. The leader-election lease is the one object the controller can be held to
  by name: every right on leases except ``create`` must name it.

The run uses the controller namespace and file-server namespace of the shipped manifests;
the test checks that they agree, since the Roles are only right for those namespaces.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import trio

from tests.deploy.api_recorder import ApiUse
from tests.deploy.capabilities import LEASE_NAME, exercise_every_capability
from tests.deploy.render import OVERLAYS, controller_config, find, only, render
from web.simulate import CONTROLLER_NAMESPACE, FILESERVER_NAMESPACE

Grant = tuple[str, str, str, str | None]
"""(verb, group, resource, name) as one RBAC rule grants it; name ``None``: any object."""


def _grants(rules: list[dict[str, Any]]) -> Iterator[Grant]:
    for rule in rules:
        keys = {"apiGroups", "resources", "verbs", "resourceNames"}
        assert set(rule) <= keys, f"unexpected rule keys: {rule}"
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], f"wildcard in {rule}"
        names: list[str | None] = list(rule.get("resourceNames") or [None])
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    for name in names:
                        yield verb, group, resource, name


def _allows(grant: Grant, use: ApiUse) -> bool:
    verb, group, resource, name = grant
    return (verb, group, resource) == (use.verb, use.group, use.resource) and (
        name is None or name == use.name
    )


def _allowed(use: ApiUse, grants: set[Grant]) -> bool:
    return any(_allows(grant, use) for grant in grants)


def _covered(grant: Grant, by: set[Grant]) -> bool:
    """Whether ``by`` already grants everything ``grant`` does."""
    verb, group, resource, _ = grant
    return grant in by or (verb, group, resource, None) in by


def _describe(grant: Grant) -> str:
    verb, group, resource, name = grant
    return f"{verb} {group or 'core'}/{resource}" + (f" named {name}" if name else "")


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
    needs_cluster_role: set[ApiUse] = set()
    used_in: dict[str, set[ApiUse]] = {}
    for use in used:
        if use.namespace in fixed_namespaces:
            used_in.setdefault(use.namespace, set()).add(use)
            grants = cluster | namespaced.get(use.namespace, set())
        else:
            needs_cluster_role.add(use)
            grants = cluster
        if not _allowed(use, grants):
            problems.append(f"not allowed: {use}")
    for grant in sorted(cluster, key=str):
        if not any(_allows(grant, use) for use in needs_cluster_role):
            problems.append(
                f"ClusterRole grants {_describe(grant)}, which is never needed at cluster scope"
                " or in a lab namespace"
            )
    for namespace, grants in sorted(namespaced.items()):
        for grant in sorted(grants, key=str):
            where = f"Role in {namespace} grants {_describe(grant)}"
            if _covered(grant, cluster):
                problems.append(f"{where}, which the ClusterRole already grants")
            elif not any(_allows(grant, use) for use in used_in.get(namespace, set())):
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
    short.discard(("create", "", "pods", None))
    assert any(
        line.startswith("not allowed: create core/pods")
        for line in _problems(used, short, namespaced, fixed)
    )
    extra = {
        **namespaced,
        CONTROLLER_NAMESPACE: namespaced[CONTROLLER_NAMESPACE] | {("list", "", "secrets", None)},
    }
    assert _problems(used, cluster, extra, fixed) == [
        f"Role in {CONTROLLER_NAMESPACE} grants list core/secrets, which is never used there"
    ]
    assert _problems(used, cluster | {("delete", "", "nodes", None)}, namespaced, fixed) == [
        "ClusterRole grants delete core/nodes, which is never needed at cluster scope or in a"
        " lab namespace"
    ]


LEASES = ("coordination.k8s.io", "leases")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_lease_rights_name_the_configured_lease(overlay: str, used: set[ApiUse]) -> None:
    objects = render(overlay)
    election = controller_config(objects)["leaderElection"]
    assert election["enabled"] is True
    assert election.get("leaseName", LEASE_NAME) == LEASE_NAME
    cluster, namespaced = controller_rights(objects)
    assert not any((group, resource) == LEASES for _, group, resource, _ in cluster)
    lease_grants = {
        (verb, name)
        for verb, group, resource, name in namespaced[CONTROLLER_NAMESPACE]
        if (group, resource) == LEASES
    }
    # create cannot be restricted by name (the name is not known when it is authorized);
    # everything else can, list and watch included, because the controller selects the
    # lease by name.
    assert lease_grants == {
        ("create", None),
        *((verb, LEASE_NAME) for verb in ("get", "list", "watch", "update")),
    }
    lease_uses = {use for use in used if (use.group, use.resource) == LEASES}
    assert {use.verb for use in lease_uses} == {"create", "get", "list", "watch", "update"}
    for use in lease_uses:
        assert use.namespace == CONTROLLER_NAMESPACE, use
        assert use.name == (None if use.verb == "create" else LEASE_NAME), use


def test_a_named_rule_allows_only_requests_for_that_name(used: set[ApiUse]) -> None:
    cluster, namespaced = controller_rights(render("ingress"))
    fixed = {CONTROLLER_NAMESPACE, FILESERVER_NAMESPACE}
    renamed = {
        **namespaced,
        CONTROLLER_NAMESPACE: {
            (verb, group, resource, "another-lease" if name == LEASE_NAME else name)
            for verb, group, resource, name in namespaced[CONTROLLER_NAMESPACE]
        },
    }
    problems = _problems(used, cluster, renamed, fixed)
    assert f"not allowed: watch coordination.k8s.io/leases {LEASE_NAME} (namespace" in "\n".join(
        problems
    )
    assert (
        f"Role in {CONTROLLER_NAMESPACE} grants update coordination.k8s.io/leases named"
        " another-lease, which is never used there" in problems
    )
