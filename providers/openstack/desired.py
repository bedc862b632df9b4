"""The desired Octavia tree and floating IP for one Service (pure: no SDK, no calls).

One load balancer; per Service port a listener keyed by (port, transport) with its default pool,
members on the node ports (the node's address on the member subnet) and an optional monitor:
TCP (UDP-CONNECT, SCTP) on the node port, or HTTP ``GET /healthz`` on the healthCheckNodePort
(``monitor_port``) for ``externalTrafficPolicy: Local``. Source ranges become ``allowed_cidrs``
(those of the VIP's address family; none at all would mean "open", so that is refused), session
affinity ``SOURCE_IP`` persistence, PROXY protocol the pool protocol, X-Forwarded-For an HTTP
listener, a TLS container a TERMINATED_HTTPS listener.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from providers.adapter.ownership import Owner
from providers.openstack.names import child_name, fip_description, lb_tags, load_balancer_name, ownership_tags
from providers.openstack.settings import Settings
from providers.port import LoadBalancerRequest, ProviderWarning, UserError

#: Octavia's listener timeouts when none is asked for (what a listener without the annotation shows)
TIMEOUT_DEFAULTS = MappingProxyType({"timeout_client_data": 50000, "timeout_member_connect": 5000,
                                     "timeout_member_data": 50000, "timeout_tcp_inspect": 0})
TRANSPORT = {"TCP": "tcp", "HTTP": "tcp", "HTTPS": "tcp", "TERMINATED_HTTPS": "tcp", "UDP": "udp", "SCTP": "sctp"}


@dataclasses.dataclass(frozen=True)
class Monitor:
    type: str
    delay: int
    timeout: int
    max_retries: int
    max_retries_down: int
    url_path: str | None = None
    http_method: str | None = None
    expected_codes: str | None = None

    def body(self) -> dict[str, Any]:
        out = {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
        return out


@dataclasses.dataclass(frozen=True, order=True)
class Member:
    address: str
    protocol_port: int
    name: str = ""
    subnet_id: str | None = None
    monitor_port: int | None = None

    def body(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None and v != ""}


@dataclasses.dataclass(frozen=True)
class Pool:
    name: str
    protocol: str
    lb_algorithm: str
    persistence: str | None
    members: tuple[Member, ...]
    monitor: Monitor | None

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "protocol": self.protocol, "lb_algorithm": self.lb_algorithm,
                               "session_persistence": {"type": self.persistence} if self.persistence else None,
                               "members": [m.body() for m in self.members]}
        if self.monitor is not None:
            out["healthmonitor"] = self.monitor.body()
        return out


@dataclasses.dataclass(frozen=True)
class Listener:
    port: int
    transport: str
    name: str
    protocol: str
    connection_limit: int
    timeouts: Mapping[str, int]
    allowed_cidrs: tuple[str, ...] | None
    insert_headers: Mapping[str, str]
    tls_ref: str | None
    pool: Pool

    @property
    def key(self) -> tuple[int, str]:
        return self.port, self.transport

    def settable(self) -> dict[str, Any]:
        """The attributes an update may change (compared with what Octavia shows)."""
        return {"name": self.name, "connection_limit": self.connection_limit, **self.timeouts,
                "allowed_cidrs": list(self.allowed_cidrs) if self.allowed_cidrs else None,
                "insert_headers": dict(self.insert_headers), "default_tls_container_ref": self.tls_ref}

    def body(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "protocol_port": self.port, **self.settable(),
                "default_pool": self.pool.body()}


@dataclasses.dataclass(frozen=True)
class Vip:
    subnet_id: str
    network_id: str
    port_id: str
    address: str | None


@dataclasses.dataclass(frozen=True)
class FloatingIp:
    network_id: str
    subnet_id: str | None
    address: str | None  # loadBalancerIP
    tags: tuple[str, ...]
    description: str


@dataclasses.dataclass(frozen=True)
class Desired:
    name: str
    owner: Owner
    tags: tuple[str, ...]
    description: str
    vip: Vip
    provider: str
    flavor_id: str
    availability_zone: str
    listeners: tuple[Listener, ...]
    floating_ip: FloatingIp | None  # None: internal
    keep_floating_ip: bool
    warnings: tuple[ProviderWarning, ...] = ()

    def create_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "description": self.description, "tags": list(self.tags),
                                "listeners": [li.body() for li in self.listeners]}
        if self.vip.port_id:
            body["vip_port_id"] = self.vip.port_id
        elif self.vip.subnet_id:
            body["vip_subnet_id"] = self.vip.subnet_id
        else:
            body["vip_network_id"] = self.vip.network_id
        if self.vip.address:
            body["vip_address"] = self.vip.address
        for key, value in (("provider", self.provider), ("flavor_id", self.flavor_id),
                           ("availability_zone", self.availability_zone)):
            if value:
                body[key] = value
        return body


def _family(address: str | None, fallback: int = 4) -> int:
    return ipaddress.ip_address(address).version if address else fallback


def allowed_cidrs(request: LoadBalancerRequest, vip_family: int) -> tuple[str, ...] | None:
    """The source ranges Octavia can enforce on a VIP of ``vip_family`` (None: no restriction asked)."""
    if not request.source_ranges_set:
        return None
    kept = tuple(sorted({c for c in request.source_ranges if ipaddress.ip_network(c).version == vip_family}))
    if not kept:
        raise UserError(f"loadBalancerSourceRanges has no IPv{vip_family} range for an IPv{vip_family} load "
                        "balancer; an empty allowed_cidrs would admit everyone", reason="InvalidSourceRanges")
    return kept


def _monitor(request: LoadBalancerRequest, s: Settings, pool_protocol: str) -> tuple[Monitor | None, int | None]:
    """The pool's monitor and the members' monitor port."""
    if not s.monitor:
        return None, None
    timing = (s.monitor_delay, s.monitor_timeout, s.monitor_max_retries, s.monitor_max_retries_down)
    if request.health_check is not None and s.provider != "ovn":
        return Monitor("HTTP", *timing, url_path=request.health_check.path, http_method="GET",
                       expected_codes="200"), request.health_check.port
    return Monitor({"UDP": "UDP-CONNECT", "SCTP": "SCTP"}.get(pool_protocol, "TCP"), *timing), None


def build(request: LoadBalancerRequest, s: Settings, *, members: Mapping[str, str], member_subnet_id: str | None,
          vip: Vip, vip_family: int, floating_subnet_id: str | None) -> Desired:
    """``members``: node name -> address on the member subnet (nodes without one are left out)."""
    owner = Owner(request.cluster_name, request.key)
    name = load_balancer_name(owner.cluster, owner.service)
    warnings: list[ProviderWarning] = []
    cidrs = allowed_cidrs(request, vip_family)
    listeners = []
    for port in request.ports:
        transport = port.protocol.lower()
        if port.protocol == "TCP":
            protocol = "TERMINATED_HTTPS" if s.tls_container_ref else ("HTTP" if s.x_forwarded_for else "TCP")
        else:
            protocol = port.protocol
        pool_protocol = {"TCP": "TCP", "HTTP": "HTTP", "TERMINATED_HTTPS": "HTTP"}.get(protocol, protocol)
        if s.proxy_pool and transport == "tcp":
            pool_protocol = s.proxy_pool
        monitor, monitor_port = _monitor(request, s, pool_protocol)
        pool_members = tuple(sorted(
            Member(address, port.node_port, node, member_subnet_id, monitor_port)
            for node, address in members.items())) if port.node_port else ()
        pool = Pool(child_name("pool", port.protocol, port.port, name), pool_protocol, s.lb_method,
                    "SOURCE_IP" if request.session_affinity == "ClientIP" else None, pool_members, monitor)
        listeners.append(Listener(
            port.port, transport, child_name("listener", port.protocol, port.port, name), protocol,
            s.connection_limit, MappingProxyType({**TIMEOUT_DEFAULTS, **s.timeouts}), cidrs,
            MappingProxyType({"X-Forwarded-For": "true"} if protocol in ("HTTP", "TERMINATED_HTTPS") and
                             s.x_forwarded_for else {}),
            s.tls_container_ref if protocol == "TERMINATED_HTTPS" else None, pool))
    if request.health_check is not None and s.monitor and s.provider == "ovn":
        warnings.append(ProviderWarning("LoadBalancerHealthMonitorDegraded", (
            "the OVN provider has no HTTP monitors: members are checked by TCP on the node port, not on "
            "healthCheckNodePort, so nodes without endpoints stay in the pool")))
    fip = None if s.internal else FloatingIp(
        s.floating_network_id, floating_subnet_id, request.requested_ip, ownership_tags(owner), fip_description(owner))
    return Desired(name, owner, lb_tags(owner),
                   f"Kubernetes external service {owner.service} from cluster {owner.cluster}", vip, s.provider,
                   s.flavor_id, s.availability_zone, tuple(listeners), fip, s.keep_floating_ip, tuple(warnings))
