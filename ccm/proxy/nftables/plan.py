"""What the kernel should do for one Service, per IP family: a pure function of API objects.

The userspace plan (``ccm.proxy.model.plan_service``) is listener-shaped; the kernel needs
the same decisions in another shape: per Service port the frontends (nodePort, the load
balancer's VIP-mode ingress IPs), the endpoints for Cluster policy and, with
``externalTrafficPolicy: Local``, this node's endpoints, ClientIP affinity and the allowed
source ranges. Endpoint choice, fallback to serving-and-terminating endpoints and the source
range resolver are the model's, so both modes agree on every decision except what each can
carry (the kernel also forwards SCTP).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ccm.proxy import model

Family = Literal["ip", "ip6"]
FAMILIES: tuple[Family, ...] = ("ip", "ip6")
_FAMILY_NAMES = {"ip": "IPv4", "ip6": "IPv6"}
PROTOCOLS = ("TCP", "UDP", "SCTP")
#: namespaces, Service names and port names end up in nft identifiers: the API's own
#: DNS-label / IANA_SVC_NAME alphabets only, so a name can never carry nft syntax
_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")
_PORT_NAME = re.compile(r"^([a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?)?$")


@dataclass(frozen=True, order=True)
class Dest:
    """An endpoint address the kernel DNATs to."""

    ip: str
    port: int


@dataclass(frozen=True)
class PortPlan:
    """One Service port of one family, as the kernel programs it."""

    #: ``namespace/name/protocol/portName``: unique per Service port, used in object names
    name: str
    protocol: str  # nft spelling: tcp, udp, sctp
    port: int
    node_port: int | None
    #: load-balancer ingress IPs with ipMode VIP (kube-proxy does not program ipMode Proxy)
    vips: tuple[str, ...]
    #: ready endpoints anywhere, else serving-and-terminating ones (CategorizeEndpoints)
    cluster: tuple[Dest, ...]
    #: externalTrafficPolicy Local: this node's endpoints (same fallback); None = Cluster
    local: tuple[Dest, ...] | None
    affinity: int | None
    #: allowed client CIDRs of this family; None = no restriction, () = nobody of this family
    source_ranges: tuple[str, ...] | None

    @property
    def has_endpoints(self) -> bool:
        return bool(self.cluster)


@dataclass(frozen=True)
class ServiceRules:
    """One Service's ports for one family; ``error`` leaves its kernel objects as they were."""

    key: str
    ports: tuple[PortPlan, ...] = ()
    error: str | None = None


def family_of(ip: str) -> Family:
    return "ip6" if ":" in ip else "ip"


@functools.lru_cache(maxsize=1 << 16)
def _canonical(ip: str) -> str | None:
    """The address as nft prints it, or None; cached: parsing was a third of a 10,000-Service plan."""
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return None


def _family_ranges(ranges: Sequence[str], family: Family) -> tuple[str, ...]:
    version = 6 if family == "ip6" else 4
    nets = (ipaddress.ip_network(r.strip(), strict=False) for r in ranges)
    return tuple(sorted({str(n) for n in nets if n.version == version}))


def plan_service(svc: Mapping[str, Any], slices: Sequence[Mapping[str, Any]], node_name: str,
                 family: Family) -> ServiceRules:
    """The kernel's view of ``svc`` on ``node_name`` for one IP family (pure)."""
    key = model.service_key(svc)
    spec = svc.get("spec", {})
    if spec.get("type") not in ("NodePort", "LoadBalancer"):
        return ServiceRules(key)
    meta = svc["metadata"]
    namespace, name = meta.get("namespace", ""), meta["name"]
    if not (_NAME.match(namespace) and _NAME.match(name)):
        return ServiceRules(key, error=f"name {key!r} is not a DNS label")
    if _FAMILY_NAMES[family] not in (spec.get("ipFamilies") or ("IPv4",)):
        return ServiceRules(key)  # single-stack Services exist in their family's table only
    is_lb = spec.get("type") == "LoadBalancer"
    local = spec.get("externalTrafficPolicy") == "Local"
    try:
        # the same resolver as the userspace mode: LoadBalancer Services only, plus the
        # load balancer's own IPs; enforced on nodePorts too, so no path is more open
        ranges = model.source_ranges(svc) if is_lb else ()
    except ValueError as e:
        return ServiceRules(key, error=str(e))
    allowed = _family_ranges(ranges, family) if ranges else None
    vips: tuple[str, ...] = ()
    if is_lb:
        ingress = (svc.get("status", {}).get("loadBalancer", {}) or {}).get("ingress") or ()
        found = {_canonical(i.get("ip") or "") for i in ingress if i.get("ipMode", "VIP") == "VIP"}
        vips = tuple(sorted(ip for ip in found if ip is not None and family_of(ip) == family))
    affinity = model.affinity_timeout(spec)
    ports: list[PortPlan] = []
    for p in spec.get("ports") or ():
        protocol = p.get("protocol") or "TCP"
        port_name = p.get("name") or ""
        if protocol not in PROTOCOLS:
            continue
        if not _PORT_NAME.match(port_name):
            return ServiceRules(key, error=f"port name {port_name!r} is not an IANA service name")
        node_port = int(p["nodePort"]) if p.get("nodePort") else None
        if node_port is None and not vips:
            continue
        eps = [e for e in model.slice_endpoints(slices, port_name, protocol)
               if (ip := _canonical(e.ip)) is not None and family_of(ip) == family]
        cluster = _dests(model.select(eps, False, node_name))
        ports.append(PortPlan(
            name=f"{namespace}/{name}/{protocol.lower()}/{port_name}", protocol=protocol.lower(),
            port=int(p["port"]), node_port=node_port, vips=vips, cluster=cluster,
            local=_dests(model.select(eps, True, node_name)) if local else None,
            affinity=affinity, source_ranges=allowed))
    return ServiceRules(key, tuple(ports))


def _dests(endpoints: Sequence[model.Endpoint]) -> tuple[Dest, ...]:
    return tuple(sorted({Dest(_canonical(e.ip) or e.ip, e.port) for e in endpoints}))


def nodeport_ips(addresses: Sequence[str], family: Family) -> tuple[str, ...] | None:
    """The addresses nodePorts answer on for ``family``; None = every local address.

    Loopback addresses are left out: like kube-proxy's nftables mode, localhost nodePorts
    would need ``route_localnet`` (CVE-2020-8558).
    """
    if "0.0.0.0" in addresses or "::" in addresses:
        return None
    out = set()
    for a in addresses:
        ip = ipaddress.ip_address(a)
        if not ip.is_loopback and family_of(a) == family:
            out.add(str(ip))
    return tuple(sorted(out))
