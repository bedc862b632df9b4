"""The local cloud's inventory: the VIPs this cluster holds in the state file, and their listeners."""

from __future__ import annotations

from providers.local.loadbalancer import LocalLoadBalancer
from providers.local.operations import LISTENER, VIP
from providers.port import Inventory, OwnedResource, Resource


class LocalInventory(Inventory):
    def __init__(self, lb: LocalLoadBalancer) -> None:
        self.lb = lb

    def list_owned(self) -> tuple[OwnedResource, ...]:
        out = []
        with self.lb._lock:
            listeners = {b.vip: sorted(b.listeners) for b in self.lb._balancers.values()}
            for ip, owner in sorted(self.lb.vips.allocations().items()):
                if owner.cluster != self.lb.cluster_name:
                    continue
                out.append(OwnedResource(Resource(VIP, ip), owner.key))
                out += [OwnedResource(Resource(LISTENER, f"{ip}:{port}/{proto}"), owner.key)
                        for port, proto in listeners.get(ip, ())]
        return tuple(out)

    def delete_owned(self, service: str) -> tuple[OwnedResource, ...]:
        owned = [r for r in self.list_owned() if r.service == service]
        self.lb.delete_service(service)
        return tuple(owned)
