"""The Service's AWS settings, read once from the validated annotations.

This is the only module that reads ``request.annotations`` (through the declarations in
``ccm.annotations.aws``, never a literal key); plans take the resulting :class:`Settings`.
Defaults that depend on the load-balancer type (health-check thresholds and interval) are
filled by the plans, so an unset value here is ``None``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ccm.annotations import aws as ann
from providers.base import ImplementedElsewhere, LoadBalancerRequest

CLB = "clb"
NLB = "nlb"
#: types another controller (the AWS Load Balancer Controller) implements
_ELSEWHERE_TYPES = frozenset({"external", "nlb-ip"})


@dataclasses.dataclass(frozen=True)
class Settings:
    lb_type: str = CLB
    internal: bool = False
    ssl_cert: str | None = None
    #: None = every port; else port numbers or names ("*" also means every port)
    ssl_ports: tuple[str, ...] | None = None
    backend_protocol: str = ""
    ssl_negotiation_policy: str | None = None
    proxy_protocol: bool = False
    access_log_enabled: bool = False
    access_log_emit_interval: int | None = None
    access_log_bucket: str | None = None
    access_log_prefix: str | None = None
    draining_enabled: bool = False
    draining_timeout: int | None = None
    idle_timeout: int | None = None
    cross_zone: bool = False
    extra_tags: Mapping[str, str] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    hc_healthy: int | None = None
    hc_unhealthy: int | None = None
    hc_interval: int | None = None
    hc_timeout: int | None = None
    hc_protocol: str | None = None
    #: a node port, "traffic-port", or None for the default
    hc_port: int | str | None = None
    hc_path: str | None = None
    target_group_attributes: Mapping[str, str] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    security_groups: tuple[str, ...] = ()
    extra_security_groups: tuple[str, ...] = ()
    target_node_labels: Mapping[str, str] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    #: subnet ids or Name tags replacing discovery
    subnets: tuple[str, ...] = ()
    #: NLB subnet mappings, one per subnet (create-only)
    eip_allocations: tuple[str, ...] = ()
    private_ipv4_addresses: tuple[str, ...] = ()

    def is_ssl_port(self, port: int, name: str) -> bool:
        if not self.ssl_cert:
            return False
        if self.ssl_ports is None or "*" in self.ssl_ports:
            return True
        return str(port) in self.ssl_ports or (bool(name) and name in self.ssl_ports)


def _tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return tuple(str(v) for v in value)


def _mapping(value: Any) -> Mapping[str, str]:
    if value is None:
        return MappingProxyType({})
    if isinstance(value, str):
        out: dict[str, str] = {}
        for item in value.split(","):
            k, _, v = item.strip().partition("=")
            if k.strip():
                out[k.strip()] = v.strip()
        return MappingProxyType(out)
    return MappingProxyType({str(k): str(v) for k, v in dict(value).items()})


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "t", "true"}
    return bool(value)


def _get(request: LoadBalancerRequest, name: str) -> Any:
    """The typed value of ``ann.<name>`` or its declared default (None when not declared)."""
    decl = getattr(ann, name, None)
    return None if decl is None else request.annotation(decl)


def _set(request: LoadBalancerRequest, name: str) -> Any:
    """The value only when the Service sets it (for defaults that depend on the LB type)."""
    decl = getattr(ann, name, None)
    if decl is None or decl.key not in request.annotations:
        return None
    return request.annotations[decl.key]


def _int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def _internal(value: Any) -> bool:
    """Upstream: any non-empty value except "false" means internal."""
    if isinstance(value, bool) or value is None:
        return bool(value)
    return str(value).strip() not in {"", "false"}


def settings_from_request(request: LoadBalancerRequest) -> Settings:
    lb_type = str(_get(request, "TYPE") or "").strip().lower()
    if lb_type in _ELSEWHERE_TYPES:
        raise ImplementedElsewhere(f"{request.key}: aws-load-balancer-type {lb_type} is handled elsewhere")
    ssl_ports = _get(request, "SSL_PORTS")
    return Settings(
        lb_type=NLB if lb_type == NLB else CLB,
        internal=_internal(_get(request, "INTERNAL")),
        ssl_cert=_get(request, "SSL_CERT") or None,
        ssl_ports=None if ssl_ports is None else _tuple(ssl_ports),
        backend_protocol=str(_get(request, "BACKEND_PROTOCOL") or "").strip().lower(),
        ssl_negotiation_policy=_get(request, "SSL_NEGOTIATION_POLICY") or None,
        proxy_protocol=str(_get(request, "PROXY_PROTOCOL") or "").strip() == "*",
        access_log_enabled=_bool(_get(request, "ACCESS_LOG_ENABLED")),
        access_log_emit_interval=_int(_get(request, "ACCESS_LOG_EMIT_INTERVAL")),
        access_log_bucket=_get(request, "ACCESS_LOG_S3_BUCKET_NAME") or None,
        access_log_prefix=_get(request, "ACCESS_LOG_S3_BUCKET_PREFIX") or None,
        draining_enabled=_bool(_get(request, "CONNECTION_DRAINING_ENABLED")),
        draining_timeout=_int(_get(request, "CONNECTION_DRAINING_TIMEOUT")),
        idle_timeout=_int(_get(request, "CONNECTION_IDLE_TIMEOUT")),
        cross_zone=_bool(_get(request, "CROSS_ZONE_LOAD_BALANCING_ENABLED")),
        extra_tags=_mapping(_get(request, "ADDITIONAL_RESOURCE_TAGS")),
        hc_healthy=_int(_set(request, "HEALTHCHECK_HEALTHY_THRESHOLD")),
        hc_unhealthy=_int(_set(request, "HEALTHCHECK_UNHEALTHY_THRESHOLD")),
        hc_interval=_int(_set(request, "HEALTHCHECK_INTERVAL")),
        hc_timeout=_int(_set(request, "HEALTHCHECK_TIMEOUT")),
        hc_protocol=(str(_set(request, "HEALTHCHECK_PROTOCOL") or "").upper() or None),
        hc_port=_set(request, "HEALTHCHECK_PORT"),
        hc_path=_set(request, "HEALTHCHECK_PATH") or None,
        target_group_attributes=_mapping(_get(request, "TARGET_GROUP_ATTRIBUTES")),
        security_groups=_tuple(_get(request, "SECURITY_GROUPS")),
        extra_security_groups=_tuple(_get(request, "EXTRA_SECURITY_GROUPS")),
        target_node_labels=_mapping(_get(request, "TARGET_NODE_LABELS")),
        subnets=_tuple(_get(request, "SUBNETS")),
        eip_allocations=_tuple(_get(request, "EIP_ALLOCATIONS")),
        private_ipv4_addresses=_tuple(_get(request, "PRIVATE_IPV4_ADDRESSES")),
    )
