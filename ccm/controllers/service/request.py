"""Build the provider's LoadBalancerRequest from a Service dict, eligible Node dicts and parsed annotations.

Pure: no API or cloud calls. Source ranges come from the one resolver beside the annotation's
declaration (``ccm.annotations.common.resolve_source_ranges``, upstream
``GetLoadBalancerSourceRanges``): the spec field wins over the legacy annotation; unset means
``0.0.0.0/0``; an invalid entry is an error with upstream's message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ccm.annotations.common import (
    DEFAULT_SOURCE_RANGES,
    LOAD_BALANCER_SOURCE_RANGES,
    InvalidSourceRanges,
    resolve_source_ranges,
)
from providers.port import HealthCheck, LoadBalancerRequest, Node, NodeAddress, ServicePort

HEALTH_CHECK_PATH = "/healthz"


class InvalidServiceError(ValueError):
    """The Service cannot be turned into a request; ``reason`` is the Warning event reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def source_ranges(svc: Mapping[str, Any]) -> tuple[tuple[str, ...], bool]:
    """(ranges, explicitly set) of a Service; raises InvalidServiceError with upstream's message."""
    spec = svc.get("spec") or {}
    annotations = (svc.get("metadata") or {}).get("annotations") or {}
    try:
        resolved = resolve_source_ranges(spec.get("loadBalancerSourceRanges"),
                                         annotations.get(LOAD_BALANCER_SOURCE_RANGES.key))
    except InvalidSourceRanges as exc:
        raise InvalidServiceError(exc.reason, str(exc)) from exc
    return resolved.cidrs, resolved.explicit


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
    lenient: bool = False,
) -> LoadBalancerRequest:
    """The request for ``svc``. ``lenient`` (delete path) falls back to the default source ranges
    instead of raising, so deletion is never blocked by a value that no longer validates."""
    meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
    try:
        ranges, ranges_set = source_ranges(svc)
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
