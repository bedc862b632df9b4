"""What kind of Service an object is: the predicates allocation and validation share."""

from __future__ import annotations

from typing import Any

from ccm.apiserver.strategies.base import Obj, dig, str_field

TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
PROTOCOLS = ["SCTP", "TCP", "UDP"]
SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges"


def service_type(obj: Obj) -> str:
    return str_field(obj, "spec", "type") or "ClusterIP"


def needs_cluster_ip(obj: Obj) -> bool:
    return service_type(obj) != "ExternalName"


def needs_node_port(obj: Obj) -> bool:
    return service_type(obj) in ("NodePort", "LoadBalancer")


def should_allocate_node_ports(obj: Obj) -> bool:
    if service_type(obj) == "NodePort":
        return True
    return service_type(obj) == "LoadBalancer" and dig(obj, "spec", "allocateLoadBalancerNodePorts") is not False


def needs_hc_node_port(obj: Obj) -> bool:
    return service_type(obj) == "LoadBalancer" and dig(obj, "spec", "externalTrafficPolicy") == "Local"


def externally_accessible(obj: Obj) -> bool:
    return service_type(obj) in ("LoadBalancer", "NodePort") or (
        service_type(obj) == "ClusterIP" and bool(dig(obj, "spec", "externalIPs")))


def ports_of(obj: Obj) -> list[dict[str, Any]]:
    ports = dig(obj, "spec", "ports")
    return [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else []


def node_ports_of(obj: Obj) -> set[int]:
    return {p["nodePort"] for p in ports_of(obj) if isinstance(p.get("nodePort"), int) and p["nodePort"]}
