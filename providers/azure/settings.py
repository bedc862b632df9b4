"""The Service's Azure settings, read once from the validated annotations.

The only module that reads ``request.annotations`` (through ``ccm.annotations.azure``
declarations, never a literal key); the rest of the adapter takes :class:`Settings`. Combinations
upstream refuses are refused here, before any cloud call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ccm.annotations import azure as ann
from providers.port import LoadBalancerRequest, UserError


@dataclasses.dataclass(frozen=True)
class PortProbe:
    """The per-port overrides (``service.beta.kubernetes.io/port_<port>_...``) of one Service port."""

    protocol: str | None = None
    #: a number, or a Service port name meaning that port's node port
    port: int | str | None = None
    interval: int | None = None
    count: int | None = None
    path: str | None = None
    no_rule: bool = False
    no_probe: bool = False


@dataclasses.dataclass(frozen=True)
class Settings:
    internal: bool = False
    internal_subnet: str | None = None
    #: a user's public IP by name (never modified, never deleted)
    pip_name: str | None = None
    #: spec.loadBalancerIP or azure-load-balancer-ipv4: a static private IP (internal) or the public IP
    #: holding that address (public)
    requested_ip: str | None = None
    #: None: leave the label alone; "": remove it
    dns_label: str | None = None
    pip_resource_group: str | None = None
    pip_tags: Mapping[str, str] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    pip_ip_tags: Mapping[str, str] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    idle_timeout: int = 4
    tcp_reset: bool = True
    floating_ip: bool = True
    probe_protocol: str | None = None
    probe_path: str = "/"
    probe_interval: int = 5
    probe_count: int = 2
    ports: Mapping[int, PortProbe] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    ha_ports: bool = False
    allowed_service_tags: tuple[str, ...] = ()
    allowed_ip_ranges: tuple[str, ...] = ()
    deny_all_except: bool = False
    manage_nsg: bool = True
    additional_public_ips: tuple[str, ...] = ()

    def port(self, port: int) -> PortProbe:
        return self.ports.get(port) or PortProbe()


def settings_from_request(request: LoadBalancerRequest) -> Settings:
    def a(decl: Any) -> Any:
        return request.annotation(decl)

    ranges = tuple(str(c) for c in a(ann.ALLOWED_IP_RANGES) or ())
    if ranges and request.source_ranges_set:
        raise UserError(
            "cannot set both spec.loadBalancerSourceRanges (or the legacy load-balancer-source-ranges "
            f"annotation) and {ann.ALLOWED_IP_RANGES.key}; use one of them", reason="InvalidConfiguration")
    requested = a(ann.LOAD_BALANCER_IPV4) or request.requested_ip
    return Settings(
        internal=bool(a(ann.LOAD_BALANCER_INTERNAL)),
        internal_subnet=a(ann.LOAD_BALANCER_INTERNAL_SUBNET) or None,
        pip_name=a(ann.PIP_NAME) or None,
        requested_ip=str(requested) if requested else None,
        dns_label=request.annotations.get(ann.DNS_LABEL_NAME.key),
        pip_resource_group=a(ann.LOAD_BALANCER_RESOURCE_GROUP) or None,
        pip_tags=MappingProxyType(dict(a(ann.PIP_TAGS) or {})),
        pip_ip_tags=MappingProxyType(dict(a(ann.PIP_IP_TAGS) or {})),
        idle_timeout=int(a(ann.LOAD_BALANCER_TCP_IDLE_TIMEOUT) or 4),
        tcp_reset=not a(ann.LOAD_BALANCER_DISABLE_TCP_RESET),
        floating_ip=not a(ann.DISABLE_LOAD_BALANCER_FLOATING_IP),
        probe_protocol=a(ann.LOAD_BALANCER_HEALTH_PROBE_PROTOCOL) or None,
        probe_path=a(ann.LOAD_BALANCER_HEALTH_PROBE_REQUEST_PATH) or "/",
        probe_interval=int(a(ann.LOAD_BALANCER_HEALTH_PROBE_INTERVAL) or 5),
        probe_count=int(a(ann.LOAD_BALANCER_HEALTH_PROBE_NUM_OF_PROBE) or 2),
        ports=MappingProxyType({p.port: _port(request, p.port) for p in request.ports}),
        ha_ports=bool(a(ann.LOAD_BALANCER_ENABLE_HIGH_AVAILABILITY_PORTS)),
        allowed_service_tags=tuple(a(ann.ALLOWED_SERVICE_TAGS) or ()),
        allowed_ip_ranges=ranges,
        deny_all_except=bool(a(ann.DENY_ALL_EXCEPT_LOAD_BALANCER_SOURCE_RANGES)),
        manage_nsg=not a(ann.DISABLE_LOAD_BALANCER_NSG_RULE),
        additional_public_ips=tuple(str(ip) for ip in a(ann.ADDITIONAL_PUBLIC_IPS) or ()),
    )


def _port(request: LoadBalancerRequest, port: int) -> PortProbe:
    def get(decl: Any) -> Any:
        return request.annotations.get(decl.key_for(port=port))

    return PortProbe(
        protocol=get(ann.PORT_HEALTH_PROBE_PROTOCOL),
        port=get(ann.PORT_HEALTH_PROBE_PORT),
        interval=get(ann.PORT_HEALTH_PROBE_INTERVAL),
        count=get(ann.PORT_HEALTH_PROBE_NUM_OF_PROBE),
        path=get(ann.PORT_HEALTH_PROBE_REQUEST_PATH),
        no_rule=bool(get(ann.PORT_NO_LB_RULE)),
        no_probe=bool(get(ann.PORT_NO_PROBE_RULE)),
    )


def public_ip_groups(request: LoadBalancerRequest) -> tuple[str, ...]:
    """Resource groups beyond the config's where the Service's public IPs may be (never fails: deletion
    reads it, and annotations may no longer validate then)."""
    value = request.annotations.get(ann.LOAD_BALANCER_RESOURCE_GROUP.key)
    return (str(value),) if value else ()
