"""NSG rules on the cluster security group: what a Service allows (pure), and the edit that writes them.

Sources: ``spec.loadBalancerSourceRanges`` (or the legacy annotation), else ``azure-allowed-ip-ranges``
(both together is an error, in ``settings``), plus each ``azure-allowed-service-tags`` tag; with
none of them a public Service allows ``Internet`` and an internal one needs no rule (VNet traffic
is allowed by the NSG's default rule 65000). Destination: the frontend IP (node IPs without
floating IP) and the additional public IPs. Ports: the Service ports (node ports without floating
IP). ``azure-deny-all-except-load-balancer-source-ranges`` adds a deny-all rule behind the allows.

Rules are per Service (``a<uid>-TCP-Internet``, ``a<uid>-UDP-IPv4``, ``a<uid>-deny-all``) and carry
the ownership marks in their description; priorities are allocated in 500-4096 from what the
security group holds at write time, keeping a rule's priority while it stays valid. Invalid ranges
never reach here: the annotation registry refuses them before any call (nothing is opened).
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from providers.adapter.operations import Ref, resolve
from providers.adapter.ownership import Owner, foreign
from providers.azure.edits import failed
from providers.azure.names import belongs, description_of, owner_in_description, security_rule_name
from providers.azure.settings import Settings
from providers.port import LoadBalancerRequest, ProviderWarning, UserError

Body = dict[str, Any]
PRIORITY_MIN = 500
PRIORITY_MAX = 4096
_PROTOCOLS = {"TCP": "Tcp", "UDP": "Udp"}
#: properties compared between a wanted and an existing rule
_KEYS = ("protocol", "access", "direction", "sources", "destinations", "ports", "description")


@dataclasses.dataclass(frozen=True)
class RuleSpec:
    """One wanted security rule, before its priority is known."""

    name: str
    protocol: str
    access: str
    sources: tuple[str, ...]
    #: may hold a Ref to the frontend IP a plan's earlier operation produces
    destinations: tuple[Any, ...]
    ports: tuple[str, ...]
    description: str

    @property
    def deny(self) -> bool:
        return self.access == "Deny"

    def body(self, priority: int | str) -> Body:
        p: Body = {"protocol": self.protocol, "access": self.access, "direction": "Inbound", "priority": priority,
                   "sourcePortRange": "*", "description": self.description}
        _put_list(p, "sourceAddressPrefix", self.sources)
        _put_list(p, "destinationAddressPrefix", self.destinations)
        _put_list(p, "destinationPortRange", self.ports)
        return {"name": self.name, "properties": p}


def _put_list(p: Body, key: str, values: tuple[Any, ...]) -> None:
    if len(values) == 1:
        p[key] = values[0]
    else:
        p[key + "es" if key.endswith("Prefix") else key + "s"] = list(values)


def _normal(rule: Mapping[str, Any]) -> dict[str, Any]:
    p = rule.get("properties") or {}

    def many(key: str, plural: str) -> tuple[str, ...]:
        single = p.get(key)
        return tuple(sorted(str(x).lower() for x in ([single] if single else p.get(plural) or [])))

    return {"protocol": str(p.get("protocol", "")).lower(), "access": str(p.get("access", "")).lower(),
            "direction": str(p.get("direction", "")).lower(),
            "sources": many("sourceAddressPrefix", "sourceAddressPrefixes"),
            "destinations": many("destinationAddressPrefix", "destinationAddressPrefixes"),
            "ports": many("destinationPortRange", "destinationPortRanges"),
            "description": p.get("description") or ""}


def desired_rules(request: LoadBalancerRequest, settings: Settings, *, internal: bool, destination: Any,
                  node_ips: Iterable[str], warnings: list[ProviderWarning]) -> tuple[RuleSpec, ...]:
    """The Service's rules; ``destination`` is the frontend IP (or a Ref to it)."""
    owner = Owner(request.cluster_name, request.key)
    description = description_of(owner)
    ranges = request.source_ranges if request.source_ranges_set else settings.allowed_ip_ranges
    tags = settings.allowed_service_tags
    if request.source_ranges_set and tags:
        warnings.append(ProviderWarning("ConflictConfiguration", (
            "both source ranges and azure-allowed-service-tags are set: traffic from either is allowed")))
    v4 = tuple(r for r in ranges if ipaddress.ip_network(r, strict=False).version == 4)
    if len(v4) != len(ranges):
        warnings.append(ProviderWarning("IPv6SourceRangesIgnored", (
            "IPv6 source ranges cannot reach the IPv4 frontend and open nothing")))
    destinations: tuple[Any, ...]
    if settings.floating_ip:
        destinations = (destination, *settings.additional_public_ips)
    else:
        destinations = (*sorted(set(node_ips)), *settings.additional_public_ips)
    sources: list[tuple[str, tuple[str, ...]]] = []
    if v4:
        sources.append(("IPv4", v4))
    sources += [(tag, (tag,)) for tag in tags]
    if not sources and not ranges and not internal:
        sources.append(("Internet", ("Internet",)))
    out: list[RuleSpec] = []
    if destinations and destinations[0] is not None:
        for proto_name, proto in _PROTOCOLS.items():
            ports = tuple(sorted({str(p.port if settings.floating_ip else p.node_port)
                                  for p in request.ports if p.protocol == proto_name
                                  and not settings.port(p.port).no_rule}, key=int))
            if not ports:
                continue
            for label, srcs in sources:
                out.append(RuleSpec(security_rule_name(request.uid, proto_name, label), proto, "Allow", srcs,
                                    destinations, ports, description))
        if settings.deny_all_except:
            out.append(RuleSpec(security_rule_name(request.uid, "", "deny-all"), "*", "Deny", ("*",),
                                destinations, ("*",), description))
    return tuple(out)


def rules_for(request: LoadBalancerRequest, settings: Settings, *, internal: bool,
              warnings: list[ProviderWarning]) -> Callable[[Any], tuple[RuleSpec, ...]] | None:
    """The Service's rules as a function of its frontend IP (known only once planned); None when the
    Service asks ccm to leave NSG rules alone."""
    if not settings.manage_nsg:
        return None
    node_ips = [ip for n in request.nodes if (ip := n.address_of("InternalIP"))]

    def rules(destination: Any) -> tuple[RuleSpec, ...]:
        return desired_rules(request, settings, internal=internal, destination=destination, node_ips=node_ips,
                             warnings=warnings)

    return rules


@dataclasses.dataclass(frozen=True)
class SecurityGroupEdit:
    """This Service's rules in the cluster security group (``rules`` empty: remove them)."""

    nsg_name: str
    uid: str
    owner: Owner
    rules: tuple[RuleSpec, ...]

    def describe(self) -> str:
        if not self.rules:
            return f"remove the rules of {self.owner.service}"
        return f"{len(self.rules)} rule(s) for {self.owner.service}: " + ", ".join(r.name for r in self.rules)

    def settings(self, *, create: bool) -> Mapping[str, Any]:
        """This Service's rules; a priority is chosen at write time from what the group holds then."""
        placeholder = f"<free priority from {PRIORITY_MIN}>"
        return {"securityRules": [r.body(placeholder) for r in self.rules]}

    def resolved(self, refs: Mapping[str, Any], *, placeholders: bool = False) -> SecurityGroupEdit:
        rules = tuple(dataclasses.replace(r, destinations=tuple(resolve(list(r.destinations), refs,
                                                                        placeholders=placeholders)))
                      for r in self.rules)
        return dataclasses.replace(self, rules=rules)

    def apply(self, current: Body | None) -> Body | None:
        if current is None:
            if self.rules:
                raise UserError(f"network security group {self.nsg_name} does not exist; create it or fix "
                                "securityGroupName in the cloud config", reason="SecurityGroupNotFound")
            return None
        existing = list((current.get("properties") or {}).get("securityRules") or [])
        mine = {str(r.get("name", "")).lower(): r for r in existing if belongs(str(r.get("name", "")), self.uid)}
        for name, rule in mine.items():
            if owner_in_description((rule.get("properties") or {}).get("description")) != self.owner and \
                    name in {r.name.lower() for r in self.rules}:
                raise foreign("security rule", str(rule.get("name")), self.owner)
        ours = {n: r for n, r in mine.items()
                if owner_in_description((r.get("properties") or {}).get("description")) == self.owner}
        others = [r for r in existing if str(r.get("name", "")).lower() not in ours]
        taken = {int((r.get("properties") or {}).get("priority", 0)) for r in others
                 if str((r.get("properties") or {}).get("direction", "")).lower() == "inbound"}
        wanted: list[Body] = []
        changed = set(ours) != {r.name.lower() for r in self.rules}
        priorities: dict[str, int] = {}
        allows = sorted((r for r in self.rules if not r.deny), key=lambda r: r.name)
        denies = sorted((r for r in self.rules if r.deny), key=lambda r: r.name)
        for group, floor_of in ((allows, lambda: PRIORITY_MIN),
                                (denies, lambda: max((priorities[r.name] for r in allows), default=0) + 1)):
            floor = floor_of()
            for spec in group:  # rules keep their priority while it stays valid: no churn
                old_priority = _priority(ours.get(spec.name.lower()))
                if floor <= old_priority <= PRIORITY_MAX and old_priority not in taken:
                    priorities[spec.name] = old_priority
                    taken.add(old_priority)
            for spec in group:
                if spec.name not in priorities:
                    priorities[spec.name] = _free(taken, floor)
                    taken.add(priorities[spec.name])
        for spec in (*allows, *denies):
            old = ours.get(spec.name.lower())
            old_priority = _priority(old)
            priority = priorities[spec.name]
            body = spec.body(priority)
            if old is not None and priority == old_priority and \
                    all(_normal(old)[k] == _normal(body)[k] for k in _KEYS):
                wanted.append(old)
            else:
                wanted.append(body)
                changed = True
        if not changed and not (self.rules and failed(current)):
            return current
        new = copy.deepcopy(current)
        new["properties"]["securityRules"] = [*others, *wanted]
        return new


def _priority(rule: Mapping[str, Any] | None) -> int:
    return int(((rule or {}).get("properties") or {}).get("priority", 0))


def _free(taken: set[int], floor: int) -> int:
    for priority in range(max(floor, PRIORITY_MIN), PRIORITY_MAX + 1):
        if priority not in taken:
            return priority
    raise UserError(f"no free NSG priority left between {max(floor, PRIORITY_MIN)} and {PRIORITY_MAX}",
                    reason="SecurityGroupFull")


def has_placeholder(spec: Iterable[RuleSpec]) -> bool:
    return any(isinstance(d, Ref) for r in spec for d in r.destinations)
