"""Compute Engine instances behind Nodes (cloud-provider-gcp ``gce_instances.go``), read-only.

One ``instances.get`` per call, by ``gce://<project>/<zone>/<instance>`` when the node has a
providerID, else by the node name (its first DNS label, as upstream) in each zone of the
configured region. What the node controllers get:

* provider id ``gce://<project>/<zone>/<instance>``;
* exists: the instance is known (``notFound``: False, which deletes the Node); shut down: status
  ``STOPPING``, ``TERMINATED`` (a stopped VM), ``SUSPENDING`` or ``SUSPENDED``;
* metadata: the machine type, the zone and its region, the addresses in upstream's order (each
  interface's ``networkIP`` as InternalIP, nic0 first, then each access config's ``natIP`` as
  ExternalIP).
"""

from __future__ import annotations

import threading
from typing import Any

from google.api_core import exceptions as gexc

from providers.gcp.clients import Clients, translated_errors
from providers.gcp.observe import as_dict
from providers.instances import InstanceMetadata, InstanceNotFound, Instances, Node, NodeAddress

PROVIDER_ID_SCHEME = "gce://"
SHUTDOWN_STATES = frozenset({"STOPPING", "TERMINATED", "SUSPENDING", "SUSPENDED"})


def parse_provider_id(provider_id: str) -> tuple[str, str, str]:
    """``gce://project/zone/name`` -> (project, zone, name); ValueError for anything else."""
    if not provider_id.startswith(PROVIDER_ID_SCHEME):
        raise ValueError(f"provider id {provider_id!r}: scheme is not gce://")
    parts = provider_id[len(PROVIDER_ID_SCHEME):].split("/")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"provider id {provider_id!r}: expected gce://<project>/<zone>/<instance>")
    return parts[0], parts[1], parts[2]


def node_addresses(instance: dict[str, Any]) -> tuple[NodeAddress, ...]:
    nics = sorted(instance.get("networkInterfaces", []), key=lambda n: n.get("name", ""))
    out = [NodeAddress("InternalIP", n["networkIP"]) for n in nics if n.get("networkIP")]
    out += [NodeAddress("ExternalIP", a["natIP"]) for n in nics for a in n.get("accessConfigs", []) if a.get("natIP")]
    return tuple(out)


class GcpInstances(Instances):
    def __init__(self, clients: Clients) -> None:
        self.clients = clients
        self._zones: tuple[str, ...] | None = None
        self._lock = threading.Lock()

    def _region_zones(self) -> tuple[str, ...]:
        with self._lock:
            if self._zones is None:
                region = self.clients.regions.get(project=self.clients.project, region=self.clients.region)
                self._zones = tuple(z.rsplit("/", 1)[-1] for z in region.zones)
            return self._zones

    def _get(self, project: str, zone: str, name: str) -> dict[str, Any] | None:
        try:
            return as_dict(self.clients.instances.get(project=project, zone=zone, instance=name))
        except gexc.NotFound:
            return None

    def _instance(self, node: Node) -> dict[str, Any] | None:
        with translated_errors(node.name, "instances.get"):
            if node.provider_id:
                return self._get(*parse_provider_id(node.provider_id))
            name = node.name.split(".", 1)[0]
            for zone in self._region_zones():
                found = self._get(self.clients.project, zone, name)
                if found is not None:
                    return found
        return None

    def instance_exists(self, node: Node) -> bool:
        return self._instance(node) is not None

    def instance_shutdown(self, node: Node) -> bool:
        instance = self._instance(node)
        return instance is not None and instance.get("status") in SHUTDOWN_STATES

    def instance_metadata(self, node: Node) -> InstanceMetadata | None:
        instance = self._instance(node)
        if instance is None:
            raise InstanceNotFound(f"node {node.name}: no Compute Engine instance")
        zone = str(instance.get("zone", "")).rsplit("/", 1)[-1]
        project = self.clients.project
        if node.provider_id:
            project = parse_provider_id(node.provider_id)[0]
        return InstanceMetadata(
            provider_id=f"{PROVIDER_ID_SCHEME}{project}/{zone}/{instance['name']}",
            instance_type=str(instance.get("machineType", "")).rsplit("/", 1)[-1],
            node_addresses=node_addresses(instance), zone=zone, region=zone.rsplit("-", 1)[0] if zone else "",
        )
