"""Nova's wire (reads only): ``/compute/v2.1/servers[/detail|/{id}]``, flavors, version discovery."""

from __future__ import annotations

from emulators.openstack.compute import MAX_VERSION, MIN_VERSION, parse_microversion
from emulators.openstack.routes import Reply, Request, Route

ROOT = "/compute"
V21 = f"{ROOT}/v2.1"


def _version_doc(req: Request) -> dict[str, object]:
    return {"id": "v2.1", "status": "CURRENT", "version": f"{MAX_VERSION[0]}.{MAX_VERSION[1]}",
            "min_version": f"{MIN_VERSION[0]}.{MIN_VERSION[1]}", "updated": "2013-07-23T11:33:21Z",
            "links": [{"rel": "self", "href": f"{req.base_url}{V21}/"}],
            "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}]}


def versions(req: Request) -> Reply:
    return Reply(200, {"versions": [_version_doc(req)]})


def version(req: Request) -> Reply:
    return Reply(200, {"version": _version_doc(req)})


def _microversion(req: Request) -> tuple[tuple[int, int], dict[str, str]]:
    header = req.headers.get("openstack-api-version") or req.headers.get("x-openstack-nova-api-version")
    if header and header.split()[0] != "compute" and len(header.split()) > 1:
        header = None
    version = parse_microversion(header)
    text = f"{version[0]}.{version[1]}"
    return version, {"OpenStack-API-Version": f"compute {text}", "X-OpenStack-Nova-API-Version": text,
                     "Vary": "OpenStack-API-Version, X-OpenStack-Nova-API-Version"}


def list_servers(req: Request) -> Reply:
    version, headers = _microversion(req)
    servers = req.cloud.compute.list_servers(req.cloud.network, version, req.project, req.query, detail=False)
    return Reply(200, {"servers": servers}, headers)


def list_servers_detail(req: Request) -> Reply:
    version, headers = _microversion(req)
    servers = req.cloud.compute.list_servers(req.cloud.network, version, req.project, req.query, detail=True)
    return Reply(200, {"servers": servers}, headers)


def get_server(req: Request) -> Reply:
    version, headers = _microversion(req)
    server = req.cloud.compute.server_view(req.params["id"], req.cloud.network, version, req.project)
    return Reply(200, {"server": server}, headers)


def list_flavors(req: Request) -> Reply:
    _, headers = _microversion(req)
    flavors = [req.cloud.compute.flavor_view(f) for f in req.cloud.compute.flavors]
    return Reply(200, {"flavors": flavors}, headers)


def get_flavor(req: Request) -> Reply:
    _, headers = _microversion(req)
    return Reply(200, {"flavor": req.cloud.compute.flavor_view(req.params["id"])}, headers)


ROUTES = [
    Route("nova.versions.list", "compute", "GET", ROOT, False, versions, auth=False),
    Route("nova.versions.get", "compute", "GET", V21, False, version, auth=False),
    Route("nova.servers.list", "compute", "GET", f"{V21}/servers", False, list_servers),
    Route("nova.servers.detail", "compute", "GET", f"{V21}/servers/detail", False, list_servers_detail),
    Route("nova.servers.get", "compute", "GET", f"{V21}/servers/{{id}}", False, get_server),
    Route("nova.flavors.list", "compute", "GET", f"{V21}/flavors", False, list_flavors),
    Route("nova.flavors.detail", "compute", "GET", f"{V21}/flavors/detail", False, list_flavors),
    Route("nova.flavors.get", "compute", "GET", f"{V21}/flavors/{{id}}", False, get_flavor),
]
