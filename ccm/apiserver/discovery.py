"""Discovery documents (/version, /api, /apis, APIResourceLists) built from the strategies."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ccm.apiserver import openapi
from ccm.apiserver.strategies import Strategy

VERSION = {
    "major": "1", "minor": "36", "emulationMajor": "1", "emulationMinor": "36",
    "minCompatibilityMajor": "1", "minCompatibilityMinor": "35",
    "gitVersion": "v1.36.0", "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.25.0",
    "compiler": "gc", "platform": "linux/amd64",
}
_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]
_SUB_VERBS = ["get", "patch", "update"]


def group_versions(strategies: Iterable[Strategy]) -> dict[str, list[Strategy]]:
    """``api_version`` -> its strategies, in registration order."""
    out: dict[str, list[Strategy]] = {}
    for s in strategies:
        out.setdefault(s.api_version, []).append(s)
    return out


def api_versions(server_address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def resource_list(group_version: str, strategies: Iterable[Strategy]) -> dict[str, Any]:
    resources: list[dict[str, Any]] = []
    for s in strategies:
        verbs = sorted([*_VERBS, "deletecollection"]) if s.allow_delete_collection else _VERBS
        r: dict[str, Any] = {"name": s.plural, "singularName": s.singular, "namespaced": s.namespaced,
                             "kind": s.kind, "verbs": verbs}
        if s.short_names:
            r["shortNames"] = list(s.short_names)
        if s.categories:
            r["categories"] = list(s.categories)
        resources.append(r)
        if s.has_status:
            resources.append({"name": f"{s.plural}/status", "singularName": "", "namespaced": s.namespaced,
                              "kind": s.kind, "verbs": _SUB_VERBS})
        resources += [_SUBRESOURCES[sub](s) for sub in s.extra_subresources]
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}


#: discovery entries of the extra subresources (their kind lives in another group)
_SUBRESOURCES = {
    "token": lambda s: {"name": f"{s.plural}/token", "singularName": "", "namespaced": s.namespaced,
                        "group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest",
                        "verbs": ["create"]},
}


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    vs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": vs, "preferredVersion": vs[0]}


def group_list(strategies: Iterable[Strategy]) -> dict[str, Any]:
    groups: dict[str, list[str]] = {}
    for s in strategies:
        if s.group and s.version not in groups.setdefault(s.group, []):
            groups[s.group].append(s.version)
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [_group(name, versions) for name, versions in groups.items()]}


def group(strategies: Iterable[Strategy], name: str) -> dict[str, Any] | None:
    versions = []
    for s in strategies:
        if s.group == name and s.version not in versions:
            versions.append(s.version)
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def _gv_path(group_version: str) -> str:
    return "api/v1" if group_version == "v1" else f"apis/{group_version}"


def openapi_v3_root(strategies: Iterable[Strategy]) -> dict[str, Any]:
    """The /openapi/v3 index: one document per group-version."""
    return {"paths": {_gv_path(gv): {"serverRelativeURL": f"/openapi/v3/{_gv_path(gv)}?hash=ccm"}
                      for gv in group_versions(strategies)}}


def openapi_v3_group_version(group_version: str, strategies: Iterable[Strategy]) -> dict[str, Any]:
    """A skeletal OpenAPI v3 document: just enough for kubectl to see that PATCH/POST accept
    ``fieldValidation`` (so it validates server-side instead of downloading full schemas)."""
    paths: dict[str, Any] = {}
    param = [{"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
             {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True}}]
    for s in strategies:
        gvk = {"group": s.group, "version": s.version, "kind": s.kind}
        ns = "namespaces/{namespace}/" if s.namespaced else ""
        base = f"/{_gv_path(group_version)}/{ns}{s.plural}"
        op = {"x-kubernetes-action": "", "x-kubernetes-group-version-kind": gvk, "parameters": param,
              "responses": {"200": {"description": "OK"}}}
        paths[base] = {"post": {**op, "x-kubernetes-action": "post"}}
        paths[base + "/{name}"] = {"put": {**op, "x-kubernetes-action": "put"},
                                   "patch": {**op, "x-kubernetes-action": "patch"}}
    schemas = openapi.kind_schemas([(s.group, s.version, s.kind, s.model) for s in strategies if s.model])
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": VERSION["gitVersion"]},
            "paths": paths, "components": {"schemas": schemas}}
