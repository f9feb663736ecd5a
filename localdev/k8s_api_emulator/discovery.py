"""Discovery documents (``/version``, ``/api``, ``/apis``...) derived from the kind registry."""

from __future__ import annotations

from typing import Any

from .kinds import Registry

# The Kubernetes release the emulator presents itself as.
VERSION_INFO = {
    "major": "1",
    "minor": "34",
    "gitVersion": "v1.34.0",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-08-27T00:00:00Z",
    "goVersion": "go1.24.6",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def api_versions(server_address: str) -> dict[str, Any]:
    """``GET /api``: the legacy core group's versions."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def resource_list(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    """``GET /api/v1`` or ``/apis/{group}/{version}``; None when nothing is served there."""
    kinds = [k for k in registry if k.group == group and k.version == version]
    if not kinds:
        return None
    document: dict[str, Any] = {"kind": "APIResourceList"}
    if group:
        document["apiVersion"] = "v1"  # the core list omits it, named groups carry it
    document["groupVersion"] = kinds[0].api_version
    resources = []
    for kind in kinds:
        resources.append(
            {
                "name": kind.plural,
                "singularName": kind.singular,
                "namespaced": kind.namespaced,
                "kind": kind.kind,
                "verbs": list(kind.verbs),
                **({"shortNames": list(kind.short_names)} if kind.short_names else {}),
            }
        )
        # A subresource with a kind of another group names that group and version.
        resources += [
            {
                "name": f"{kind.plural}/{sub.name}",
                "singularName": "",
                "namespaced": kind.namespaced,
                **({"group": sub.group, "version": sub.version} if sub.kind else {}),
                "kind": sub.kind or kind.kind,
                "verbs": list(sub.verbs),
            }
            for sub in kind.subresources
        ]
    # The API server lists resources sorted by name.
    document["resources"] = sorted(resources, key=lambda resource: resource["name"])
    return document


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(registry: Registry) -> dict[str, Any]:
    """``GET /apis``: every named group (the core group is listed under ``/api``)."""
    groups = [
        _group(name, versions) for name, versions in registry.group_versions().items() if name
    ]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry: Registry, name: str) -> dict[str, Any] | None:
    versions = registry.group_versions().get(name) if name else None
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}
