"""Security-group ingress rules as comparable values, and the pure diff that plans them.

AWS groups ingress by (protocol, port range) with lists of sources; a rule's identity is
(protocol, from, to, source); its description is metadata, which node-group rules use as the
ownership mark (see ``names.*_RULE_MARK``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from providers.aws.ops import Op, Ref

#: ICMP "destination unreachable / fragmentation needed", needed for path-MTU discovery
ICMP_MTU = ("icmp", 3, 4)


@dataclasses.dataclass(frozen=True, order=True)
class Rule:
    protocol: str  # "tcp" | "udp" | "icmp" | "icmpv6" | "-1"
    from_port: int
    to_port: int
    source: str  # a CIDR, or a security-group id
    description: str = dataclasses.field(default="", compare=False)

    @property
    def key(self) -> tuple[str, int, int, str]:
        return (self.protocol, self.from_port, self.to_port, self.source)

    def permission(self, source: Any = None) -> dict[str, Any]:
        """The IpPermissions entry for this one rule (``source`` may be a Ref to a new group)."""
        src = self.source if source is None else source
        perm: dict[str, Any] = {"IpProtocol": self.protocol}
        if self.protocol != "-1":
            perm["FromPort"] = self.from_port
            perm["ToPort"] = self.to_port
        desc = {"Description": self.description} if self.description else {}
        if isinstance(src, Ref) or str(src).startswith("sg-"):
            perm["UserIdGroupPairs"] = [{"GroupId": src, **desc}]
        elif ":" in str(src):
            perm["Ipv6Ranges"] = [{"CidrIpv6": src, **desc}]
        else:
            perm["IpRanges"] = [{"CidrIp": src, **desc}]
        return perm


def cidr_rules(protocol: str, ports: Iterable[int], cidrs: Iterable[str], description: str = "") -> set[Rule]:
    return {Rule(protocol, p, p, c, description) for p in ports for c in cidrs}


def mtu_rules(cidrs: Iterable[str], description: str = "") -> set[Rule]:
    """ICMP type 3 code 4 (ICMPv6 packet-too-big for IPv6 sources) from each CIDR."""
    out = set()
    for c in cidrs:
        if ":" in c:
            out.add(Rule("icmpv6", 2, 0, c, description))
        else:
            out.add(Rule(*ICMP_MTU, c, description))
    return out


def observed_rules(permissions: Iterable[Mapping[str, Any]]) -> set[Rule]:
    """Flatten a group's ``IpPermissions`` into single rules."""
    out: set[Rule] = set()
    for perm in permissions:
        proto = str(perm.get("IpProtocol", "-1"))
        lo, hi = int(perm.get("FromPort", -1)), int(perm.get("ToPort", -1))
        if proto == "-1":
            lo = hi = -1
        for r in perm.get("IpRanges", ()):
            out.add(Rule(proto, lo, hi, r["CidrIp"], r.get("Description", "")))
        for r in perm.get("Ipv6Ranges", ()):
            out.add(Rule(proto, lo, hi, r["CidrIpv6"], r.get("Description", "")))
        for r in perm.get("UserIdGroupPairs", ()):
            out.add(Rule(proto, lo, hi, r["GroupId"], r.get("Description", "")))
    return out


def plan_rules(
    group: Any,
    desired: Iterable[Rule],
    observed: Iterable[Rule],
    owned: Any = None,
) -> list[Op]:
    """Authorize the missing rules and revoke the unwanted ones we own.

    ``owned(rule) -> bool`` says which observed rules we may revoke (default: all, for a group we
    created). A desired rule already present under any description counts as present, so two
    owners of one identical rule (an ICMP rule from 0.0.0.0/0) never fight.
    """
    observed = set(observed)
    have = {r.key for r in observed}
    want = {r.key: r for r in desired}
    ops: list[Op] = []
    add = [r for k, r in sorted(want.items()) if k not in have]
    drop = [r for r in sorted(observed) if r.key not in want and (owned is None or owned(r))]
    if drop:
        ops.append(Op("ec2", "revoke_security_group_ingress",
                      {"GroupId": group, "IpPermissions": [r.permission() for r in drop]},
                      ignore_codes=frozenset({"InvalidPermission.NotFound"})))
    if add:
        # one call per group; a Duplicate can only come from a concurrent writer, and the next
        # ensure (which re-reads the group) adds whatever that call then left out
        perms = [r.permission() for r in add]
        ops.append(Op("ec2", "authorize_security_group_ingress", {"GroupId": group, "IpPermissions": perms},
                      ignore_codes=frozenset({"InvalidPermission.Duplicate"})))
    return ops

