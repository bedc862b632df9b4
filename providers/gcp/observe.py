"""What exists for one Service (read calls only): its forwarding rules, backend service, health
checks, firewalls and addresses, each found by name and checked for our ownership record.

Five reads find everything (list calls filtered by the names a Service can use, and one get);
a sixth finds the address holding ``loadBalancerIP`` when one is requested. A resource with our
name but another owner is reported (``foreign``) and never touched.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from google.api_core import exceptions as gexc

from providers.adapter.ownership import Owner
from providers.gcp.clients import Clients
from providers.gcp.names import (
    all_names,
    health_check_firewall_name,
    node_health_check_name,
    owned_by_cluster,
    owned_by_service,
)

Json = dict[str, Any]


def as_dict(message: Any) -> Json:
    """An SDK message as REST JSON (camelCase keys, enum names, no empty defaults)."""
    return type(message).to_dict(message, preserving_proto_field_name=False, use_integers_for_enums=False,
                                 always_print_fields_with_no_presence=False)


@dataclasses.dataclass(frozen=True)
class Observed:
    rules: Mapping[str, Json] = dataclasses.field(default_factory=dict)
    backend: Json | None = None
    #: ours: the Service's own health check and the shared node one
    health_checks: Mapping[str, Json] = dataclasses.field(default_factory=dict)
    firewalls: Mapping[str, Json] = dataclasses.field(default_factory=dict)
    #: our address named after the load balancer
    address: Json | None = None
    #: the address (anyone's) holding the requested loadBalancerIP
    ip_address: Json | None = None
    #: "<kind> <name>" of resources with our names that are not ours
    foreign: tuple[str, ...] = ()

    @property
    def ip(self) -> str | None:
        """The IP the load balancer has now: a rule's, else our address's (a rebuild in progress)."""
        for rule in self.rules.values():
            if rule.get("IPAddress"):
                return str(rule["IPAddress"])
        return str(self.address["address"]) if self.address and self.address.get("address") else None


def _names_filter(names: tuple[str, ...]) -> str:
    return "name eq (" + "|".join(re.escape(n) for n in names) + ")"


def observe(clients: Clients, owner: Owner, lb: str, *, requested_ip: str | None = None) -> Observed:
    project, region, cluster = clients.project, clients.region, owner.cluster
    foreign: list[str] = []
    shared_hc = node_health_check_name(cluster)
    shared_fws = {health_check_firewall_name(lb, cluster, local=False, internal=i) for i in (False, True)}

    def ours(kind: str, resource: Json, *, shared: bool = False) -> bool:
        ok = owned_by_cluster(resource, cluster, adopt_blank=True) if shared else owned_by_service(resource, owner)
        if not ok:
            foreign.append(f"{kind} {resource.get('name')}")
        return ok

    rules = {r["name"]: r for r in map(as_dict, clients.forwarding_rules.list(
        request={"project": project, "region": region, "filter": _names_filter(all_names(lb)[:2])}))}
    rules = {n: r for n, r in rules.items() if ours("forwarding rule", r)}
    try:
        backend: Json | None = as_dict(clients.backend_services.get(project=project, region=region,
                                                                    backend_service=lb))
    except gexc.NotFound:
        backend = None
    if backend is not None and not ours("backend service", backend):
        backend = None
    checks = {h["name"]: h for h in map(as_dict, clients.health_checks.list(
        request={"project": project, "region": region, "filter": _names_filter((lb, shared_hc))}))}
    checks = {n: h for n, h in checks.items() if ours("health check", h, shared=n == shared_hc)}
    fw_names = (*all_names(lb)[2:], *sorted(shared_fws))
    firewalls = {f["name"]: f for f in map(as_dict, clients.firewalls.list(
        request={"project": project, "filter": _names_filter(fw_names)}))}
    firewalls = {n: f for n, f in firewalls.items() if ours("firewall", f, shared=n in shared_fws)}
    try:
        address: Json | None = as_dict(clients.addresses.get(project=project, region=region, address=lb))
    except gexc.NotFound:
        address = None
    if address is not None and not ours("address", address):
        address = None
    ip_address = None
    if requested_ip:
        found = [as_dict(a) for a in clients.addresses.list(
            request={"project": project, "region": region, "filter": f"address eq {re.escape(requested_ip)}"})]
        ip_address = found[0] if found else None
    return Observed(rules=rules, backend=backend, health_checks=checks, firewalls=firewalls, address=address,
                    ip_address=ip_address, foreign=tuple(foreign))


NOTHING = Observed()
