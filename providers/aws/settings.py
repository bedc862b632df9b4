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
from ccm.annotations.registry import Annotation
from providers.port import ImplementedElsewhere, LoadBalancerRequest, UserError

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


#: Settings field -> the declaration it reads; when the Service leaves it unset, the declared
#: default applies, or the field's own default when the declaration has none
_READ: Mapping[str, Annotation] = MappingProxyType({
    "internal": ann.INTERNAL,
    "ssl_cert": ann.SSL_CERT,
    "ssl_ports": ann.SSL_PORTS,
    "backend_protocol": ann.BACKEND_PROTOCOL,
    "ssl_negotiation_policy": ann.SSL_NEGOTIATION_POLICY,
    "access_log_enabled": ann.ACCESS_LOG_ENABLED,
    "access_log_emit_interval": ann.ACCESS_LOG_EMIT_INTERVAL,
    "access_log_bucket": ann.ACCESS_LOG_S3_BUCKET_NAME,
    "access_log_prefix": ann.ACCESS_LOG_S3_BUCKET_PREFIX,
    "draining_enabled": ann.CONNECTION_DRAINING_ENABLED,
    "draining_timeout": ann.CONNECTION_DRAINING_TIMEOUT,
    "idle_timeout": ann.CONNECTION_IDLE_TIMEOUT,
    "cross_zone": ann.CROSS_ZONE_LOAD_BALANCING_ENABLED,
    "extra_tags": ann.ADDITIONAL_RESOURCE_TAGS,
    "target_group_attributes": ann.TARGET_GROUP_ATTRIBUTES,
    "security_groups": ann.SECURITY_GROUPS,
    "extra_security_groups": ann.EXTRA_SECURITY_GROUPS,
    "target_node_labels": ann.TARGET_NODE_LABELS,
    "subnets": ann.SUBNETS,
    "eip_allocations": ann.EIP_ALLOCATIONS,
    "private_ipv4_addresses": ann.PRIVATE_IPV4_ADDRESSES,
})
#: fields whose default depends on the load-balancer type (the plans fill it): None unless set
_READ_WHEN_SET: Mapping[str, Annotation] = MappingProxyType({
    "hc_healthy": ann.HEALTHCHECK_HEALTHY_THRESHOLD,
    "hc_unhealthy": ann.HEALTHCHECK_UNHEALTHY_THRESHOLD,
    "hc_interval": ann.HEALTHCHECK_INTERVAL,
    "hc_timeout": ann.HEALTHCHECK_TIMEOUT,
    "hc_protocol": ann.HEALTHCHECK_PROTOCOL,
    "hc_port": ann.HEALTHCHECK_PORT,
    "hc_path": ann.HEALTHCHECK_PATH,
})


def settings_from_request(request: LoadBalancerRequest) -> Settings:
    """The request's typed annotation values (the registry parsed them) as :class:`Settings`."""
    lb_type = request.annotation(ann.TYPE) or CLB
    if lb_type in _ELSEWHERE_TYPES:
        raise ImplementedElsewhere(f"{request.key}: aws-load-balancer-type {lb_type} is handled elsewhere")
    values: dict[str, Any] = {field: request.annotation(decl) for field, decl in _READ.items()}
    values.update({field: request.annotations.get(decl.key) for field, decl in _READ_WHEN_SET.items()})
    return Settings(
        lb_type=NLB if lb_type == NLB else CLB,
        proxy_protocol=request.annotation(ann.PROXY_PROTOCOL) == "*",
        **{field: value for field, value in values.items() if value is not None},
    )


#: settings only one load-balancer type can honour: on the other an error, never silently ignored
_ONLY_ON: Mapping[str, tuple[str, Annotation]] = MappingProxyType({
    "target_group_attributes": (NLB, ann.TARGET_GROUP_ATTRIBUTES),
    "eip_allocations": (NLB, ann.EIP_ALLOCATIONS),
    "private_ipv4_addresses": (NLB, ann.PRIVATE_IPV4_ADDRESSES),
    "extra_security_groups": (CLB, ann.EXTRA_SECURITY_GROUPS),
})


def check_settings(settings: Settings, lb_type: str, internal: bool) -> None:
    """Reject combinations AWS cannot build before any call, so nothing is half made.

    ``lb_type`` and ``internal`` are what the load balancer is (or will be), which after a
    create-only change differs from what the annotations ask for.
    """
    for field, (only_on, decl) in _ONLY_ON.items():
        if only_on != lb_type and getattr(settings, field):
            raise UserError(f"{decl.key} applies to {only_on.upper()}s only, and this load balancer is a "
                            f"{lb_type.upper()}; remove the annotation", reason="UnsupportedAnnotation")
    if settings.access_log_enabled and not settings.access_log_bucket:
        raise UserError(f"access logs are enabled but {ann.ACCESS_LOG_S3_BUCKET_NAME.key} is not set",
                        reason="InvalidAccessLogConfiguration")
    if internal and settings.eip_allocations:
        raise UserError(f"{ann.EIP_ALLOCATIONS.key} needs an internet-facing NLB; this one is internal",
                        reason="InvalidSubnetMappings")
    if not internal and settings.private_ipv4_addresses:
        raise UserError(f"{ann.PRIVATE_IPV4_ADDRESSES.key} needs an internal NLB "
                        f"({ann.INTERNAL.key}: \"true\")", reason="InvalidSubnetMappings")
