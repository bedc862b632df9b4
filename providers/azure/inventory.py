"""The inventory capability: every load balancer, child, public IP and NSG rule this cluster owns, by
ownership marks alone, and deletion of what a Service key owns.

Read-only listing: the load balancers of the load-balancer resource group tagged for this cluster
(with their Service-named children), the public IPs of the config's resource group tagged for this
cluster, and the rules of the cluster security group whose description carries our marks.
Children are named ``a<uid>...``, not by Service: they are attributed through the Service's public
IP (``<cluster>-a<uid>``, tagged with the Service) or NSG rules (named ``a<uid>-...``); an internal
Service without NSG rules leaves its children under ``""`` (owned, Service unknown).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from providers.adapter.ownership import Owner
from providers.azure.apply import apply
from providers.azure.clients import translated_errors
from providers.azure.loadbalancer import AzureLoadBalancer
from providers.azure.names import (
    CLUSTER_TAG,
    FRONTEND,
    LOAD_BALANCER,
    PROBE,
    PUBLIC_IP,
    RULE,
    SECURITY_RULE,
    SERVICE_TAG,
    owner_in_description,
    service_child,
    tag_value,
)
from providers.azure.observe import Observed, get_or_none
from providers.azure.plan import Context, plan_delete
from providers.port import Inventory, OwnedResource, Resource

_CHILDREN = (("frontendIPConfigurations", FRONTEND), ("loadBalancingRules", RULE), ("probes", PROBE))


@dataclasses.dataclass(frozen=True)
class Holding:
    resource: Resource
    service: str
    #: the ``a<uid>`` base of a Service-named resource
    base: str | None = None
    body: Any = None

    @property
    def owned(self) -> OwnedResource:
        return OwnedResource(self.resource, self.service)


class AzureInventory(Inventory):
    def __init__(self, lb: AzureLoadBalancer, cluster: str) -> None:
        self.lb = lb
        self.clients = lb.clients
        self.config = lb.config
        self.cluster = cluster

    def holdings(self) -> list[Holding]:
        config, network = self.config, self.clients.network
        with translated_errors(f"cluster {self.cluster}", "inventory"):
            ips: list[Holding] = []
            for pip in network.public_ip_addresses.list(config.resource_group):
                body = pip.as_dict()
                if tag_value(body.get("tags"), CLUSTER_TAG) != self.cluster:
                    continue
                service = tag_value(body.get("tags"), SERVICE_TAG) or ""
                ips.append(Holding(Resource(PUBLIC_IP, f"{config.resource_group}/{body['name']}"), service,
                                   _base_of_ip(str(body["name"]), self.cluster), body))
            rules: list[Holding] = []
            nsg = get_or_none(self.clients, "network_security_groups", config.nsg_resource_group,
                              config.security_group_name) if config.security_group_name else None
            for rule in (nsg or {}).get("properties", {}).get("securityRules") or []:
                owner = owner_in_description((rule.get("properties") or {}).get("description"))
                if owner is not None and owner.cluster == self.cluster:
                    rules.append(Holding(Resource(SECURITY_RULE, f"{config.security_group_name}/{rule['name']}"),
                                         owner.service, service_child(str(rule["name"]))))
            services = {h.base: h.service for h in (*ips, *rules) if h.base and h.service}
            lbs: list[Holding] = []
            for lb in network.load_balancers.list(config.lb_resource_group):
                body = lb.as_dict()
                if tag_value(body.get("tags"), CLUSTER_TAG) != self.cluster:
                    continue
                lbs.append(Holding(Resource(LOAD_BALANCER, f"{config.lb_resource_group}/{body['name']}"), ""))
                for prop, rtype in _CHILDREN:
                    for child in (body.get("properties") or {}).get(prop) or []:
                        base = service_child(str(child.get("name", "")))
                        if base is not None:
                            lbs.append(Holding(Resource(rtype, f"{body['name']}/{child['name']}"),
                                               services.get(base, ""), base))
            return [*lbs, *ips, *rules]

    def list_owned(self) -> tuple[OwnedResource, ...]:
        return tuple(h.owned for h in self.holdings())

    def delete_owned(self, service: str) -> tuple[OwnedResource, ...]:
        """Each ``a<uid>`` the Service's marks name goes through the same deletion as
        ``LoadBalancer.delete``; tagged public IPs whose ``a<uid>`` is unknown are deleted directly."""
        mine = [h for h in self.holdings() if h.service == service]
        if not mine:
            return ()
        owner = Owner(self.cluster, service)
        bases = sorted({h.base for h in mine if h.base})
        with translated_errors(service, "delete owned"):
            observed = self.lb.observe_for_delete_by(owner)
            for base in bases:
                ctx = Context(self.config, self.cluster, owner, _uid_of(base))
                apply(self.clients, self.lb.writer, plan_delete(ctx, observed), service)
                observed = self.lb.observe_for_delete_by(owner)
            stray = [h.body for h in mine if h.resource.type == PUBLIC_IP and not h.base and h.body is not None]
            if stray:
                ctx = Context(self.config, self.cluster, owner, "-")
                apply(self.clients, self.lb.writer, plan_delete(ctx, Observed(
                    lbs={False: None, True: None}, public_ips={}, tagged_ips=tuple(stray), security_group=None,
                    nics=None)), service)
        return tuple(h.owned for h in mine)


def _base_of_ip(name: str, cluster: str) -> str | None:
    """The ``a<uid>`` of a public IP named ``<cluster>-a<uid>`` (None for other names)."""
    prefix = f"{cluster}-"
    return service_child(name[len(prefix):]) if name.startswith(prefix) else None


def _uid_of(base: str) -> str:
    """A uid whose ``service_base`` is ``base`` (names only need the base)."""
    return base[1:]
