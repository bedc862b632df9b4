"""What one node should listen on, as a pure function of Services, EndpointSlices and the Node.

kube-proxy semantics (peers.md §2): every Service port with a nodePort is served on this
node's selected addresses; backends come from EndpointSlices (label
``kubernetes.io/service-name``), ports resolved by the Service port's name; Cluster policy
uses ready endpoints anywhere, Local policy only this node's, and each falls back to
serving-and-terminating endpoints when it has no ready one (``CategorizeEndpoints``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ccm.annotations import common as common_ann
from ccm.proxy.engine import Backend, ListenerConfig

Obj = Mapping[str, Any]

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
DEFAULT_AFFINITY_SECONDS = 10800  # upstream DefaultClientIPServiceAffinitySeconds
TO_BE_DELETED_TAINT = "ToBeDeletedByClusterAutoscaler"
KEYWORDS = ("primary", "localhost", "all")


@dataclass(frozen=True)
class Endpoint:
    ip: str
    port: int
    node: str | None
    ready: bool
    serving: bool
    terminating: bool


@dataclass(frozen=True)
class HealthCheckPlan:
    """A ``healthCheckNodePort`` server: kube-proxy's per-Service health check (ETP=Local)."""

    namespace: str
    name: str
    port: int
    local_endpoints: int  # distinct local ready IPs, terminating excluded


@dataclass
class NodePlan:
    #: (ip, nodePort, protocol) -> (service key, config)
    listeners: dict[tuple[str, int, str], tuple[str, ListenerConfig]] = field(default_factory=dict)
    #: service key -> its health check server
    health_checks: dict[str, HealthCheckPlan] = field(default_factory=dict)
    #: service key -> what is wrong with it (its listeners are left as they were)
    errors: dict[str, str] = field(default_factory=dict)
    #: service key -> notes worth a log line (e.g. SCTP ports skipped)
    notes: dict[str, str] = field(default_factory=dict)


def service_key(obj: Obj) -> str:
    meta = obj["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"


def node_eligible(node: Obj | None) -> bool:
    """False once the Node is being deleted or drained by the cluster autoscaler."""
    if node is None:
        return True
    if node.get("metadata", {}).get("deletionTimestamp"):
        return False
    taints = node.get("spec", {}).get("taints") or ()
    return not any(t.get("key") == TO_BE_DELETED_TAINT for t in taints)


def listen_addresses(node: Obj | None, nodeport_addresses: Iterable[str] | None) -> tuple[str, ...]:
    """The IPs nodePorts bind on (``--nodeport-addresses``; default: the Node's InternalIPs).

    CIDRs select among the Node's InternalIP/ExternalIP addresses; ``primary`` is the first
    InternalIP per family, ``localhost`` 127.0.0.1 and ::1, ``all`` the wildcard 0.0.0.0.
    """
    addrs = [a for a in ((node or {}).get("status", {}).get("addresses") or ())
             if a.get("type") in ("InternalIP", "ExternalIP") and _is_ip(a.get("address", ""))]
    internal = [a["address"] for a in addrs if a["type"] == "InternalIP"]
    if not nodeport_addresses:
        return tuple(dict.fromkeys(internal))
    out: list[str] = []
    for raw in nodeport_addresses:
        item = raw.strip()
        if item == "all":
            return ("0.0.0.0",)
        if item == "localhost":
            out += ["127.0.0.1", "::1"]
        elif item == "primary":
            for version in (4, 6):
                out += [ip for ip in internal if ipaddress.ip_address(ip).version == version][:1]
        else:
            net = ipaddress.ip_network(item, strict=False)
            out += [a["address"] for a in addrs if ipaddress.ip_address(a["address"]) in net]
    return tuple(dict.fromkeys(out))


def validate_nodeport_addresses(items: Iterable[str]) -> None:
    """Raise ``ValueError`` naming the first entry that is neither a CIDR nor a keyword."""
    for item in items:
        if item.strip() in KEYWORDS:
            continue
        try:
            ipaddress.ip_network(item.strip(), strict=False)
        except ValueError:
            raise ValueError(f"--nodeport-addresses: {item!r} is neither a CIDR nor one of "
                             f"{', '.join(KEYWORDS)}") from None


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def slice_endpoints(slices: Iterable[Obj], port_name: str, protocol: str) -> list[Endpoint]:
    """Endpoints serving the named port, deduplicated across slices (first address each)."""
    seen: dict[tuple[str, int], Endpoint] = {}
    for eps in slices:
        if eps.get("addressType") not in ("IPv4", "IPv6"):
            continue
        port = None
        for p in eps.get("ports") or ():
            if (p.get("name") or "") == port_name and (p.get("protocol") or "TCP") == protocol \
                    and p.get("port"):
                port = int(p["port"])
                break
        if port is None:
            continue
        for ep in eps.get("endpoints") or ():
            addresses = ep.get("addresses") or ()
            if not addresses:
                continue
            cond = ep.get("conditions") or {}
            ready = cond.get("ready") is not False  # nil means ready (API docs)
            serving = cond["serving"] is not False if cond.get("serving") is not None else ready
            terminating = cond.get("terminating") is True
            key = (addresses[0], port)
            if key not in seen:
                seen[key] = Endpoint(addresses[0], port, ep.get("nodeName"), ready, serving, terminating)
    return list(seen.values())


def select(endpoints: list[Endpoint], local_only: bool, node_name: str) -> list[Endpoint]:
    """kube-proxy's CategorizeEndpoints for one policy: ready, else serving+terminating."""
    pool = [e for e in endpoints if e.node == node_name] if local_only else endpoints
    ready = [e for e in pool if e.ready]
    if ready:
        return ready
    return [e for e in pool if e.serving and e.terminating]


def local_ready_ips(endpoints: Iterable[Endpoint], node_name: str) -> int:
    """Distinct IPs of local Ready endpoints (terminating ones never count)."""
    return len({e.ip for e in endpoints if e.node == node_name and e.ready and not e.terminating})


def source_ranges(svc: Obj) -> tuple[str, ...]:
    """The Service's source ranges for its node ports; () = allow all.

    The same resolver as the controller's (upstream ``GetLoadBalancerSourceRanges``: the spec
    field, else the legacy annotation); where the controller falls back to ``0.0.0.0/0``, the
    proxy allows everyone. The Service's own load balancer (its ``status.loadBalancer.ingress``
    IPs) is always allowed on top: it enforces the ranges on the real client itself, and when it
    sends a PROXY header the carried client is what is checked here. (kube-proxy does not filter
    nodePort traffic at all; its KUBE-FW chain guards only the LB IP.)
    Raises ``ValueError`` with upstream's message naming the bad entry.
    """
    resolved = common_ann.resolve_source_ranges(
        svc.get("spec", {}).get("loadBalancerSourceRanges"),
        (svc["metadata"].get("annotations") or {}).get(common_ann.LOAD_BALANCER_SOURCE_RANGES.key))
    if not resolved.explicit:
        return ()
    ingress = (svc.get("status", {}).get("loadBalancer", {}) or {}).get("ingress") or ()
    return resolved.cidrs + tuple(f"{i['ip']}/{128 if ':' in i['ip'] else 32}" for i in ingress if i.get("ip"))


def proxy_protocol(svc: Obj) -> bool:
    """Whether the Service's load balancer sends PROXY headers (the neutral notion every cloud maps to)."""
    return common_ann.proxy_protocol_in(svc["metadata"].get("annotations") or {})


@dataclass
class ServicePlan:
    """What one Service asks of this node; the unit the node proxy recomputes per event."""

    #: (ip, nodePort, protocol) -> config
    listeners: dict[tuple[str, int, str], ListenerConfig] = field(default_factory=dict)
    health_check: HealthCheckPlan | None = None
    #: what is wrong with it (the node proxy then keeps its previous listeners)
    error: str | None = None
    #: worth a log line (e.g. SCTP ports skipped)
    note: str | None = None


def affinity_timeout(spec: Obj) -> int | None:
    """ClientIP affinity seconds; an unset or zero timeout means upstream's default."""
    if spec.get("sessionAffinity") != "ClientIP":
        return None
    cfg = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
    return int(cfg.get("timeoutSeconds") or 0) or DEFAULT_AFFINITY_SECONDS


def plan_service(svc: Obj, slices: Sequence[Obj], node_name: str, addresses: tuple[str, ...], *,
                 udp_idle_timeout: float = 30.0) -> ServicePlan:
    plan = ServicePlan()
    spec = svc.get("spec", {})
    if spec.get("type") == "ExternalName":
        return plan
    # no early return without nodePorts: an ETP=Local LoadBalancer with
    # allocateLoadBalancerNodePorts=false still has its healthCheckNodePort
    ports = [p for p in spec.get("ports") or () if p.get("nodePort")]
    is_lb = spec.get("type") == "LoadBalancer"
    local = spec.get("externalTrafficPolicy") == "Local"
    try:
        # both are asks of the Service's load balancer: a NodePort Service has none
        ranges = source_ranges(svc) if is_lb else ()
        accept_pp = is_lb and proxy_protocol(svc)
    except ValueError as e:
        plan.error = str(e)
        return plan
    affinity = affinity_timeout(spec)
    all_eps: list[Endpoint] = []
    for p in ports:
        protocol: Literal["TCP", "UDP"] = p.get("protocol") or "TCP"
        if protocol not in ("TCP", "UDP"):
            plan.note = f"port {p.get('name') or p['nodePort']}: {protocol} is not supported " \
                        "by the node proxy, skipped"
            continue
        eps = slice_endpoints(slices, p.get("name") or "", protocol)
        all_eps += eps
        chosen = select(eps, local, node_name)
        backends = tuple(sorted({Backend(e.ip, e.port) for e in chosen}, key=lambda b: (b.ip, b.port)))
        config = ListenerConfig(protocol, backends, affinity_timeout=affinity, source_ranges=ranges,
                                accept_proxy_protocol=accept_pp and protocol == "TCP",
                                udp_idle_timeout=udp_idle_timeout)
        for ip in addresses:
            plan.listeners[(ip, int(p["nodePort"]), protocol)] = config
    hc_port = spec.get("healthCheckNodePort")
    if is_lb and local and hc_port:
        meta = svc["metadata"]
        plan.health_check = HealthCheckPlan(meta.get("namespace", ""), meta["name"], int(hc_port),
                                            local_ready_ips(all_eps, node_name))
    return plan


def plan_node(services: Iterable[Obj], slices_of: Mapping[str, Sequence[Obj]], node_name: str,
              addresses: tuple[str, ...], *, udp_idle_timeout: float = 30.0) -> NodePlan:
    """Every Service's plan, merged (the node-wide view; the node proxy applies per Service)."""
    plan = NodePlan()
    for svc in services:
        key = service_key(svc)
        one = plan_service(svc, slices_of.get(key, []), node_name, addresses,
                           udp_idle_timeout=udp_idle_timeout)
        if one.error is not None:
            plan.errors[key] = one.error
        if one.note is not None:
            plan.notes[key] = one.note
        if one.health_check is not None:
            plan.health_checks[key] = one.health_check
        for lkey, config in one.listeners.items():
            plan.listeners[lkey] = (key, config)
    return plan
