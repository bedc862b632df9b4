"""nft objects for Service plans: the table layout of kube-proxy's nftables mode (pure).

One table per family (``ip``/``ip6`` ``ccm-proxy``). Base chains hook filter at dstnat-10
(before DNAT, so the firewall sees the address the client used) and nat at dstnat/srcnat.
Dispatch is one verdict-map lookup keyed by ``daddr . l4proto . dport`` (VIPs) or
``l4proto . dport`` (nodePorts), so a packet's cost does not grow with the Service count.
Per Service port:

* ``external-H-ns/svc/proto/port``: the entry for nodePort and VIP traffic. Cluster policy:
  masquerade, then one DNAT rule per endpoint in strict rotation (``rotation``). Local
  policy: host-originated traffic is masqueraded and may use any endpoint; other traffic
  keeps its source and goes to this node's endpoints.
* ``firewall-...``: ``saddr <range> return`` per range, then ``drop``, reached from
  ``filter-prerouting`` (before DNAT).
* With ClientIP affinity only, kube-proxy's layout: ``service-...``/``local-...`` chains
  (affinity lookups, then the rotation over ``endpoint-...__ip/port`` chains that refresh
  the client's entry in a ``dynamic,timeout`` set ``affinity-...__ip/port`` and DNAT).

Two costs of nft 1.0.6 (Debian 12) and the kernel shaped this, measured at 10,000
Services x 5 endpoints: every transaction that adds a rule or element first reads every
chain of the ruleset (~7 us per chain), so endpoint chains (kube-proxy's) would multiply
the cost of a one-endpoint change by six; and each anonymous set (an inline ``{ ... }``
or ``map``) costs the kernel time linear in the sets already there, so they are avoided.
Names follow kube-proxy: prefix, the first 8 base32 characters of sha256 of the rest,
then the readable ``ns/svc/proto/port``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from ccm.proxy.nftables.plan import Dest, Family, PortPlan, ServiceRules

TABLE = "ccm-proxy"
MASQ_MARK = "0x4000"  # kube-proxy's default bit: either proxy's masquerade then serves the other
#: Without kube-proxy's ``fully-random``: a random source port for every new flow means a
#: search through a port space crowded with TIME_WAIT entries (all external clients share
#: node IP -> endpoint), while the client's own port is almost always free. Measured here
#: (bench/proxy.py --netns, churn): 1.2-4.1k conn/s with fully-random, 3.5-7.0k without,
#: 5.4-5.9k direct. fully-random narrows a race between two clients SNATed to the same port
#: at the same instant (kubernetes#76699), which then costs one SYN retransmission.
MASQUERADE = "masquerade"

# top-level maps and sets
SERVICE_IPS = "service-ips"
SERVICE_NODEPORTS = "service-nodeports"
NO_ENDPOINT_SERVICES = "no-endpoint-services"
NO_ENDPOINT_NODEPORTS = "no-endpoint-nodeports"
FIREWALL_IPS = "firewall-ips"
FIREWALL_NODEPORTS = "firewall-nodeports"
NODEPORT_IPS = "nodeport-ips"
IP_MAPS = (SERVICE_IPS, NO_ENDPOINT_SERVICES, FIREWALL_IPS)
PORT_MAPS = (SERVICE_NODEPORTS, NO_ENDPOINT_NODEPORTS, FIREWALL_NODEPORTS)
MAPS = IP_MAPS + PORT_MAPS

REJECT_CHAIN = "reject-chain"
MARK_CHAIN = "mark-for-masquerade"
DSTNAT, SRCNAT = -100, 100  # numeric: nft accepts the names only on some hooks
#: (name, type, hook, priority) of the base chains; filter runs before DNAT
BASE_CHAINS = (
    ("filter-prerouting", "filter", "prerouting", DSTNAT - 10),
    ("filter-input", "filter", "input", DSTNAT - 10),
    ("filter-forward", "filter", "forward", DSTNAT - 10),
    ("filter-output", "filter", "output", DSTNAT - 10),
    ("nat-prerouting", "nat", "prerouting", DSTNAT),
    ("nat-output", "nat", "output", DSTNAT),
    ("nat-postrouting", "nat", "postrouting", SRCNAT),
)


@dataclass(frozen=True)
class FamilySyntax:
    addr: str  # the nft address type
    match: str  # the address match keyword
    loopback: str

    def dnat(self, dest: Dest) -> str:
        return f"[{dest.ip}]:{dest.port}" if self.match == "ip6" else f"{dest.ip}:{dest.port}"


SYNTAX = {"ip": FamilySyntax("ipv4_addr", "ip", "127.0.0.0/8"),
          "ip6": FamilySyntax("ipv6_addr", "ip6", "::1")}


@dataclass
class Objects:
    """The nft objects one Service (or the whole table) owns: chains, affinity sets, elements."""

    #: chain -> its rules (nft text after ``add rule <family> <table> <chain>``)
    chains: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: affinity set -> its timeout in seconds
    sets: dict[str, int] = field(default_factory=dict)
    #: top-level map -> key -> verdict
    elements: dict[str, dict[str, str]] = field(default_factory=dict)

    def element(self, map_name: str, key: str, value: str) -> None:
        self.elements.setdefault(map_name, {})[key] = value

    def size(self) -> int:
        return sum(len(r) for r in self.chains.values()) + sum(len(e) for e in self.elements.values())


def _hash(text: str) -> str:
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:8]


def chain_name(prefix: str, port_name: str) -> str:
    return f"{prefix}-{_hash(port_name)}-{port_name}"


def endpoint_name(prefix: str, port_name: str, dest: Dest) -> str:
    ep = f"{port_name}__{dest.ip.replace(':', '.')}/{dest.port}"
    return f"{prefix}-{_hash(ep)}-{ep}"


def nodeport_match(family: Family, match_all: bool) -> str:
    """The condition selecting nodePort traffic: local addresses but loopback, or the set."""
    s = SYNTAX[family]
    if match_all:
        return f"fib daddr type local {s.match} daddr != {s.loopback}"
    return f"{s.match} daddr @{NODEPORT_IPS}"


def skeleton(family: Family, match_all: bool) -> tuple[list[tuple[str, str | None, tuple[str, ...]]],
                                                       dict[str, str]]:
    """The fixed part: chains as (name, base-chain spec or None, rules) and maps/sets -> spec."""
    s = SYNTAX[family]
    np = nodeport_match(family, match_all)
    ip_key = f"{s.addr} . inet_proto . inet_service"
    maps = {m: f"{{ type {ip_key} : verdict ; }}" for m in IP_MAPS}
    maps.update({m: "{ type inet_proto . inet_service : verdict ; }" for m in PORT_MAPS})
    maps[NODEPORT_IPS] = f"{{ type {s.addr} ; }}"
    tuple3 = f"{s.match} daddr . meta l4proto . th dport"
    pair = "meta l4proto . th dport"
    jumps = {
        "filter-prerouting": ("ct state new jump firewall-check",),
        "filter-input": ("ct state new jump nodeport-endpoints-check",
                         "ct state new jump service-endpoints-check"),
        "filter-forward": ("ct state new jump service-endpoints-check",),
        "filter-output": ("ct state new jump service-endpoints-check", "ct state new jump firewall-check"),
        "nat-prerouting": ("jump services",),
        "nat-output": ("jump services",),
        "nat-postrouting": ("jump masquerading",),
    }
    chains: list[tuple[str, str | None, tuple[str, ...]]] = [
        (name, f"{{ type {kind} hook {hook} priority {prio} ; }}", jumps[name])
        for name, kind, hook, prio in BASE_CHAINS]
    chains += [
        ("services", None, (f"{tuple3} vmap @{SERVICE_IPS}", f"{np} {pair} vmap @{SERVICE_NODEPORTS}")),
        ("firewall-check", None, (f"{tuple3} vmap @{FIREWALL_IPS}", f"{np} {pair} vmap @{FIREWALL_NODEPORTS}")),
        ("service-endpoints-check", None, (f"{tuple3} vmap @{NO_ENDPOINT_SERVICES}",)),
        ("nodeport-endpoints-check", None, (f"{np} {pair} vmap @{NO_ENDPOINT_NODEPORTS}",)),
        (REJECT_CHAIN, None, ("reject",)),
        (MARK_CHAIN, None, (f"mark set mark or {MASQ_MARK}",)),
        ("masquerading", None, (f"mark and {MASQ_MARK} == 0 return", f"mark set mark xor {MASQ_MARK}",
                                MASQUERADE)),
    ]
    return chains, maps


def skeleton_chain_names() -> frozenset[str]:
    chains, _ = skeleton("ip", True)
    return frozenset(name for name, _, _ in chains)


def service_objects(rules: ServiceRules, family: Family) -> Objects:
    """Every chain, affinity set and map element of one Service (pure)."""
    out = Objects()
    for port in rules.ports:
        _port_objects(out, port, family)
    return out


def rotation(count: int) -> list[str]:
    """Match prefixes that send new connections to ``count`` targets in strict rotation.

    Target i gets ``numgen inc mod (count - i) 0``; the last none. Every rule has its own
    counter, bumped only when the rule is reached, so target 0 takes every count-th
    connection, target 1 every (count-1)-th of the rest, and so on: 0, 1, ..., count-1, 0, ...
    No set is needed (kube-proxy's ``numgen random mod N vmap {...}`` makes an anonymous set
    per Service, and the kernel binds and names those in time quadratic in their number: on
    this 2-CPU machine, loaded, nft took 30-45 s for a full sync of 10,000 Services x 5
    endpoints with an inline map per Service, 3-5 s with this cascade).
    """
    return [f"numgen inc mod {count - i} 0 " if i < count - 1 else "" for i in range(count)]


def _balance(out: Objects, port: PortPlan, chain: str, dests: tuple[Dest, ...], family: Family) -> None:
    """An affinity chain: the client's pinned endpoint if any, else the next in rotation."""
    s = SYNTAX[family]
    names = [endpoint_name("endpoint", port.name, d) for d in dests]
    rules = [f"{s.match} saddr @{endpoint_name('affinity', port.name, d)} goto {n}" for d, n in zip(dests, names, strict=True)]
    rules += [f"{m}goto {n}" for m, n in zip(rotation(len(dests)), names, strict=True)]
    out.chains[chain] = tuple(rules)


def _dnat(port: PortPlan, dests: tuple[Dest, ...], family: Family, when: str = "") -> list[str]:
    """Rules that DNAT new connections to ``dests`` in rotation (``when``: a match prefix)."""
    s = SYNTAX[family]
    return [f"{when}meta l4proto {port.protocol} {m}dnat to {s.dnat(d)}" for m, d in zip(rotation(len(dests)), dests, strict=True)]


def _endpoint_chains(out: Objects, port: PortPlan, dests: tuple[Dest, ...], family: Family) -> None:
    """Affinity only: per endpoint a chain (hairpin, refresh the client's entry, DNAT) and a set."""
    s = SYNTAX[family]
    assert port.affinity is not None
    for dest in dests:
        affinity = endpoint_name("affinity", port.name, dest)
        out.sets[affinity] = port.affinity
        out.chains[endpoint_name("endpoint", port.name, dest)] = (
            f"{s.match} saddr {dest.ip} jump {MARK_CHAIN}",
            f"update @{affinity} {{ {s.match} saddr }}",
            f"meta l4proto {port.protocol} dnat to {s.dnat(dest)}")


def _port_objects(out: Objects, port: PortPlan, family: Family) -> None:
    s = SYNTAX[family]
    proto = port.protocol
    frontends_ip = [f"{vip} . {proto} . {port.port}" for vip in port.vips]
    frontend_np = f"{proto} . {port.node_port}" if port.node_port else None
    if port.source_ranges is not None:
        # one rule per range, no anonymous set (see rotation); return = allowed
        fw = chain_name("firewall", port.name)
        out.chains[fw] = (*(f"{s.match} saddr {r} return" for r in port.source_ranges), "drop")
        for key in frontends_ip:
            out.element(FIREWALL_IPS, key, f"goto {fw}")
        if frontend_np:
            out.element(FIREWALL_NODEPORTS, frontend_np, f"goto {fw}")
    if not port.has_endpoints:
        # no usable endpoint anywhere: refuse fast (ICMP/RST), as kube-proxy
        for key in frontends_ip:
            out.element(NO_ENDPOINT_SERVICES, key, f"goto {REJECT_CHAIN}")
        if frontend_np:
            out.element(NO_ENDPOINT_NODEPORTS, frontend_np, f"goto {REJECT_CHAIN}")
        return

    def pick(dests: tuple[Dest, ...], prefix: str, when: str = "") -> list[str]:
        """The rules choosing among ``dests``: inline DNATs, or via chains for affinity."""
        if port.affinity is None:
            return _dnat(port, dests, family, when)
        chain = chain_name(prefix, port.name)
        _balance(out, port, chain, dests, family)
        _endpoint_chains(out, port, dests, family)
        return [f"{when}goto {chain}"]

    ext = chain_name("external", port.name)
    if port.local is None:
        # Cluster: every packet is masqueraded, so replies come back here (and hairpins work)
        rules = [f"jump {MARK_CHAIN}", *pick(port.cluster, "service")]
    else:
        # Local: the client address is kept; host-originated traffic may use any endpoint
        rules = [f"fib saddr type local jump {MARK_CHAIN}",
                 *pick(port.cluster, "service", "fib saddr type local ")]
        if port.local:
            if port.affinity is None:  # hairpin (with affinity, the endpoint chains do it)
                rules += [f"{s.match} saddr {ip} jump {MARK_CHAIN}" for ip in sorted({d.ip for d in port.local})]
            rules += pick(port.local, "local")
        else:
            # endpoints elsewhere only: traffic from outside is dropped (host traffic short-circuits)
            for key in frontends_ip:
                out.element(NO_ENDPOINT_SERVICES, key, "drop")
            if frontend_np:
                out.element(NO_ENDPOINT_NODEPORTS, frontend_np, "drop")
    out.chains[ext] = tuple(rules)
    for key in frontends_ip:
        out.element(SERVICE_IPS, key, f"goto {ext}")
    if frontend_np:
        out.element(SERVICE_NODEPORTS, frontend_np, f"goto {ext}")


def affinity_set_spec(family: Family, timeout: int) -> str:
    # "dynamic" as kube-proxy: a set created without it is changed by some kernels (RHEL 8),
    # after which re-adding it fails as a flags change
    return f"{{ type {SYNTAX[family].addr} ; flags dynamic,timeout ; timeout {timeout}s ; }}"


def merge(parts: Iterable[Objects]) -> Objects:
    out = Objects()
    for part in parts:
        out.chains.update(part.chains)
        out.sets.update(part.sets)
        for m, elems in part.elements.items():
            out.elements.setdefault(m, {}).update(elems)
    return out
