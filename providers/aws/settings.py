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
from ccm.annotations.common import proxy_protocol_requested
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
    #: NLB load-balancer attributes from aws-load-balancer-attributes (they win over the legacy keys)
    lb_attributes: Mapping[str, str] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    #: ALPN policy of TLS listeners (NLB)
    alpn_policy: str | None = None
    #: the declared keys the Service sets (for checks by load-balancer type)
    present: frozenset[str] = frozenset()
    #: what the user should hear although nothing is refused (AnnotationConflict warnings)
    notes: tuple[str, ...] = ()

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
    "lb_attributes": ann.ATTRIBUTES,
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
    "alpn_policy": ann.ALPN_POLICY,
})

#: aws-load-balancer-attributes keys ccm builds, and the values AWS accepts for each
ATTRIBUTE_VALUES: Mapping[str, tuple[str, ...] | None] = MappingProxyType({
    "deletion_protection.enabled": ("true", "false"),
    "access_logs.s3.enabled": ("true", "false"),
    "access_logs.s3.bucket": None,
    "access_logs.s3.prefix": None,
    "load_balancing.cross_zone.enabled": ("true", "false"),
    "dns_record.client_routing_policy": ("any_availability_zone", "availability_zone_affinity",
                                         "partial_availability_zone_affinity"),
})
#: legacy annotations and the NLB attribute each sets (aws-load-balancer-attributes wins)
_LEGACY_ATTRIBUTES: Mapping[str, tuple[Annotation, str]] = MappingProxyType({
    "access_logs.s3.enabled": (ann.ACCESS_LOG_ENABLED, "access_log_enabled"),
    "access_logs.s3.bucket": (ann.ACCESS_LOG_S3_BUCKET_NAME, "access_log_bucket"),
    "access_logs.s3.prefix": (ann.ACCESS_LOG_S3_BUCKET_PREFIX, "access_log_prefix"),
    "load_balancing.cross_zone.enabled": (ann.CROSS_ZONE_LOAD_BALANCING_ENABLED, "cross_zone"),
})
INVALID = "InvalidAnnotation"
UNSUPPORTED = "UnsupportedAnnotation"
SUBNET_MAPPINGS = "InvalidSubnetMappings"


def shown(value: Any) -> str:
    """A typed value as the user wrote it: ``true``, ``a,b``, ``k=v,k2=v2``."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, tuple | list):
        return ",".join(map(str, value))
    return str(value)


def annotation_error(decl: Annotation, value: Any, problem: str, *, reason: str = INVALID) -> UserError:
    """A refusal that names the annotation, its value, and (in ``problem``) what is accepted."""
    return UserError(f'annotation {decl.key}="{shown(value)}" {problem}', reason=reason)



def _scheme(request: LoadBalancerRequest) -> tuple[bool, tuple[str, ...]]:
    """(internal, notes): aws-load-balancer-scheme wins over aws-load-balancer-internal (the LBC rule).

    A scheme that would be more exposed than aws-load-balancer-internal asks is refused by the
    registry's cross-check before this runs; one that is less exposed wins with a note.
    """
    scheme = request.annotations.get(ann.SCHEME.key)
    flag = request.annotations.get(ann.INTERNAL.key)
    if scheme is None:
        return bool(flag), ()
    internal = scheme == "internal"
    if flag is not None and bool(flag) != internal:
        if not internal:
            raise annotation_error(ann.SCHEME, scheme, f"conflicts with {ann.INTERNAL.key}, which asks for an internal "
                                   "load balancer; ccm never builds the more exposed of two conflicting settings: "
                                   "remove one of them")
        return True, (f'annotation {ann.SCHEME.key}="internal" wins over {ann.INTERNAL.key}="false" (the AWS Load '
                      "Balancer Controller's rule): the load balancer is internal",)
    return internal, ()


def _attributes(request: LoadBalancerRequest, values: dict[str, Any]) -> tuple[str, ...]:
    """Validate aws-load-balancer-attributes and fold it over the legacy annotations; returns notes."""
    attrs: Mapping[str, str] = values.get("lb_attributes") or {}
    notes = []
    for key, value in attrs.items():
        accepted = ATTRIBUTE_VALUES.get(key)
        if accepted is not None and value not in accepted:
            raise annotation_error(ann.ATTRIBUTES, attrs, f"is invalid: {key} must be one of {', '.join(accepted)}")
        if key == "access_logs.s3.bucket":
            try:
                ann.ACCESS_LOG_S3_BUCKET_NAME.parse(value)
            except ValueError:
                raise annotation_error(ann.ATTRIBUTES, attrs, f"is invalid: {key} must be "
                                       f"{ann.ACCESS_LOG_S3_BUCKET_NAME.parser.describe}") from None
        legacy = _LEGACY_ATTRIBUTES.get(key)
        if legacy is None:
            continue
        decl, field = legacy
        typed: Any = value == "true" if key.endswith(".enabled") else value
        if decl.key in request.annotations and request.annotations[decl.key] != typed:
            notes.append(f'annotation {ann.ATTRIBUTES.key} sets {key}={value}, which wins over '
                         f'{decl.key}="{shown(request.annotations[decl.key])}"')
        values[field] = typed
    return tuple(notes)


def settings_from_request(request: LoadBalancerRequest) -> Settings:
    """The request's typed annotation values (the registry parsed them) as :class:`Settings`."""
    lb_type = request.annotation(ann.TYPE) or CLB
    if lb_type in _ELSEWHERE_TYPES:
        raise ImplementedElsewhere(f"{request.key}: aws-load-balancer-type {lb_type} is handled elsewhere")
    values: dict[str, Any] = {field: request.annotation(decl) for field, decl in _READ.items()}
    values.update({field: request.annotations.get(decl.key) for field, decl in _READ_WHEN_SET.items()})
    values["internal"], scheme_notes = _scheme(request)
    attribute_notes = _attributes(request, values)
    return Settings(
        lb_type=NLB if lb_type == NLB else CLB,
        proxy_protocol=proxy_protocol_requested(request.annotations),
        present=frozenset(request.annotations),
        notes=(*scheme_notes, *attribute_notes),
        **{field: value for field, value in values.items() if value is not None},
    )


#: declarations only one load-balancer type builds: on the other, refused before any call
_ONLY_ON: Mapping[Annotation, str] = MappingProxyType({
    ann.TARGET_GROUP_ATTRIBUTES: NLB,
    ann.EIP_ALLOCATIONS: NLB,
    ann.PRIVATE_IPV4_ADDRESSES: NLB,
    ann.ATTRIBUTES: NLB,
    ann.ALPN_POLICY: NLB,
    ann.DISABLE_NLB_SG: NLB,
    ann.EXTRA_SECURITY_GROUPS: CLB,
    ann.SECURITY_GROUPS: CLB,  # NLB frontend security groups are not built
    ann.CONNECTION_IDLE_TIMEOUT: CLB,  # an NLB's idle timeout is a listener attribute ccm does not set
    ann.ACCESS_LOG_EMIT_INTERVAL: CLB,  # NLB access logs have no interval
})
_LABELS = {CLB: "Classic ELB", NLB: "NLB"}
#: upstream's default health-check intervals, which the timeout must stay below
_DEFAULT_INTERVAL = {CLB: 10, NLB: 30}
_DEFAULT_LOCAL_INTERVAL = {CLB: 10, NLB: 10}
_CLB_DEFAULT_TIMEOUT = 5


def check_settings(settings: Settings, lb_type: str, internal: bool, request: LoadBalancerRequest) -> None:
    """Refuse, before any call, what this load balancer cannot build as asked, naming the annotation,
    its value and what is accepted, so nothing is half made.

    ``lb_type`` and ``internal`` are what the load balancer is (or will be), which after a
    create-only change differs from what the annotations ask for.
    """
    label = _LABELS[lb_type]
    for decl, only_on in _ONLY_ON.items():
        if only_on != lb_type and decl.key in settings.present:
            raise annotation_error(decl, request.annotations[decl.key],
                                   f"is not supported on a {label}: it applies to {_LABELS[only_on]}s only; remove it",
                                   reason=UNSUPPORTED)
    if lb_type == NLB and ann.BACKEND_PROTOCOL.key in settings.present and settings.backend_protocol in ("http", "https"):
        raise annotation_error(ann.BACKEND_PROTOCOL, settings.backend_protocol,
                               "is not supported on an NLB (layer 4): supported values are tcp and ssl",
                               reason=UNSUPPORTED)
    if settings.access_log_enabled and not settings.access_log_bucket:
        raise annotation_error(ann.ACCESS_LOG_ENABLED, True,
                               f"needs a bucket: set {ann.ACCESS_LOG_S3_BUCKET_NAME.key}",
                               reason="InvalidAccessLogConfiguration")
    if internal and settings.eip_allocations:
        raise annotation_error(ann.EIP_ALLOCATIONS, settings.eip_allocations,
                               "needs an internet-facing NLB and this one is internal; remove it, or make the "
                               f"Service internet-facing ({ann.SCHEME.key}: internet-facing)",
                               reason=SUBNET_MAPPINGS)
    if not internal and settings.private_ipv4_addresses:
        raise annotation_error(ann.PRIVATE_IPV4_ADDRESSES, settings.private_ipv4_addresses,
                               f"needs an internal NLB and this one is internet-facing; set {ann.SCHEME.key}: "
                               "internal, or remove it", reason=SUBNET_MAPPINGS)
    if lb_type == NLB and settings.hc_protocol not in (None, "TCP", "HTTP", "HTTPS"):
        raise annotation_error(ann.HEALTHCHECK_PROTOCOL, settings.hc_protocol,
                               "is not supported by NLB target groups: use TCP, HTTP or HTTPS", reason=UNSUPPORTED)
    if lb_type == CLB and settings.hc_timeout is None and settings.hc_interval is not None and \
            settings.hc_interval <= _CLB_DEFAULT_TIMEOUT:
        raise annotation_error(ann.HEALTHCHECK_INTERVAL, settings.hc_interval,
                               f"must be more than the default timeout ({_CLB_DEFAULT_TIMEOUT}s); use an interval "
                               f"above {_CLB_DEFAULT_TIMEOUT} or set {ann.HEALTHCHECK_TIMEOUT.key} below it",
                               reason="InvalidHealthCheck")
    if settings.hc_timeout is not None:
        local = request.health_check is not None
        interval = settings.hc_interval or (_DEFAULT_LOCAL_INTERVAL if local else _DEFAULT_INTERVAL)[lb_type]
        if settings.hc_timeout >= interval:
            which = (f'{ann.HEALTHCHECK_INTERVAL.key}="{interval}"' if settings.hc_interval
                     else f"the {label}'s default interval ({interval}s)")
            raise annotation_error(ann.HEALTHCHECK_TIMEOUT, settings.hc_timeout,
                                   f"must be less than {which}; use a timeout below {interval}",
                                   reason="InvalidHealthCheck")
    if lb_type == NLB and settings.target_group_attributes.get("preserve_client_ip.enabled") == "false" and \
            any(p.protocol == "UDP" for p in request.ports):
        raise annotation_error(ann.TARGET_GROUP_ATTRIBUTES, settings.target_group_attributes,
                               "is not supported with UDP ports: preserve_client_ip.enabled=false needs TCP or TLS "
                               "ports only; remove it or the UDP ports", reason="InvalidTargetGroupAttributes")
    if lb_type == NLB and settings.alpn_policy not in (None, "None") and not any(
            p.protocol == "TCP" and settings.is_ssl_port(p.port, p.name) for p in request.ports):
        raise annotation_error(ann.ALPN_POLICY, settings.alpn_policy,
                               f"applies to TLS listeners and this NLB has none; set {ann.SSL_CERT.key} (and "
                               f"{ann.SSL_PORTS.key}) or remove it", reason=UNSUPPORTED)
