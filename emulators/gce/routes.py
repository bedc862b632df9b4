"""The route table: Compute Engine REST paths -> discovery method ids -> state calls, as data.

Each route names its discovery method id (``compute.forwardingRules.insert``), the HTTP method
and the path template exactly as the compute v1 discovery document writes them (a test checks
the table against the document), whether the call mutates, and the state call that serves it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulators.gce import links
from emulators.gce.errors import OperationError
from emulators.gce.state import ComputeState

Json = dict[str, Any]
Handler = Callable[[ComputeState, dict[str, str], dict[str, str], Json, "OperationError | None"], Any]


@dataclass(frozen=True)
class Route:
    method_id: str
    http_method: str
    template: str
    mutating: bool
    handler: Handler

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template) + r"\Z")


def _scope(p: dict[str, str], level: str) -> str:
    return {"global": "global", "region": f"regions/{p.get('region')}", "zone": f"zones/{p.get('zone')}"}[level]


#: (discovery resource, URL collection, scope level, item path parameter, methods served)
COLLECTIONS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("firewalls", "firewalls", "global", "firewall", ("get", "list", "insert", "delete", "patch", "update")),
    ("healthChecks", "healthChecks", "global", "healthCheck", ("get", "list", "insert", "delete", "patch", "update")),
    ("regionHealthChecks", "healthChecks", "region", "healthCheck",
     ("get", "list", "insert", "delete", "patch", "update")),
    ("regionBackendServices", "backendServices", "region", "backendService",
     ("get", "list", "insert", "delete", "patch", "update")),
    ("forwardingRules", "forwardingRules", "region", "forwardingRule", ("get", "list", "insert", "delete", "patch")),
    ("addresses", "addresses", "region", "address", ("get", "list", "insert", "delete")),
    ("instanceGroups", "instanceGroups", "zone", "instanceGroup", ("get", "list", "insert", "delete")),
    ("instances", "instances", "zone", "instance", ("get", "list")),
    ("networks", "networks", "global", "network", ("get", "list")),
    ("subnetworks", "subnetworks", "region", "subnetwork", ("get", "list")),
)

_SCOPE_PATH = {"global": "projects/{project}/global", "region": "projects/{project}/regions/{region}",
               "zone": "projects/{project}/zones/{zone}"}


def _collection_routes(resource: str, collection: str, level: str, item: str, methods: tuple[str, ...]) -> list[Route]:
    base = f"{_SCOPE_PATH[level]}/{collection}"
    one = f"{base}/{{{item}}}"

    def sc(p: dict[str, str]) -> str:
        return _scope(p, level)

    table: dict[str, tuple[str, str, bool, Handler]] = {
        "get": ("GET", one, False, lambda s, p, q, b, e: s.get(p["project"], sc(p), collection, p[item])),
        "list": ("GET", base, False, lambda s, p, q, b, e: s.list_collection(p["project"], sc(p), collection, q)),
        "insert": ("POST", base, True, lambda s, p, q, b, e: s.insert(p["project"], sc(p), collection, b, e)),
        "delete": ("DELETE", one, True, lambda s, p, q, b, e: s.delete(p["project"], sc(p), collection, p[item], e)),
        "patch": ("PATCH", one, True,
                  lambda s, p, q, b, e: s.update(p["project"], sc(p), collection, p[item], b, patch=True, op_error=e)),
        "update": ("PUT", one, True,
                   lambda s, p, q, b, e: s.update(p["project"], sc(p), collection, p[item], b, patch=False, op_error=e)),
    }
    return [Route(f"compute.{resource}.{m}", table[m][0], table[m][1], table[m][2], table[m][3]) for m in methods]


def _operation_routes(resource: str, level: str) -> list[Route]:
    base = f"{_SCOPE_PATH[level]}/operations"
    ops = lambda s: s.operations  # noqa: E731

    def sc(p: dict[str, str]) -> str:
        return _scope(p, level)

    def listed(s: ComputeState, p: dict[str, str], q: dict[str, str], b: Json, e: Any) -> Json:
        from emulators.gce.listing import page

        items, token = page(ops(s).list(p["project"], sc(p)), q)
        out: Json = {"kind": "compute#operationList", "id": f"projects/{p['project']}/{sc(p)}/operations",
                     "items": items, "selfLink": f"{links.scope_url(p['project'], sc(p))}/operations"}
        if token:
            out["nextPageToken"] = token
        return out

    return [
        Route(f"compute.{resource}.get", "GET", base + "/{operation}", False,
              lambda s, p, q, b, e: ops(s).get(p["project"], sc(p), p["operation"])),
        Route(f"compute.{resource}.wait", "POST", base + "/{operation}/wait", False,
              lambda s, p, q, b, e: ops(s).wait(p["project"], sc(p), p["operation"])),
        Route(f"compute.{resource}.list", "GET", base, False, listed),
        Route(f"compute.{resource}.delete", "DELETE", base + "/{operation}", False,
              lambda s, p, q, b, e: ops(s).delete(p["project"], sc(p), p["operation"])),
    ]


_GROUP = "projects/{project}/zones/{zone}/instanceGroups/{instanceGroup}"

ROUTES: tuple[Route, ...] = (
    *(r for spec in COLLECTIONS for r in _collection_routes(*spec)),
    Route("compute.instanceGroups.addInstances", "POST", _GROUP + "/addInstances", True,
          lambda s, p, q, b, e: s.add_instances(p["project"], p["zone"], p["instanceGroup"], b, e)),
    Route("compute.instanceGroups.removeInstances", "POST", _GROUP + "/removeInstances", True,
          lambda s, p, q, b, e: s.remove_instances(p["project"], p["zone"], p["instanceGroup"], b, e)),
    Route("compute.instanceGroups.listInstances", "POST", _GROUP + "/listInstances", False,
          lambda s, p, q, b, e: s.list_instances(p["project"], p["zone"], p["instanceGroup"], q)),
    Route("compute.regions.get", "GET", "projects/{project}/regions/{region}", False,
          lambda s, p, q, b, e: s.get_region(p["project"], p["region"])),
    Route("compute.zones.list", "GET", "projects/{project}/zones", False,
          lambda s, p, q, b, e: s.list_zones(p["project"], q)),
    *_operation_routes("regionOperations", "region"),
    *_operation_routes("globalOperations", "global"),
    *_operation_routes("zoneOperations", "zone"),
)

_COMPILED = [(r, r.pattern) for r in ROUTES]


class WrongMethod(Exception):
    """The path exists, under another HTTP method."""


def match(http_method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """(route, path params) for a request, None for an unknown path; ``WrongMethod`` otherwise."""
    other = False
    for route, rx in _COMPILED:
        m = rx.match(path)
        if m:
            if route.http_method == http_method:
                return route, m.groupdict()
            other = True
    if other:
        raise WrongMethod(path)
    return None
