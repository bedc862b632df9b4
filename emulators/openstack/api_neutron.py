"""Neutron's wire: ``/networking/v2.0/<collection>``, the tag sub-resources, quotas, extensions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulators.openstack.errors import BadRequest, Forbidden, neutron_not_found
from emulators.openstack.listing import select
from emulators.openstack.network import COLLECTIONS, QUOTA_KEYS, SCHEMAS
from emulators.openstack.routes import Reply, Request, Route, listing

Json = dict[str, Any]
ROOT = "/networking"
V2 = f"{ROOT}/v2.0"
EXTENSIONS = ("external-net", "router", "security-group", "quotas", "standard-attr-tag", "tag-creation",
              "standard-attr-description", "standard-attr-revisions", "standard-attr-timestamp",
              "allowed-address-pairs", "port-security", "filter-validation", "binding", "extra_dhcp_opt")
TAGGABLE = ("networks", "subnets", "ports", "floatingips", "security_groups")


def versions(req: Request) -> Reply:
    return Reply(200, {"versions": [{"id": "v2.0", "status": "CURRENT",
                                     "links": [{"href": f"{req.base_url}{V2}/", "rel": "self"}]}]})


def resources(req: Request) -> Reply:
    return Reply(200, {"resources": [
        {"name": singular, "collection": collection,
         "links": [{"href": f"{req.base_url}{_url(collection)}", "rel": "self"}]}
        for collection, (singular, _) in COLLECTIONS.items()]})


def extensions(req: Request) -> Reply:
    return Reply(200, {"extensions": [{"alias": a, "name": a, "description": a, "updated": "2024-01-01T00:00:00Z",
                                       "links": []} for a in EXTENSIONS]})


def _list(collection: str) -> Callable[[Request], Reply]:
    def handler(req: Request) -> Reply:
        page = select(req.cloud.network.listing(collection, req.project), req.query, service="network")
        body = listing(collection, page.items, page.next_marker, req, req.path)
        if not body[f"{collection}_links"]:
            del body[f"{collection}_links"]
        return Reply(200, body)
    return handler


def _get(collection: str) -> Callable[[Request], Reply]:
    singular = COLLECTIONS[collection][0]

    def handler(req: Request) -> Reply:
        net = req.cloud.network
        view = net.view(net.find(collection, req.params["id"], req.project))
        if "fields" in req.query:
            wanted = {f for v in req.query["fields"] for f in v.split(",")}
            view = {k: v for k, v in view.items() if k in wanted}
        return Reply(200, {singular: view})
    return handler


def _create(collection: str) -> Callable[[Request], Reply]:
    schema, singular = SCHEMAS[collection], COLLECTIONS[collection][0]

    def handler(req: Request) -> Reply:
        net = req.cloud.network
        if isinstance(req.body, dict) and isinstance(req.body.get(collection), list):
            raise BadRequest("Bulk creation is not emulated: send one object per request.")
        values = schema.unwrap(req.body)
        owner = values.get("project_id") or values.get("tenant_id")
        if owner and owner != req.project:
            raise Forbidden(f"Policy doesn't allow create_{singular} to be performed.")
        return Reply(201, {singular: net.view(net.create(collection, req.project, values))})
    return handler


def _update(collection: str) -> Callable[[Request], Reply]:
    schema, singular = SCHEMAS[collection], COLLECTIONS[collection][0]
    updaters = {"ports": "update_port", "floatingips": "update_floatingip"}

    def handler(req: Request) -> Reply:
        net = req.cloud.network
        values = schema.parse(schema.unwrap(req.body), "update")
        method = updaters.get(collection)
        if method is not None:
            row = getattr(net, method)(req.project, req.params["id"], values)
        else:
            row = net.find(collection, req.params["id"], req.project)
            row.update(values)
            net.touch(row)
        return Reply(200, {singular: net.view(row)})
    return handler


def _delete(collection: str) -> Callable[[Request], Reply]:
    deleters = {"networks": "delete_network", "subnets": "delete_subnet", "ports": "delete_port",
                "floatingips": "delete_floatingip", "security_groups": "delete_security_group",
                "security_group_rules": "delete_rule"}

    def handler(req: Request) -> Reply:
        getattr(req.cloud.network, deleters[collection])(req.project, req.params["id"])
        return Reply(204)
    return handler


def _url(collection: str) -> str:
    """Neutron's URL segment: ``security-groups`` for the ``security_groups`` collection."""
    return f"{V2}/{collection.replace('_', '-')}"


def _tags(collection: str) -> list[Route]:
    base = f"{_url(collection)}/{{id}}/tags"

    def get_all(req: Request) -> Reply:
        return Reply(200, {"tags": list(req.cloud.network.find(collection, req.params["id"], req.project)["tags"])})

    def put_all(req: Request) -> Reply:
        body = req.body if isinstance(req.body, dict) else {}
        tag_list = body.get("tags")
        if not isinstance(tag_list, list) or not all(isinstance(t, str) and 0 < len(t) <= 255 for t in tag_list):
            raise BadRequest("Invalid input for tags. Reason: a list of tags is required.")
        return Reply(200, {"tags": req.cloud.network.set_tags(req.project, collection, req.params["id"], tag_list)})

    def delete_all(req: Request) -> Reply:
        req.cloud.network.set_tags(req.project, collection, req.params["id"], [])
        return Reply(204)

    def get_one(req: Request) -> Reply:
        row = req.cloud.network.find(collection, req.params["id"], req.project)
        if req.params["tag"] not in row["tags"]:
            raise neutron_not_found("tag", req.params["tag"])
        return Reply(204)

    def put_one(req: Request) -> Reply:
        req.cloud.network.add_tag(req.project, collection, req.params["id"], req.params["tag"])
        return Reply(201)

    def delete_one(req: Request) -> Reply:
        req.cloud.network.remove_tag(req.project, collection, req.params["id"], req.params["tag"])
        return Reply(204)

    one = base + "/{tag}"
    return [
        Route(f"neutron.{collection}.tags.list", "network", "GET", base, False, get_all),
        Route(f"neutron.{collection}.tags.replace", "network", "PUT", base, True, put_all),
        Route(f"neutron.{collection}.tags.clear", "network", "DELETE", base, True, delete_all),
        Route(f"neutron.{collection}.tags.get", "network", "GET", one, False, get_one),
        Route(f"neutron.{collection}.tags.add", "network", "PUT", one, True, put_one),
        Route(f"neutron.{collection}.tags.remove", "network", "DELETE", one, True, delete_one),
    ]


def get_quota(req: Request) -> Reply:
    return Reply(200, {"quota": req.cloud.network.quota_for(req.params["project_id"])})


def update_quota(req: Request) -> Reply:
    assert req.token is not None
    if "admin" not in req.cloud.identity.users[req.token.user_id].roles:
        raise Forbidden("Policy doesn't allow update_quota to be performed.")
    body = req.body.get("quota") if isinstance(req.body, dict) else None
    if not isinstance(body, dict) or any(k not in QUOTA_KEYS or not isinstance(v, int) for k, v in body.items()):
        raise BadRequest(f"Invalid input for quota: keys must be among {list(QUOTA_KEYS)} with integer values.")
    limits = req.cloud.network.quotas.setdefault(req.params["project_id"], {})
    limits.update(body)
    return Reply(200, {"quota": req.cloud.network.quota_for(req.params["project_id"])})


def _crud(collection: str) -> list[Route]:
    base = _url(collection)
    one = f"{base}/{{id}}"
    routes = [
        Route(f"neutron.{collection}.list", "network", "GET", base, False, _list(collection)),
        Route(f"neutron.{collection}.create", "network", "POST", base, True, _create(collection)),
        Route(f"neutron.{collection}.get", "network", "GET", one, False, _get(collection)),
        Route(f"neutron.{collection}.delete", "network", "DELETE", one, True, _delete(collection)),
    ]
    if collection != "security_group_rules":
        routes.append(Route(f"neutron.{collection}.update", "network", "PUT", one, True, _update(collection)))
    return routes


ROUTES = [
    Route("neutron.versions.list", "network", "GET", ROOT, False, versions, auth=False),
    Route("neutron.resources.list", "network", "GET", V2, False, resources),
    Route("neutron.extensions.list", "network", "GET", f"{V2}/extensions", False, extensions),
    Route("neutron.quotas.get", "network", "GET", f"{V2}/quotas/{{project_id}}", False, get_quota),
    Route("neutron.quotas.update", "network", "PUT", f"{V2}/quotas/{{project_id}}", True, update_quota),
    *(route for collection in COLLECTIONS for route in _crud(collection)),
    *(route for collection in TAGGABLE for route in _tags(collection)),
]
