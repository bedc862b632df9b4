"""Real load balancers on this machine: one VIP per Service, forwarding to node ports.

Each Service gets a VIP from the pool (:mod:`providers.local.vips`) and one engine
listener per TCP/UDP port on it, forwarding to ``<node InternalIP>:<nodePort>`` of
every node whose health check passes (:mod:`providers.local.health`). Because it
forwards to node ports, nothing behind it sees the client's address, so it enforces
``loadBalancerSourceRanges`` and ClientIP affinity itself (peers §1, §2.6) and
reports ``ipMode: Proxy`` so kube-proxy does not short-circuit the VIP (§2.7).

One lock serialises every call and every health flip: the operations are local
socket calls taking microseconds, and ``ensure``/``update`` may race for one Service.
"""

from __future__ import annotations

import dataclasses
import errno
import ipaddress
import logging
import threading
from collections.abc import Iterable

from ccm.annotations.aws import PROXY_PROTOCOL
from ccm.proxy.engine import Backend, ListenerConfig, ThreadedEngine
from providers.base import (
    ApiCallCounter,
    EnsureResult,
    Ingress,
    LoadBalancer,
    LoadBalancerRequest,
    LoadBalancerStatus,
    Node,
    PortStatus,
    ProviderWarning,
    ServicePort,
    UserError,
    default_load_balancer_name,
)
from providers.local.health import HealthMonitor, Target
from providers.local.options import LocalOptions
from providers.local.vips import Owner, VipTable

log = logging.getLogger(__name__)

#: upstream DefaultClientIPServiceAffinitySeconds, used when the Service gives no timeout
DEFAULT_AFFINITY_SECONDS = 10800
FORWARDED_PROTOCOLS = ("TCP", "UDP")
#: fresh VIPs tried when ports on one are taken by another process, before reporting PortInUse
MAX_FRESH_VIP_TRIES = 8

ListenerKey = tuple[int, str]  # (port, protocol) on the VIP


@dataclasses.dataclass(slots=True)
class _Balancer:
    """What this process has built for one Service (the engine holds the sockets)."""

    uid: str
    key: str
    vip: str
    request: LoadBalancerRequest
    listeners: dict[ListenerKey, ListenerConfig] = dataclasses.field(default_factory=dict)
    port_errors: dict[ListenerKey, str] = dataclasses.field(default_factory=dict)
    targets: dict[str, Target] = dataclasses.field(default_factory=dict)  # node name -> target


def _bind_error_reason(exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return "PortInUse"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "PermissionDenied"
    return "ListenFailed"


class LocalLoadBalancer(LoadBalancer):
    def __init__(self, cluster_name: str, options: LocalOptions, engine: ThreadedEngine) -> None:
        self.cluster_name = cluster_name
        self.options = options
        self.engine = engine
        self.vips = VipTable(options.vip_pool, options.state_file)
        self.counter = ApiCallCounter("local")
        self._lock = threading.RLock()
        self._balancers: dict[str, _Balancer] = {}
        #: VIPs found bound by another process; never handed out fresh again by this one
        self._busy: set[str] = set()
        self.health = HealthMonitor(
            self._on_health_change,
            interval=options.health_interval,
            timeout=options.health_timeout,
            unhealthy_threshold=options.unhealthy_threshold,
            healthy_threshold=options.healthy_threshold,
        )
        if options.health_checks:
            self.health.start()

    # -- LoadBalancer --------------------------------------------------------------------

    def name(self, request: LoadBalancerRequest) -> str:
        return default_load_balancer_name(request.uid)

    def get(self, request: LoadBalancerRequest) -> LoadBalancerStatus | None:
        with self._lock:
            self.counter.record("vips", "get", mutating=False)
            b = self._balancers.get(request.uid)
            if b is not None:
                return self._status(b)
            vip = self.vips.ip_of(self.cluster_name, request.uid)
            if vip is None:
                return None
            return LoadBalancerStatus((Ingress(ip=vip, ip_mode="Proxy", ports=tuple(
                PortStatus(p.port, p.protocol) for p in request.ports)),))

    def ensure(self, request: LoadBalancerRequest) -> EnsureResult:
        with self._lock:
            for attempt in range(1, MAX_FRESH_VIP_TRIES + 1):
                result = self._ensure(request, last_try=attempt == MAX_FRESH_VIP_TRIES)
                if result is not None:
                    return result
            raise AssertionError("unreachable: the last try always returns")

    def _ensure(self, request: LoadBalancerRequest, last_try: bool = False) -> EnsureResult | None:
        """One attempt; None when a fresh VIP turned out to be taken by another process."""
        b = self._balancers.get(request.uid)
        held = b.vip if b is not None else self.vips.ip_of(self.cluster_name, request.uid)
        vip = self._choose_vip(request, held)
        fresh = held is None and vip != request.requested_ip and vip not in request.current_ips
        if self.vips.assign(vip, Owner(self.cluster_name, request.uid, request.key)):
            self.counter.record("vips", "assign", mutating=True)
            log.info("%s: allocated VIP %s", request.key, vip)
        if held is not None and held != vip:
            log.info("%s: moving from VIP %s to %s", request.key, held, vip)
            if b is not None:
                self._teardown(b)
                b = None
            self._release(request, held)
        if b is None:
            b = _Balancer(request.uid, request.key, vip, request)
            self._balancers[request.uid] = b
        b.request = request
        warnings = self._reconcile(b)
        if fresh and not last_try and "PortInUse" in b.port_errors.values():
            # Another process (say a second cluster's controller with its own state file)
            # serves on this address: a new Service should not start life half-bound.
            log.warning("%s: a port on VIP %s is taken by another process; trying the next VIP",
                        request.key, vip)
            self._balancers.pop(request.uid, None)
            self._teardown(b)
            self._release(request, vip)
            self._busy.add(vip)
            return None
        return EnsureResult(self._status(b), warnings)

    def update(self, request: LoadBalancerRequest) -> tuple[ProviderWarning, ...]:
        with self._lock:
            b = self._balancers.get(request.uid)
            if b is None:
                if self.vips.ip_of(self.cluster_name, request.uid) is None:
                    # never made, or deleted while node sync was queued: creating is ensure's job,
                    # or a late node sync would leak a VIP no Service will ever release
                    log.info("%s: no load balancer; node sync leaves it to ensure", request.key)
                    return ()
                return self.ensure(request).warnings  # the first call after a restart: rebuild
            b.request = dataclasses.replace(b.request, nodes=request.nodes)
            return self._reconcile(b)

    def delete(self, request: LoadBalancerRequest) -> None:
        with self._lock:
            b = self._balancers.pop(request.uid, None)
            if b is not None:
                self._teardown(b)
            vip = self.vips.ip_of(self.cluster_name, request.uid)
            if vip is not None:
                self._release(request, vip)

    def _release(self, request: LoadBalancerRequest, vip: str) -> None:
        if self.vips.release(vip, self.cluster_name, request.uid):
            self.counter.record("vips", "release", mutating=True)
            log.info("%s: released VIP %s", request.key, vip)

    # -- VIP choice ----------------------------------------------------------------------

    def _choose_vip(self, request: LoadBalancerRequest, held: str | None) -> str:
        """Requested IP if valid, else the VIP we hold, else the status' IP, else the first free one."""
        if "IPv4" not in request.ip_families:
            raise UserError(
                f"spec.ipFamilies {list(request.ip_families)}: the local load balancer hands out IPv4 VIPs "
                f"only (pool {self.options.vip_pool}); add IPv4 to ipFamilies",
                reason="UnsupportedIPFamily",
            )
        if request.requested_ip:
            return self._check_requested(request, request.requested_ip)
        if held is not None:
            return held
        for ip in request.current_ips:
            if self.vips.in_pool(ip) and self.vips.owner_of(ip) is None:
                return ip
        free = self.vips.first_free(skip=frozenset(self._busy))
        if free is None:
            raise UserError(
                f"the local VIP pool {self.options.vip_pool} is exhausted: every address is held by "
                "another Service; delete one or start the controller with a larger vip-pool",
                reason="VIPPoolExhausted",
            )
        return free

    def _check_requested(self, request: LoadBalancerRequest, ip: str) -> str:
        pool = self.options.vip_pool
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            raise UserError(f"spec.loadBalancerIP {ip!r} is not an IP address", "InvalidLoadBalancerIP") from None
        if addr not in pool:
            raise UserError(
                f"spec.loadBalancerIP {ip} is outside the local VIP pool {pool}; "
                "ask for a free address in the pool or leave the field empty",
                reason="InvalidLoadBalancerIP",
            )
        owner = self.vips.owner_of(str(addr))
        if owner is not None and (owner.cluster, owner.uid) != (self.cluster_name, request.uid):
            where = "" if owner.cluster == self.cluster_name else f" of cluster {owner.cluster}"
            raise UserError(
                f"spec.loadBalancerIP {ip} is already held by Service {owner.key}{where}; "
                "ask for another address in the pool or leave the field empty",
                reason="LoadBalancerIPInUse",
            )
        return str(addr)

    # -- listeners -----------------------------------------------------------------------

    def _targets(self, request: LoadBalancerRequest) -> tuple[dict[str, Target], list[ProviderWarning]]:
        """The health check of every node: the Service's for Local, the node proxy's for Cluster."""
        hc = request.health_check if request.external_traffic_policy == "Local" else None
        targets: dict[str, Target] = {}
        warnings: list[ProviderWarning] = []
        for node in request.nodes:
            ip = node.address_of("InternalIP", "ExternalIP")
            if ip is None:
                warnings.append(ProviderWarning(
                    "NodeWithoutAddress", f"node {node.name} has no InternalIP or ExternalIP: not a backend"))
                continue
            targets[node.name] = (Target(ip, hc.port, hc.path or "/healthz") if hc is not None
                                  else Target(ip, self.options.node_health_port, "/healthz"))
        return targets, warnings

    def _healthy_nodes(self, b: _Balancer) -> list[Node]:
        nodes = [n for n in b.request.nodes if n.name in b.targets]
        if self.options.health_checks:
            nodes = [n for n in nodes if self.health.is_healthy(b.targets[n.name])]
        return sorted(nodes, key=lambda n: n.name)

    def _config(self, b: _Balancer, port: ServicePort, nodes: Iterable[Node]) -> ListenerConfig:
        r = b.request
        affinity = None
        if r.session_affinity == "ClientIP":
            affinity = r.session_affinity_timeout or DEFAULT_AFFINITY_SECONDS
        proxy_protocol = 2 if port.protocol == "TCP" and r.annotation(PROXY_PROTOCOL) else None
        return ListenerConfig(
            protocol=port.protocol,  # type: ignore[arg-type]  # checked by the caller
            backends=tuple(Backend(b.targets[n.name].ip, port.node_port) for n in nodes),
            affinity_timeout=affinity,
            source_ranges=tuple(r.source_ranges) if r.source_ranges_set else (),
            send_proxy_protocol=proxy_protocol,
        )

    def _reconcile(self, b: _Balancer) -> tuple[ProviderWarning, ...]:
        """Make the engine's listeners for ``b`` match its request; touch only what differs."""
        targets, warnings = self._targets(b.request)
        b.targets = targets
        if self.options.health_checks:
            self.health.set_targets(b.uid, targets.values())
        nodes = self._healthy_nodes(b)
        wanted: dict[ListenerKey, ServicePort] = {}
        b.port_errors = {}
        for port in b.request.ports:
            k = (port.port, port.protocol)
            if port.protocol not in FORWARDED_PROTOCOLS:
                b.port_errors[k] = "UnsupportedProtocol"
                warnings.append(ProviderWarning("UnsupportedProtocol", (
                    f"port {port.port}/{port.protocol} is not served: the local load balancer "
                    "forwards TCP and UDP only")))
            elif not port.node_port:
                b.port_errors[k] = "NodePortRequired"
                warnings.append(ProviderWarning("NodePortRequired", (
                    f"port {port.port}/{port.protocol} has no nodePort (allocateLoadBalancerNodePorts "
                    "is false?): the local load balancer forwards to node ports")))
            else:
                wanted[k] = port
        for k in [k for k in b.listeners if k not in wanted]:
            self._close(b, k)
        for k, port in wanted.items():
            config = self._config(b, port, nodes)
            if k not in b.listeners:
                error = self._listen(b, k, config)
                if error is not None:
                    b.port_errors[k] = error[0]
                    warnings.append(ProviderWarning(error[0], error[1]))
            elif b.listeners[k] != config:
                self.engine.update(b.vip, k[0], k[1], config)
                self.counter.record("engine", "update", mutating=True)
                b.listeners[k] = config
                log.info("%s: %s:%d/%s now forwards to %s", b.key, b.vip, k[0], k[1],
                         ", ".join(f"{x.ip}:{x.port}" for x in config.backends) or "no healthy node")
        return tuple(warnings)

    def _listen(self, b: _Balancer, k: ListenerKey, config: ListenerConfig) -> tuple[str, str] | None:
        try:
            self.engine.listen(b.vip, k[0], config)
        except OSError as e:
            self.counter.record("engine", "listen", mutating=True, ok=False)
            log.warning("%s: cannot listen on %s:%d/%s: %s", b.key, b.vip, k[0], k[1], e)
            return _bind_error_reason(e), f"cannot listen on {b.vip}:{k[0]}/{k[1]}: {e.strerror or e}"
        self.counter.record("engine", "listen", mutating=True)
        b.listeners[k] = config
        log.info("%s: listening on %s:%d/%s", b.key, b.vip, k[0], k[1])
        return None

    def _close(self, b: _Balancer, k: ListenerKey) -> None:
        self.engine.close_listener(b.vip, k[0], k[1])
        self.counter.record("engine", "close", mutating=True)
        del b.listeners[k]
        log.info("%s: closed %s:%d/%s", b.key, b.vip, k[0], k[1])

    def _teardown(self, b: _Balancer) -> None:
        for k in list(b.listeners):
            self._close(b, k)
        self.health.remove_owner(b.uid)

    def _status(self, b: _Balancer) -> LoadBalancerStatus:
        ports = tuple(PortStatus(p.port, p.protocol, b.port_errors.get((p.port, p.protocol)))
                      for p in b.request.ports)
        return LoadBalancerStatus((Ingress(ip=b.vip, ip_mode="Proxy", ports=ports),))

    # -- health --------------------------------------------------------------------------

    def _on_health_change(self, changed: frozenset[Target]) -> None:
        with self._lock:
            for b in list(self._balancers.values()):
                if changed.intersection(b.targets.values()):
                    self._reconcile(b)

    def close(self) -> None:
        self.health.stop()
        with self._lock:
            self._balancers.clear()
