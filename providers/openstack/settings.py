"""The Service's OpenStack settings: cloud.conf defaults overridden by the validated annotations.

The only module that reads ``request.annotations`` (through ``ccm.annotations.openstack``, never a
key literal). Precedence follows cloud-provider-openstack: annotation, else ``[LoadBalancer]``;
a ``class`` annotation picks a ``[LoadBalancerClass "name"]`` whose values win over the network
and subnet annotations. Values upstream ignores with an event are refused here before any call
(``UserError``), so a load balancer is never built other than asked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ccm.annotations import openstack as ann
from providers.openstack.config import LbConfig, NetworkClass, OpenStackConfig
from providers.port import LoadBalancerRequest, UserError

PROXY_POOL = {"true": "PROXY", "v1": "PROXY", "v2": "PROXYV2"}


@dataclasses.dataclass(frozen=True)
class Settings:
    internal: bool
    provider: str
    lb_method: str
    #: the VIP: a subnet, a network, or a port someone made (create-only)
    subnet_id: str
    network_id: str
    port_id: str
    member_subnet_id: str
    floating_network_id: str
    floating_subnet_id: str
    floating_subnet: str
    floating_subnet_tags: str
    keep_floating_ip: bool
    proxy_pool: str | None  # None, "PROXY" or "PROXYV2"
    x_forwarded_for: bool
    tls_container_ref: str | None
    connection_limit: int
    timeouts: Mapping[str, int]
    monitor: bool
    monitor_delay: int
    monitor_timeout: int
    monitor_max_retries: int
    monitor_max_retries_down: int
    flavor_id: str
    availability_zone: str
    hostname: str | None
    ingress_hostname_suffix: str | None  # set when enable-ingress-hostname applies
    node_selector: Mapping[str, str]
    load_balancer_id: str | None
    #: cloud.conf internal-lb = true overrode an annotation asking for a public load balancer
    forced_internal: bool = False


def _pick(request: LoadBalancerRequest, decl: Any, default: Any) -> Any:
    value = request.annotations.get(decl.key)
    return default if value is None else value


def _network_class(request: LoadBalancerRequest, config: OpenStackConfig) -> NetworkClass | None:
    name = request.annotations.get(ann.CLASS.key)
    if name is None:
        return None
    found = config.classes.get(name)
    if found is None:
        known = ", ".join(sorted(config.classes)) or "none"
        raise UserError(f'{ann.CLASS.key}="{name}": no [LoadBalancerClass "{name}"] in cloud.conf (defined: {known})',
                        reason="LoadBalancerClassUnknown")
    return found


def settings_from_request(request: LoadBalancerRequest, config: OpenStackConfig) -> Settings:
    lb: LbConfig = config.lb
    chosen = _network_class(request, config)

    def net(field: str, decl: Any) -> str:
        if chosen is not None and getattr(chosen, field):
            return str(getattr(chosen, field))
        return str(_pick(request, decl, getattr(lb, field)) or "")

    provider = lb.lb_provider or "amphora"
    default_method = "SOURCE_IP_PORT" if provider == "ovn" and lb.lb_method == "ROUND_ROBIN" else lb.lb_method
    monitor = request.annotations.get(ann.ENABLE_HEALTH_MONITOR.key)
    if monitor is None:
        # upstream's create-monitor default is false, which leaves ETP=Local Services sending traffic to
        # nodes without endpoints; ccm monitors those unless cloud.conf says otherwise
        monitor = lb.create_monitor if lb.create_monitor is not None else \
            request.external_traffic_policy == "Local"
    proxy = request.annotations.get(ann.PROXY_PROTOCOL.key)
    suffix = lb.ingress_hostname_suffix if lb.enable_ingress_hostname and proxy else None
    timeouts = {name: int(request.annotations[decl.key]) for name, decl in (
        ("timeout_client_data", ann.TIMEOUT_CLIENT_DATA), ("timeout_member_connect", ann.TIMEOUT_MEMBER_CONNECT),
        ("timeout_member_data", ann.TIMEOUT_MEMBER_DATA), ("timeout_tcp_inspect", ann.TIMEOUT_TCP_INSPECT),
    ) if decl.key in request.annotations}
    asked_internal = request.annotations.get(ann.INTERNAL_LOAD_BALANCER.key)
    settings = Settings(
        internal=lb.internal_lb or bool(asked_internal),
        forced_internal=lb.internal_lb and asked_internal is False,
        provider=provider,
        lb_method=str(_pick(request, ann.LB_METHOD, default_method)),
        subnet_id=net("subnet_id", ann.SUBNET_ID),
        network_id=net("network_id", ann.NETWORK_ID),
        port_id=str(request.annotations.get(ann.PORT_ID.key) or ""),
        member_subnet_id=net("member_subnet_id", ann.MEMBER_SUBNET_ID),
        floating_network_id=net("floating_network_id", ann.FLOATING_NETWORK_ID),
        floating_subnet_id=net("floating_subnet_id", ann.FLOATING_SUBNET_ID),
        floating_subnet=net("floating_subnet", ann.FLOATING_SUBNET),
        floating_subnet_tags=net("floating_subnet_tags", ann.FLOATING_SUBNET_TAGS),
        keep_floating_ip=bool(request.annotation(ann.KEEP_FLOATINGIP)),
        proxy_pool=PROXY_POOL.get(str(proxy)) if proxy else None,
        x_forwarded_for=bool(request.annotation(ann.X_FORWARDED_FOR)),
        tls_container_ref=request.annotations.get(ann.DEFAULT_TLS_CONTAINER_REF.key),
        connection_limit=int(_pick(request, ann.CONNECTION_LIMIT, -1)),
        timeouts=MappingProxyType(timeouts),
        monitor=bool(monitor),
        monitor_delay=int(_pick(request, ann.HEALTH_MONITOR_DELAY, lb.monitor_delay)),
        monitor_timeout=int(_pick(request, ann.HEALTH_MONITOR_TIMEOUT, lb.monitor_timeout)),
        monitor_max_retries=int(_pick(request, ann.HEALTH_MONITOR_MAX_RETRIES, lb.monitor_max_retries)),
        monitor_max_retries_down=int(_pick(request, ann.HEALTH_MONITOR_MAX_RETRIES_DOWN, lb.monitor_max_retries_down)),
        flavor_id=str(_pick(request, ann.FLAVOR_ID, lb.flavor_id) or ""),
        availability_zone=str(_pick(request, ann.AVAILABILITY_ZONE, lb.availability_zone) or ""),
        hostname=request.annotations.get(ann.HOSTNAME.key),
        ingress_hostname_suffix=suffix,
        node_selector=MappingProxyType(dict(request.annotations.get(ann.NODE_SELECTOR.key) or {})),
        load_balancer_id=request.annotations.get(ann.LOAD_BALANCER_ID.key),
    )
    check(request, settings)
    return settings


def check(request: LoadBalancerRequest, s: Settings) -> None:
    """What Octavia or this adapter cannot build as asked: refused before any call."""
    if not (s.subnet_id or s.network_id or s.port_id):
        raise UserError(f"no VIP subnet: set subnet-id in cloud.conf [LoadBalancer] or the {ann.SUBNET_ID.key} "
                        "annotation", reason="LoadBalancerSubnetMissing")
    if not s.internal and not s.floating_network_id:
        raise UserError(f"a public load balancer needs a floating network: set floating-network-id in cloud.conf or "
                        f"the {ann.FLOATING_NETWORK_ID.key} annotation, or make it internal "
                        f'({ann.INTERNAL_LOAD_BALANCER.key}: "true")', reason="LoadBalancerFloatingNetworkMissing")
    if s.provider == "ovn":
        if request.source_ranges_set:
            raise UserError("the OVN provider cannot restrict source ranges (no allowed_cidrs); remove "
                            "loadBalancerSourceRanges or use the amphora provider",
                            reason="LoadBalancerSourceRangesUnsupported")
        if s.proxy_pool or s.x_forwarded_for or s.tls_container_ref:
            raise UserError("the OVN provider forwards TCP/UDP/SCTP only: PROXY protocol, X-Forwarded-For and TLS "
                            "termination need the amphora provider", reason="LoadBalancerOptionUnsupported")
    if s.x_forwarded_for and s.proxy_pool:
        raise UserError(f"{ann.X_FORWARDED_FOR.key} and {ann.PROXY_PROTOCOL.key} exclude each other (an HTTP "
                        "listener adds headers, a PROXY pool prepends a PROXY header)",
                        reason="LoadBalancerOptionConflict")
    if s.monitor_timeout > s.monitor_delay:
        raise UserError(f"health monitor timeout {s.monitor_timeout}s exceeds its delay {s.monitor_delay}s",
                        reason="InvalidHealthMonitor")
