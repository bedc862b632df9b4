"""Build the provider's LoadBalancerRequest from a Service dict, eligible Node dicts and parsed annotations.

Pure: no API or cloud calls. Source ranges follow upstream ``GetLoadBalancerSourceRanges``: the spec
field wins over the legacy annotation; unset means ``0.0.0.0/0``; an invalid entry is an error.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from providers.base import HealthCheck, LoadBalancerRequest, Node, NodeAddress, ServicePort

DEFAULT_SOURCE_RANGES = ("0.0.0.0/0",)
HEALTH_CHECK_PATH = "/healthz"


class InvalidServiceError(ValueError):
    """The Service cannot be turned into a request; ``reason`` is the Warning event reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _cidr(value: str) -> str:
    # like upstream ParseCIDRSloppy: host bits may be set, the network is what counts
    return str(ipaddress.ip_network(value.strip(), strict=False))


def source_ranges(
    spec: Mapping[str, Any], legacy: Any, legacy_key: str = "load-balancer-source-ranges"
) -> tuple[tuple[str, ...], bool]:
    """(ranges, explicitly set). ``legacy`` is the parsed legacy annotation value (None when unset)."""
    spec_ranges = spec.get("loadBalancerSourceRanges") or []
    if spec_ranges:
        try:
            return tuple(_cidr(str(r)) for r in spec_ranges), True
        except ValueError as exc:
            raise InvalidServiceError(
                "InvalidLoadBalancerSourceRanges",
                f"service.Spec.LoadBalancerSourceRanges: {list(spec_ranges)} is not valid. Expecting a list "
                f"of IP ranges. For example, 10.0.0.0/24. Error msg: {exc}",
            ) from exc
    if not legacy:
        return DEFAULT_SOURCE_RANGES, False
    items: Iterable[Any] = legacy.split(",") if isinstance(legacy, str) else legacy
    try:
        return tuple(_cidr(str(r)) for r in items), True
    except ValueError as exc:
        raise InvalidServiceError(
            "InvalidLoadBalancerSourceRanges",
            f"{legacy_key}: {legacy} is not valid. Expecting a comma-separated list of source IP "
            f"ranges. For example, 10.0.0.0/24,192.168.2.0/24",
        ) from exc


def health_check(spec: Mapping[str, Any]) -> HealthCheck | None:
    """Upstream GetServiceHealthCheckPathPort: only for externalTrafficPolicy Local with a port."""
    port = spec.get("healthCheckNodePort")
    if spec.get("externalTrafficPolicy") == "Local" and port:
        return HealthCheck(HEALTH_CHECK_PATH, int(port))
    return None


def node_from_api(node: Mapping[str, Any]) -> Node:
    meta, spec = node.get("metadata") or {}, node.get("spec") or {}
    addresses = tuple(
        NodeAddress(str(a.get("type", "")), str(a.get("address", "")))
        for a in (node.get("status") or {}).get("addresses") or ()
    )
    return Node(
        name=str(meta.get("name", "")),
        provider_id=str(spec.get("providerID") or ""),
        addresses=addresses,
        labels=meta.get("labels") or {},  # the request types freeze a copy
    )


def _port(p: Mapping[str, Any]) -> ServicePort:
    return ServicePort(
        name=str(p.get("name") or ""),
        protocol=str(p.get("protocol") or "TCP"),
        port=int(p.get("port", 0)),
        node_port=int(p.get("nodePort") or 0),
        target_port=p.get("targetPort"),
        app_protocol=p.get("appProtocol"),
    )


def build_request(
    svc: Mapping[str, Any],
    nodes: Sequence[Mapping[str, Any]],
    annotation_values: Mapping[str, Any],
    *,
    cluster_name: str,
    source_ranges_key: str,
    lenient: bool = False,
) -> LoadBalancerRequest:
    """The request for ``svc``. ``lenient`` (delete path) falls back to the default source ranges
    instead of raising, so deletion is never blocked by a value that no longer validates."""
    meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
    try:
        ranges, ranges_set = source_ranges(spec, annotation_values.get(source_ranges_key), source_ranges_key)
    except InvalidServiceError:
        if not lenient:
            raise
        ranges, ranges_set = DEFAULT_SOURCE_RANGES, False
    affinity_timeout = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get("timeoutSeconds")
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ()
    return LoadBalancerRequest(
        cluster_name=cluster_name,
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        uid=str(meta.get("uid", "")),
        ports=tuple(_port(p) for p in spec.get("ports") or ()),
        nodes=tuple(node_from_api(n) for n in nodes),
        source_ranges=ranges,
        source_ranges_set=ranges_set,
        health_check=health_check(spec),
        external_traffic_policy=str(spec.get("externalTrafficPolicy") or "Cluster"),
        session_affinity=str(spec.get("sessionAffinity") or "None"),
        session_affinity_timeout=int(affinity_timeout) if affinity_timeout is not None else None,
        ip_families=tuple(spec.get("ipFamilies") or ("IPv4",)),
        ip_family_policy=spec.get("ipFamilyPolicy"),
        requested_ip=spec.get("loadBalancerIP") or None,
        current_ips=tuple(i["ip"] for i in ingress if i.get("ip")),
        load_balancer_class=spec.get("loadBalancerClass"),
        annotations=annotation_values,
        labels=meta.get("labels") or {},
    )
