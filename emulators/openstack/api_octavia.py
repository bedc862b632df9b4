"""Octavia's wire: ``/load-balancer/v2/lbaas/...`` (``v2.0`` accepted) and version discovery.

Reads count toward the pending jobs of the load balancers they show (``Octavia.observe``), then
render what is there after those jobs completed, so "PENDING_* now, ACTIVE on a later read" is
what a polling client sees. Quota changes and failover need the ``admin`` role, as in Octavia's
default policy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulators.openstack import octavia_schema as sch
from emulators.openstack.errors import Forbidden, octavia_not_found
from emulators.openstack.listing import select
from emulators.openstack.octavia import KINDS, PROVIDERS, Octavia
from emulators.openstack.routes import Reply, Request, Route, listing, unwrap_list
from emulators.openstack.schema import Schema

Json = dict[str, Any]
ROOT = "/load-balancer"
V2 = f"{ROOT}/v2/lbaas"
#: Octavia's API minor versions; a client discovers the highest (and its features) from this list
MINOR_VERSIONS = 27


def versions(req: Request) -> Reply:
    items = [{"id": f"v2.{n}", "status": "CURRENT" if n == MINOR_VERSIONS else "SUPPORTED",
              "updated": "2024-09-01T00:00:00Z", "links": [{"href": f"{req.base_url}{ROOT}/v2", "rel": "self"}]}
             for n in range(MINOR_VERSIONS + 1)]
    return Reply(200, {"versions": items})


def _require_admin(req: Request) -> None:
    assert req.token is not None
    if "admin" not in req.cloud.identity.users[req.token.user_id].roles:
        raise Forbidden("Policy does not allow this request to be performed.")


def _render(oc: Octavia, kind: str, rows: list[Json]) -> list[Json]:
    """Count the read toward the shown load balancers' jobs, then render what remains."""
    oc.observe({r["_lb"] if "_lb" in r else r["id"] for r in rows})
    return [oc.view(kind, r) for r in rows if r["id"] in oc.objects[kind]]


#: query parameters Octavia filters on that its views do not show (database columns): name -> row key
#: (openstacksdk sends ``load_balancer_id`` for listeners, the model column's name; both are taken)
PARENT_FILTERS = {"loadbalancer_id": "_lb", "load_balancer_id": "_lb", "listener_id": "_listener",
                  "pool_id": "_pool"}


def _list(kind: str) -> Callable[[Request], Reply]:
    def handler(req: Request) -> Reply:
        oc = req.cloud.octavia
        pool_id = req.params.get("pool_id")
        if pool_id is not None:
            oc.get("pools", pool_id, req.project)
        rows = oc.visible(kind, req.project, pool_id)
        query = dict(req.query)
        for name, column in PARENT_FILTERS.items():
            if name in query and kind != "loadbalancers":
                wanted = set(query.pop(name))
                rows = [r for r in rows if r.get(column) in wanted]
        if "name" in query:  # stored as shown: filter before rendering (a view scans its children)
            names = set(query.pop("name"))
            rows = [r for r in rows if r.get("name") in names]
        page = select([oc.view(kind, r) for r in rows], query, service="load-balancer")
        wanted = {v["id"] for v in page.items if "id" in v}
        shown = _render(oc, kind, [r for r in rows if r["id"] in wanted]) if "fields" not in req.query else page.items
        return Reply(200, listing(kind, shown, page.next_marker, req, req.path))
    return handler


def _get(kind: str) -> Callable[[Request], Reply]:
    singular = SINGULAR[kind]

    def handler(req: Request) -> Reply:
        oc = req.cloud.octavia
        ident = req.params["id"]
        row = oc.member(req.project, req.params["pool_id"], ident) if kind == "members" \
            else oc.get(kind, ident, req.project)
        shown = _render(oc, kind, [row])
        if not shown:
            raise octavia_not_found(KINDS[kind][0], ident)
        return Reply(200, {singular: shown[0]})
    return handler


def _parse(schema: Schema, req: Request, op: str) -> Json:
    return schema.parse(schema.unwrap(req.body), op)


SINGULAR = {"loadbalancers": "loadbalancer", "listeners": "listener", "pools": "pool", "members": "member",
            "healthmonitors": "healthmonitor"}
#: kind -> (its request table, the Octavia state's create/update/delete methods)
HANDLERS: dict[str, tuple[Schema, str, str, str]] = {
    "loadbalancers": (sch.LOADBALANCER, "create_lb", "update_lb", "delete_lb"),
    "listeners": (sch.LISTENER, "create_listener", "update_listener", "delete_listener"),
    "pools": (sch.POOL, "create_pool", "update_pool", "delete_pool"),
    "members": (sch.MEMBER, "create_member", "update_member", "delete_member"),
    "healthmonitors": (sch.HEALTHMONITOR, "create_hm", "update_hm", "delete_hm"),
}


def _scope(kind: str, req: Request) -> tuple[str, ...]:
    """The path arguments before the object's own: members live under their pool."""
    return (req.project, req.params["pool_id"]) if kind == "members" else (req.project,)


def _create(kind: str) -> Callable[[Request], Reply]:
    schema, create, _, _ = HANDLERS[kind]

    def handler(req: Request) -> Reply:
        oc = req.cloud.octavia
        row = getattr(oc, create)(*_scope(kind, req), _parse(schema, req, "create"))
        return Reply(201, {SINGULAR[kind]: oc.view(kind, row)})
    return handler


def _update(kind: str) -> Callable[[Request], Reply]:
    schema, _, update, _ = HANDLERS[kind]

    def handler(req: Request) -> Reply:
        oc = req.cloud.octavia
        row = getattr(oc, update)(*_scope(kind, req), req.params["id"], _parse(schema, req, "update"))
        return Reply(200, {SINGULAR[kind]: oc.view(kind, row)})
    return handler


def _delete(kind: str) -> Callable[[Request], Reply]:
    delete = HANDLERS[kind][3]

    def handler(req: Request) -> Reply:
        extra = {"cascade": req.flag("cascade")} if kind == "loadbalancers" else {}
        getattr(req.cloud.octavia, delete)(*_scope(kind, req), req.params["id"], **extra)
        return Reply(204)
    return handler


def failover_lb(req: Request) -> Reply:
    _require_admin(req)
    oc = req.cloud.octavia
    oc.get("loadbalancers", req.params["id"], req.project)
    oc.failover(req.params["id"])
    return Reply(202)


def batch_members(req: Request) -> Reply:
    members = [sch.MEMBER.parse(m if isinstance(m, dict) else {}, "create")
               for m in unwrap_list(req.body, "members")]
    req.cloud.octavia.batch_members(req.project, req.params["pool_id"], members,
                                    additive_only=req.flag("additive_only"))
    return Reply(202)


def _quota_view(project: str, limits: dict[str, int]) -> Json:
    out: Json = dict(limits)
    out.update(project_id=project, loadbalancer=limits["load_balancer"], healthmonitor=limits["health_monitor"])
    return out


def list_quotas(req: Request) -> Reply:
    oc = req.cloud.octavia
    return Reply(200, {"quotas": [_quota_view(p, oc.quota_for(p)) for p in sorted(oc.quotas)], "quotas_links": []})


def quota_defaults(req: Request) -> Reply:
    oc = req.cloud.octavia
    return Reply(200, {"quota": {k: v for k, v in _quota_view("", oc.quota_for("")).items() if k != "project_id"}})


def get_quota(req: Request) -> Reply:
    project = req.params["project_id"]
    if project != req.project:
        _require_admin(req)
    return Reply(200, {"quota": _quota_view(project, req.cloud.octavia.quota_for(project))})


def update_quota(req: Request) -> Reply:
    _require_admin(req)
    project = req.params["project_id"]
    values = {k: v for k, v in _parse(sch.QUOTA, req, "update").items() if v is not None}
    return Reply(202, {"quota": _quota_view(project, req.cloud.octavia.set_quota(project, values))})


def delete_quota(req: Request) -> Reply:
    _require_admin(req)
    req.cloud.octavia.quotas.pop(req.params["project_id"], None)
    return Reply(204)


def providers(req: Request) -> Reply:
    return Reply(200, {"providers": [{"name": n, "description": d} for n, d in PROVIDERS.items()]})


def flavors(req: Request) -> Reply:
    return Reply(200, {"flavors": list(req.cloud.octavia.flavors.values()), "flavors_links": []})


def flavor(req: Request) -> Reply:
    row = req.cloud.octavia.flavors.get(req.params["id"])
    if row is None:
        raise octavia_not_found("Flavor", req.params["id"])
    return Reply(200, {"flavor": row})


def availability_zones(req: Request) -> Reply:
    return Reply(200, {"availability_zones": list(req.cloud.octavia.availability_zones.values()),
                       "availability_zones_links": []})


def _crud(kind: str, base: str) -> list[Route]:
    one = base + "/{id}"
    return [
        Route(f"octavia.{kind}.list", "load-balancer", "GET", base, False, _list(kind)),
        Route(f"octavia.{kind}.create", "load-balancer", "POST", base, True, _create(kind)),
        Route(f"octavia.{kind}.get", "load-balancer", "GET", one, False, _get(kind)),
        Route(f"octavia.{kind}.update", "load-balancer", "PUT", one, True, _update(kind)),
        Route(f"octavia.{kind}.delete", "load-balancer", "DELETE", one, True, _delete(kind)),
    ]


ROUTES = [
    Route("octavia.versions.list", "load-balancer", "GET", ROOT, False, versions, auth=False),
    Route("octavia.versions.get", "load-balancer", "GET", f"{ROOT}/v2", False, versions, auth=False),
    Route("octavia.loadbalancers.failover", "load-balancer", "PUT", f"{V2}/loadbalancers/{{id}}/failover", True,
          failover_lb),
    *_crud("loadbalancers", f"{V2}/loadbalancers"),
    *_crud("listeners", f"{V2}/listeners"),
    *_crud("pools", f"{V2}/pools"),
    Route("octavia.members.batch", "load-balancer", "PUT", f"{V2}/pools/{{pool_id}}/members", True, batch_members),
    *_crud("members", f"{V2}/pools/{{pool_id}}/members"),
    *_crud("healthmonitors", f"{V2}/healthmonitors"),
    Route("octavia.quotas.list", "load-balancer", "GET", f"{V2}/quotas", False, list_quotas),
    Route("octavia.quotas.defaults", "load-balancer", "GET", f"{V2}/quotas/defaults", False, quota_defaults),
    Route("octavia.quotas.get", "load-balancer", "GET", f"{V2}/quotas/{{project_id}}", False, get_quota),
    Route("octavia.quotas.update", "load-balancer", "PUT", f"{V2}/quotas/{{project_id}}", True, update_quota),
    Route("octavia.quotas.delete", "load-balancer", "DELETE", f"{V2}/quotas/{{project_id}}", True, delete_quota),
    Route("octavia.providers.list", "load-balancer", "GET", f"{V2}/providers", False, providers),
    Route("octavia.flavors.list", "load-balancer", "GET", f"{V2}/flavors", False, flavors),
    Route("octavia.flavors.get", "load-balancer", "GET", f"{V2}/flavors/{{id}}", False, flavor),
    Route("octavia.availabilityzones.list", "load-balancer", "GET", f"{V2}/availabilityzones", False,
          availability_zones),
]
