"""Nova servers behind Nodes (cloud-provider-openstack ``instancesv2.go``), read-only.

One ``GET /servers/{id}`` per call by the id in ``openstack:///<id>`` (or ``openstack://<region>/<id>``),
else the server named like the node. What the node controllers get:

* provider id ``openstack:///<server-id>``;
* exists: Nova knows the server and it is not ``DELETED``/``SOFT_DELETED`` (404: False, which deletes
  the Node); shut down: status ``SHUTOFF``;
* metadata: the flavor name as instance type, ``OS-EXT-AZ:availability_zone`` as zone, the configured
  region, and the addresses in Nova's order (fixed: InternalIP, floating: ExternalIP) plus the
  server name as Hostname.
"""

from __future__ import annotations

import re
from typing import Any

from openstack import exceptions as os_exceptions

from providers.instances import InstanceMetadata, InstanceNotFound, Instances, Node, NodeAddress
from providers.openstack.names import provider_id, server_id_of

GONE = ("DELETED", "SOFT_DELETED")


class OpenStackInstances(Instances):
    def __init__(self, conn: Any, region: str) -> None:
        self.conn = conn
        self.region = region

    def _server(self, node: Node) -> Any | None:
        if node.provider_id:
            try:
                return self.conn.compute.get_server(server_id_of(node.provider_id))
            except os_exceptions.NotFoundException:
                return None
        found = list(self.conn.compute.servers(name=f"^{re.escape(node.name)}$"))
        if len(found) > 1:
            raise RuntimeError(f"node {node.name}: {len(found)} servers have that name, expected one")
        return found[0] if found else None

    def instance_exists(self, node: Node) -> bool:
        server = self._server(node)
        return server is not None and server.status not in GONE

    def instance_shutdown(self, node: Node) -> bool:
        server = self._server(node)
        return server is not None and server.status == "SHUTOFF"

    def instance_metadata(self, node: Node) -> InstanceMetadata:
        server = self._server(node)
        if server is None or server.status in GONE:
            raise InstanceNotFound(f"node {node.name}: no Nova server for provider id {node.provider_id!r}"
                                   if node.provider_id else f"node {node.name}: no Nova server with that name")
        flavor = server.flavor
        instance_type = (getattr(flavor, "original_name", None) or getattr(flavor, "name", None) or
                         getattr(flavor, "id", None) or "")
        return InstanceMetadata(provider_id=provider_id(server.id), instance_type=str(instance_type),
                                node_addresses=addresses(server.addresses or {}, server.name),
                                zone=str(server.availability_zone or ""), region=self.region)


def addresses(by_network: dict[str, list[dict[str, Any]]], hostname: str) -> tuple[NodeAddress, ...]:
    out: list[NodeAddress] = []
    for kind, wanted in (("InternalIP", "fixed"), ("ExternalIP", "floating")):
        for entries in by_network.values():
            out += [NodeAddress(kind, e["addr"]) for e in entries if e.get("OS-EXT-IPS:type", "fixed") == wanted]
    if hostname:
        out.append(NodeAddress("Hostname", hostname))
    return tuple(dict.fromkeys(out))
