"""The inventory capability: every load balancer and floating IP this cluster owns, by tags alone.

Two reads: load balancers tagged ``kubernetes.io/cluster=<cluster>`` and floating IPs with the same
tag (Octavia and Neutron filter by tag). Listeners, pools, members and monitors live and die with
their load balancer, so they are not listed. Deleting a Service key's holdings is the same path as
``LoadBalancer.delete`` (floating IPs released, load balancers deleted with cascade).
"""

from __future__ import annotations

from providers.adapter.ownership import Owner
from providers.openstack.clients import translated_errors
from providers.openstack.loadbalancer import OpenStackLoadBalancer
from providers.openstack.names import CLUSTER_TAG, service_of
from providers.openstack.operations import FLOATING_IP, LOAD_BALANCER
from providers.openstack.world import view
from providers.port import Inventory, OwnedResource, Resource


class OpenStackInventory(Inventory):
    def __init__(self, lb: OpenStackLoadBalancer, cluster: str) -> None:
        self.lb = lb
        self.cluster = cluster

    def list_owned(self) -> tuple[OwnedResource, ...]:
        tag = CLUSTER_TAG + self.cluster
        conn = self.lb.conn
        out = []
        with translated_errors(f"cluster {self.cluster}", "inventory"):
            for lb in (view(x) for x in conn.load_balancer.load_balancers(tags=tag)):
                out.append(OwnedResource(Resource(LOAD_BALANCER, lb.get("name") or lb["id"]),
                                         service_of(lb.get("tags") or [], self.cluster) or ""))
            for fip in (view(x) for x in conn.network.ips(tags=tag)):
                out.append(OwnedResource(Resource(FLOATING_IP, fip.get("floating_ip_address") or fip["id"]),
                                         service_of(fip.get("tags") or [], self.cluster) or ""))
        return tuple(out)

    def delete_owned(self, service: str) -> tuple[OwnedResource, ...]:
        mine = tuple(r for r in self.list_owned() if r.service == service)
        if mine and service:
            with translated_errors(service, "delete owned"):
                self.lb.delete_owned(Owner(self.cluster, service), service, keep=False)
        return mine
