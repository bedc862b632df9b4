"""Reads: what exists for a Service (both load balancers, its public IPs, the security group, NICs).

GET and LIST only. A steady ensure reads each load balancer once, its public IP once, the security
group once and (NIC-based pools) the node NICs with one LIST per resource group.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from providers.azure.clients import Clients, is_not_found
from providers.azure.config import AzureConfig
from providers.azure.names import is_owned, load_balancer_name, parse_id, vm_id_of
from providers.port import Node

log = logging.getLogger(__name__)

Body = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Observed:
    #: internal? -> the load balancer (None when absent)
    lbs: Mapping[bool, Body | None]
    #: public IPs by lower-cased "<group>/<name>" (our generated one and a user's), absent ones left out
    public_ips: Mapping[str, Body]
    #: public IPs tagged for this Service anywhere we looked (for clean-up)
    tagged_ips: tuple[Body, ...]
    security_group: Body | None
    #: VM id (lower-cased) -> its primary NIC, for the Nodes (NIC-based pools only)
    nics: Mapping[str, Body] | None

    def public_ip(self, group: str, name: str) -> Body | None:
        return self.public_ips.get(f"{group}/{name}".lower())


def _dict(model: Any) -> Body:
    return dict(model.as_dict())


def get_or_none(clients: Clients, api: str, group: str, name: str) -> Body | None:
    try:
        return _dict(getattr(clients.network, api).get(group, name))
    except Exception as exc:
        if is_not_found(exc):
            return None
        raise


def load_balancers(clients: Clients, config: AzureConfig, cluster: str) -> dict[bool, Body | None]:
    return {internal: get_or_none(clients, "load_balancers", config.lb_resource_group,
                                  load_balancer_name(cluster, internal)) for internal in (False, True)}


def public_ip_by_address(clients: Clients, group: str, address: str) -> Body | None:
    for pip in clients.network.public_ip_addresses.list(group):
        body = _dict(pip)
        if (body.get("properties") or {}).get("ipAddress") == address:
            return body
    return None


def tagged_public_ips(clients: Clients, groups: Iterable[str], cluster: str, service: str) -> list[Body]:
    from providers.adapter.ownership import Owner

    owner = Owner(cluster, service)
    out = []
    for group in dict.fromkeys(groups):
        try:
            for pip in clients.network.public_ip_addresses.list(group):
                body = _dict(pip)
                if is_owned(body.get("tags"), owner):
                    out.append(body)
        except Exception as exc:
            if not is_not_found(exc):
                raise
    return out


def node_nics(clients: Clients, nodes: Iterable[Node]) -> dict[str, Body]:
    """VM id (lower-cased) -> primary NIC, for the Nodes' VMs: one LIST per resource group."""
    vm_ids = {}
    for node in nodes:
        vm = vm_id_of(node.provider_id)
        if vm is None:
            log.warning("node %s: providerID %r is not an Azure VM; it gets no backend pool membership",
                        node.name, node.provider_id)
            continue
        vm_ids[vm.lower()] = parse_id(vm)["group"]
    out: dict[str, Body] = {}
    for group in sorted({g.lower(): g for g in vm_ids.values()}.values()):
        for nic in clients.network.network_interfaces.list(group):
            body = _dict(nic)
            p = body.get("properties") or {}
            vm = str((p.get("virtualMachine") or {}).get("id", "")).lower()
            if vm in vm_ids and (p.get("primary") or vm not in out):
                out[vm] = body
    for vm in vm_ids:
        if vm not in out:
            log.warning("VM %s: no network interface found; it gets no backend pool membership", vm)
    return out
