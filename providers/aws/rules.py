"""Security-group ingress rules as comparable values, and the pure diff that plans them.

AWS groups ingress by (protocol, port range) with lists of sources; a rule's identity is
(protocol, from, to, source); its description is metadata, which node-group rules use as the
ownership mark (see ``names.*_RULE_MARK``).
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from providers.adapter.operations import Ref
from providers.aws.operations import SECURITY_GROUP, AwsCall, call

#: security-group id -> its IpPermissions, as describe_security_groups returns them
Groups = Mapping[str, Sequence[Mapping[str, Any]]]

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
        if isinstance(src, Ref) or str(src).startswith(("sg-", "<")):
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
    owned: Callable[[Rule], bool] | None = None,
) -> list[AwsCall]:
    """Authorize the missing rules and revoke the unwanted ones we own.

    ``owned(rule) -> bool`` says which observed rules we may revoke (default: all, for a group we
    created). A desired rule already present under any description counts as present, so two
    owners of one identical rule (an ICMP rule from 0.0.0.0/0) never fight.
    """
    observed = set(observed)
    have = {r.key for r in observed}
    want = {r.key: r for r in desired}
    ops: list[AwsCall] = []
    add = [r for k, r in sorted(want.items()) if k not in have]
    drop = [r for r in sorted(observed) if r.key not in want and (owned is None or owned(r))]
    if drop:
        ops.append(call(SECURITY_GROUP, group, "ec2", "revoke_security_group_ingress",
                        {"GroupId": group, "IpPermissions": [r.permission() for r in drop]},
                        summary=f"revoke {_rules_text(drop)}", ignore=("InvalidPermission.NotFound",)))
    if add:
        # one call per group; a Duplicate can only come from a concurrent writer, and the next
        # ensure (which re-reads the group) adds whatever that call then left out
        perms = [r.permission() for r in add]
        ops.append(call(SECURITY_GROUP, group, "ec2", "authorize_security_group_ingress",
                        {"GroupId": group, "IpPermissions": perms},
                        summary=f"authorize {_rules_text(add)}", ignore=("InvalidPermission.Duplicate",)))
    return ops


def _rules_text(rules: Sequence[Rule]) -> str:
    shown = ", ".join(f"{r.protocol} {r.from_port}-{r.to_port} from {r.source}" for r in rules[:3])
    return shown + (f" and {len(rules) - 3} more" if len(rules) > 3 else "")


class NodeRules(abc.ABC):
    """What one load balancer wants in the node security groups, which every Service shares.

    Planned only against a fresh read of those groups under the provider-wide rules lock
    (see ``loadbalancer``), so it is a value with a :meth:`plan` rather than a list of calls.
    """

    def resolved(self, refs: Mapping[str, Any], *, placeholders: bool = False) -> NodeRules:
        """These rules with Refs (a group created in the same plan) replaced by their values."""
        return self

    @abc.abstractmethod
    def plan(self, groups: Groups) -> list[AwsCall]:
        """The authorize/revoke calls that bring ``groups`` in line (pure)."""


@dataclasses.dataclass(frozen=True)
class NoRules(NodeRules):
    def plan(self, groups: Groups) -> list[AwsCall]:
        return []


@dataclasses.dataclass(frozen=True)
class AllOf(NodeRules):
    """Several load balancers' rules (deletion plans the CLB's and the NLB's at once)."""

    parts: tuple[NodeRules, ...]

    def plan(self, groups: Groups) -> list[AwsCall]:
        return [op for part in self.parts for op in part.plan(groups)]

