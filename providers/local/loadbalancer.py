"""Real load balancers on this machine: one VIP per Service, forwarding to node ports.

Each Service gets a VIP from the pool (:mod:`providers.local.vips`) and one engine
listener per TCP/UDP port on it, forwarding to ``<node InternalIP>:<nodePort>`` of
every node whose health check passes (:mod:`providers.local.health`). Because it
forwards to node ports, nothing behind it sees the client's address, so it enforces
``loadBalancerSourceRanges`` and ClientIP affinity itself (peers §1, §2.6) and
reports ``ipMode: Proxy`` so kube-proxy does not short-circuit the VIP (§2.7).

Same shape as every adapter: observe (the VIP table, the balancer this process holds, the
health monitor) -> desired listeners (``plan``, pure) -> operations -> ``apply`` (the only
module that binds, reconfigures or closes a listener or writes the VIP table). One lock
serialises every call and every health flip: the operations are local socket calls taking
microseconds, and ``ensure``/``update`` may race for one Service.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import threading
from collections.abc import Sequence

from ccm.proxy.engine import ThreadedEngine
from providers.adapter.apply import apply
from providers.adapter.naming import default_load_balancer_name
from providers.adapter.operations import Kind, Operation
from providers.local.apply import Balancer, LocalExecutor
from providers.local.health import HealthMonitor, Target
from providers.local.operations import assign_vip, listener_op, release_vip
from providers.local.options import LocalOptions
from providers.local.plan import node_ips, plan_listeners, wanted_listeners
from providers.local.vips import VipTable
from providers.metrics import ApiCallCounter
from providers.port import (
    EnsureResult,
    Ingress,
    LoadBalancer,
    LoadBalancerRequest,
    LoadBalancerStatus,
    Node,
    PortStatus,
    ProviderWarning,
    UserError,
)

log = logging.getLogger(__name__)

#: fresh VIPs tried when ports on one are taken by another process, before reporting PortInUse
MAX_FRESH_VIP_TRIES = 8


class LocalLoadBalancer(LoadBalancer):
    def __init__(self, cluster_name: str, options: LocalOptions, engine: ThreadedEngine) -> None:
        self.cluster_name = cluster_name
        self.options = options
        self.engine = engine
        self.vips = VipTable(options.vip_pool, options.state_file)
        self.counter = ApiCallCounter("local")
        self._lock = threading.RLock()
        self._balancers: dict[str, Balancer] = {}
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

    def _apply(self, ops: Sequence[Operation], key: str, b: Balancer | None = None) -> list[ProviderWarning]:
        executor = LocalExecutor(self.engine, self.vips, self.counter, self.cluster_name, b)
        apply(ops, executor, key)
        return executor.warnings

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

    def _vip_ops(self, request: LoadBalancerRequest) -> tuple[str, str | None, list[Operation]]:
        """(chosen VIP, VIP held so far, the operations that move the Service to it). Read-only."""
        b = self._balancers.get(request.uid)
        held = b.vip if b is not None else self.vips.ip_of(self.cluster_name, request.uid)
        vip = self._choose_vip(request, held)
        ops: list[Operation] = []
        owner = self.vips.owner_of(vip)
        if owner is None or (owner.cluster, owner.uid, owner.key) != (self.cluster_name, request.uid, request.key):
            ops.append(assign_vip(vip, request.uid, request.key))  # the new address first, then the old goes
        if held is not None and held != vip:
            if b is not None:
                ops += [listener_op(Kind.DELETE, held, k) for k in b.listeners]
            ops.append(release_vip(held, request.uid))
        return vip, held, ops

    def _ensure(self, request: LoadBalancerRequest, last_try: bool = False) -> EnsureResult | None:
        """One attempt; None when a fresh VIP turned out to be taken by another process."""
        vip, held, vip_ops = self._vip_ops(request)
        fresh = held is None and vip != request.requested_ip and vip not in request.current_ips
        b = self._balancers.get(request.uid)
        if held is not None and held != vip:
            log.info("%s: moving from VIP %s to %s", request.key, held, vip)
        self._apply(vip_ops, request.key, b)
        if b is None or b.vip != vip:
            self.health.remove_owner(request.uid)
            b = Balancer(request.uid, request.key, vip, request)
            self._balancers[request.uid] = b
        b.request = request
        warnings = self._reconcile(b)
        if fresh and not last_try and "PortInUse" in b.port_errors.values():
            # Another process (say a second cluster's controller with its own state file)
            # serves on this address: a new Service should not start life half-bound.
            log.warning("%s: a port on VIP %s is taken by another process; trying the next VIP",
                        request.key, vip)
            self._balancers.pop(request.uid, None)
            self._teardown(b, release=True)
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
                self._teardown(b, release=False)
            vip = self.vips.ip_of(self.cluster_name, request.uid)
            if vip is not None:
                self._apply([release_vip(vip, request.uid)], request.key)

    def delete_service(self, service: str) -> list[str]:
        """Tear down and release everything held for Service key ``service`` (the inventory's delete)."""
        with self._lock:
            vips = [ip for ip, o in self.vips.allocations().items() if o.cluster == self.cluster_name and o.key == service]
            for uid, b in list(self._balancers.items()):
                if b.key == service:
                    del self._balancers[uid]
                    self._teardown(b, release=False)
            owners = self.vips.allocations()
            self._apply([release_vip(ip, owners[ip].uid) for ip in vips if ip in owners], service)
            return vips

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

    def _healthy_nodes(self, b: Balancer) -> list[Node]:
        nodes = [n for n in b.request.nodes if n.name in b.targets]
        if self.options.health_checks:
            nodes = [n for n in nodes if self.health.is_healthy(b.targets[n.name])]
        return sorted(nodes, key=lambda n: n.name)

    def _observe(self, b: Balancer) -> tuple[dict[str, Target], list[ProviderWarning]]:
        """The nodes' health targets; starts probing them (health is what this cloud observes)."""
        targets, warnings = self._targets(b.request)
        b.targets = targets
        if self.options.health_checks:
            self.health.set_targets(b.uid, targets.values())
        return targets, warnings

    def _reconcile(self, b: Balancer) -> tuple[ProviderWarning, ...]:
        """Make the engine's listeners for ``b`` match its request; touch only what differs."""
        _, warnings = self._observe(b)
        wanted, b.port_errors, more = wanted_listeners(b.request, node_ips(self._healthy_nodes(b)))
        ops = plan_listeners(b.vip, b.listeners, wanted)
        return (*warnings, *more, *self._apply(ops, b.key, b))

    def _teardown(self, b: Balancer, *, release: bool) -> None:
        ops: list[Operation] = [listener_op(Kind.DELETE, b.vip, k) for k in b.listeners]
        if release:
            ops.append(release_vip(b.vip, b.uid))
        self._apply(ops, b.key, b)
        self.health.remove_owner(b.uid)

    def _status(self, b: Balancer) -> LoadBalancerStatus:
        ports = tuple(PortStatus(p.port, p.protocol, b.port_errors.get((p.port, p.protocol)))
                      for p in b.request.ports)
        return LoadBalancerStatus((Ingress(ip=b.vip, ip_mode="Proxy", ports=ports),))

    # -- planning (read-only) ------------------------------------------------------------

    def plan_live(self, request: LoadBalancerRequest) -> tuple[Operation, ...]:
        """What ``ensure`` would do now: VIP moves, then listener changes for the healthy nodes."""
        with self._lock:
            vip, _, ops = self._vip_ops(request)
            b = self._balancers.get(request.uid)
            current = b.listeners if b is not None and b.vip == vip else {}
            nodes = [n for n in request.nodes if n.address_of("InternalIP", "ExternalIP")]
            if self.options.health_checks and b is not None:
                nodes = [n for n in nodes if n.name in b.targets and self.health.is_healthy(b.targets[n.name])]
            wanted, _, _ = wanted_listeners(request, node_ips(nodes))
            return (*ops, *plan_listeners(vip, current, wanted))

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
