"""The inventory capability: every resource this cluster owns, found by the ownership record in
its description alone, and deletion of what a Service key owns.

Read-only listing of the region's forwarding rules, backend services, health checks and
addresses, the project's firewalls and each zone's instance group. Per-Service resources carry
the Service key; the shared ones (node health check and its firewalls, instance groups) are
listed under ``""``.
"""

from __future__ import annotations

from typing import Any

from providers.adapter.ownership import Owner
from providers.gcp.clients import translated_errors
from providers.gcp.loadbalancer import GcpLoadBalancer
from providers.gcp.names import instance_group_name, service_of
from providers.gcp.observe import as_dict
from providers.gcp.operations import TYPES
from providers.port import Inventory, OwnedResource, Resource


def lb_of(name: str) -> str:
    """The load balancer a per-Service resource name belongs to (see ``names``)."""
    if name.startswith("k8s-fw-"):
        return name[len("k8s-fw-"):]
    if name.startswith("k8s-") and name.endswith("-http-hc"):
        return name[len("k8s-"):-len("-http-hc")]
    for suffix in ("-hc", "-udp"):
        if name.endswith(suffix):
            return name[:-len(suffix)]
    return name


class GcpInventory(Inventory):
    def __init__(self, lb: GcpLoadBalancer) -> None:
        self.lb = lb
        self.clients = lb.clients
        self.cluster = lb.cluster

    def list_owned(self) -> tuple[OwnedResource, ...]:
        c, project, region = self.clients, self.clients.project, self.clients.region
        out: list[OwnedResource] = []
        with translated_errors("inventory", "list"):
            listed: dict[str, Any] = {
                "forwardingRules": c.forwarding_rules.list(project=project, region=region),
                "backendServices": c.backend_services.list(project=project, region=region),
                "healthChecks": c.health_checks.list(project=project, region=region),
                "addresses": c.addresses.list(project=project, region=region),
                "firewalls": c.firewalls.list(project=project),
            }
            for collection, items in listed.items():
                for item in items:
                    service = service_of(as_dict(item), self.cluster)
                    if service is not None:
                        out.append(OwnedResource(Resource(TYPES[collection], item.name), service))
            zones = [z.rsplit("/", 1)[-1] for z in c.regions.get(project=project, region=region).zones]
            name = instance_group_name(self.cluster)
            for zone in zones:
                group = self.lb.groups.read(zone)
                if group.exists and group.owned:
                    out.append(OwnedResource(Resource(TYPES["instanceGroups"], f"{name} ({zone})"), ""))
        return tuple(sorted(out, key=lambda r: (r.service, r.resource.type, r.resource.name)))

    def delete_owned(self, service: str) -> tuple[OwnedResource, ...]:
        owned = [r for r in self.list_owned() if r.service == service and service]
        deleted: list[OwnedResource] = []
        for lb in sorted({lb_of(r.resource.name) for r in owned}):
            with translated_errors(service, "delete_owned"):
                ops = self.lb.delete_named(lb, Owner(self.cluster, service))
            deleted += [OwnedResource(op.resource, service) for op in ops if op.verb == "delete"]
        return tuple(deleted)
