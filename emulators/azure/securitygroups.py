"""``Microsoft.Network/networkSecurityGroups`` and their ``securityRules``.

ARM's rules: priority 100-4096 and unique per direction (``SecurityRuleConflict``); exactly
one of a prefix, a prefix list or application security groups on each side; prefixes are
``*``, an IP, a CIDR or a service tag, one IP family per rule; ports ``*``, ``N`` or ``N-M``
within 0-65535. Reads add the six default rules every NSG has (``defaultSecurityRules``).
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

from . import errors
from .ids import ResourceId
from .kinds import Body, Kind, props
from .publicips import canonical

if TYPE_CHECKING:
    from .state import ArmState

_TAG_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)*$")

_DEFAULT_RULES = (
    ("AllowVnetInBound", "Inbound", "Allow", 65000, "VirtualNetwork", "VirtualNetwork"),
    ("AllowAzureLoadBalancerInBound", "Inbound", "Allow", 65001, "AzureLoadBalancer", "*"),
    ("DenyAllInBound", "Inbound", "Deny", 65500, "*", "*"),
    ("AllowVnetOutBound", "Outbound", "Allow", 65000, "VirtualNetwork", "VirtualNetwork"),
    ("AllowInternetOutBound", "Outbound", "Allow", 65001, "*", "Internet"),
    ("DenyAllOutBound", "Outbound", "Deny", 65500, "*", "*"),
)


class NetworkSecurityGroupKind(Kind):
    type = "Microsoft.Network/networkSecurityGroups"
    children = {"securityrules": "securityRules"}
    writable_children = frozenset({"securityrules"})

    def normalize(self, state: ArmState, rid: ResourceId, body: Body, old: Body | None) -> Body:
        taken: dict[tuple[str, int], str] = {}
        for rule in props(body).get("securityRules") or []:
            name = rule.get("name", "")
            where = str(rid.child("securityRules", name))
            rp = props(rule)
            rp["protocol"] = _enum(rp, "protocol", ("Tcp", "Udp", "Icmp", "Esp", "Ah", "*"), where)
            rp["access"] = _enum(rp, "access", ("Allow", "Deny"), where)
            rp["direction"] = _enum(rp, "direction", ("Inbound", "Outbound"), where)
            priority = rp.get("priority")
            if not isinstance(priority, int) or isinstance(priority, bool) or not 100 <= priority <= 4096:
                raise errors.SecurityRuleInvalidPriority(
                    f"Security rule {name} has invalid Priority. Value provided: {priority}. "
                    "Allowed range 100-4096.")
            clash = taken.get((rp["direction"], priority))
            if clash:
                raise errors.SecurityRuleConflict(name, clash)
            taken[(rp["direction"], priority)] = name
            for side in ("source", "destination"):
                _prefixes(rp, side, name)
                _ports(rp, side, name)
        return body

    def render(self, state: ArmState, rid: ResourceId, stored: Body) -> Body:
        props(stored)["defaultSecurityRules"] = [
            {
                "name": name,
                "id": str(rid.child("defaultSecurityRules", name)),
                "type": f"{self.type}/defaultSecurityRules",
                "etag": stored.get("etag"),
                "properties": {
                    "description": f"Default rule {name}", "protocol": "*", "sourcePortRange": "*",
                    "destinationPortRange": "*", "sourceAddressPrefix": src,
                    "destinationAddressPrefix": dst, "access": access, "priority": prio,
                    "direction": direction, "provisioningState": "Succeeded",
                    "sourceAddressPrefixes": [], "destinationAddressPrefixes": [],
                    "sourcePortRanges": [], "destinationPortRanges": [],
                },
            }
            for name, direction, access, prio, src, dst in _DEFAULT_RULES
        ]
        return stored


def _enum(rp: Body, key: str, allowed: tuple[str, ...], where: str) -> str:
    if rp.get(key) in (None, ""):
        raise errors.SecurityRuleParameterContainsUnsupportedValue(
            f"Security rule {where} needs {key} ({', '.join(allowed)}).")
    try:
        return canonical(rp.get(key), allowed, "", key, where)
    except errors.InvalidParameter as exc:
        raise errors.SecurityRuleParameterContainsUnsupportedValue(exc.message) from None


def _prefixes(rp: Body, side: str, name: str) -> None:
    single = rp.get(f"{side}AddressPrefix")
    many = rp.get(f"{side}AddressPrefixes") or []
    asgs = rp.get(f"{side}ApplicationSecurityGroups") or []
    given = sum(1 for x in (single, many, asgs) if x)
    if given != 1:
        raise errors.SecurityRuleParametersMutuallyExclusive(
            f"Security rule {name} must specify exactly one of {side}AddressPrefix, "
            f"{side}AddressPrefixes or {side}ApplicationSecurityGroups.")
    if asgs:
        raise errors.SecurityRuleParameterContainsUnsupportedValue(
            f"Security rule {name}: application security groups are not served by the emulator.")
    values = [single] if single else list(many)
    families = set()
    for v in values:
        family = _prefix_family(str(v))
        if family is None:
            raise errors.SecurityRuleInvalidAddressPrefix(
                f"Security rule {name} has invalid Address prefix. Value provided: {v}.")
        families.add(family)
    if len(families - {0}) > 1:
        raise errors.SecurityRuleInvalidAddressPrefix(
            f"Security rule {name} mixes IPv4 and IPv6 {side} address prefixes.")
    rp[f"{side}AddressPrefixes"] = [] if single else many


def _prefix_family(value: str) -> int | None:
    """4 or 6 for an IP or CIDR, 0 for ``*`` or a service tag, None when invalid."""
    if value == "*" or _TAG_RE.match(value):
        return 0
    try:
        return ipaddress.ip_network(value, strict=False).version
    except ValueError:
        return None


def _ports(rp: Body, side: str, name: str) -> None:
    single = rp.get(f"{side}PortRange")
    many = rp.get(f"{side}PortRanges") or []
    if bool(single) == bool(many):
        raise errors.SecurityRuleParametersMutuallyExclusive(
            f"Security rule {name} must specify exactly one of {side}PortRange or {side}PortRanges.")
    for v in [single] if single else many:
        if not _valid_port_range(str(v)):
            raise errors.SecurityRuleInvalidPortRange(
                f"Security rule {name} has invalid Port range. Value provided: {v}. "
                "Value should be an integer OR integer range with '-' delimiter. Valid range 0-65535.")
    rp[f"{side}PortRanges"] = [] if single else many


def _valid_port_range(value: str) -> bool:
    if value == "*":
        return True
    lo, _, hi = value.partition("-")
    try:
        a, b = int(lo), int(hi or lo)
    except ValueError:
        return False
    return 0 <= a <= b <= 65535
