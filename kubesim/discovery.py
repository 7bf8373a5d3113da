"""Discovery documents: ``/api``, ``/apis``, group and group/version resource lists, ``/version``.

Clients (the official ``kubernetes`` client's dynamic client, kubectl) read these to learn
which kinds exist, where, and with which verbs; they are derived from
:data:`kubesim.resources.RESOURCES` so they can never disagree with the REST routes.
"""

from __future__ import annotations

from typing import Any

from kubesim.resources import ResourceType, group_versions

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
SERVER_VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.0-kubesim",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2024-08-13T00:00:00Z",
    "goVersion": "go1.22.5",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _group_entry(group: str, version: str) -> dict[str, Any]:
    gv = {"groupVersion": f"{group}/{version}", "version": version}
    return {"name": group, "versions": [gv], "preferredVersion": gv}


def _named_groups() -> list[tuple[str, str]]:
    result = []
    for api_version in group_versions():
        if "/" in api_version:
            group, version = api_version.split("/")
            result.append((group, version))
    return result


def api_group_list() -> dict[str, Any]:
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group_entry(g, v) for g, v in _named_groups()],
    }


def api_group(group: str) -> dict[str, Any] | None:
    for name, version in _named_groups():
        if name == group:
            return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(name, version)}
    return None


def _resource_entries(res: ResourceType) -> list[dict[str, Any]]:
    entry: dict[str, Any] = {
        "name": res.plural,
        "singularName": res.singular,
        "namespaced": res.namespaced,
        "kind": res.kind,
        "verbs": VERBS,
    }
    if res.short_names:
        entry["shortNames"] = list(res.short_names)
    if res.categories:
        entry["categories"] = list(res.categories)
    entries = [entry]
    if res.status_subresource:
        entries.append(
            {
                "name": f"{res.plural}/status",
                "singularName": "",
                "namespaced": res.namespaced,
                "kind": res.kind,
                "verbs": ["get", "patch", "update"],
            }
        )
    return entries


def resource_list(api_version: str) -> dict[str, Any] | None:
    kinds = group_versions().get(api_version)
    if kinds is None:
        return None
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": api_version,
        "resources": [entry for res in kinds for entry in _resource_entries(res)],
    }
