"""Builders of the API objects the node proxy reads (plain dicts, as informers cache them)."""

from __future__ import annotations

from typing import Any


def service(name: str, ports: list[dict[str, Any]], *, namespace: str = "default", type: str = "NodePort",
            etp: str = "Cluster", affinity: int | None = None, hc_port: int | None = None,
            ranges: list[str] | None = None, annotations: dict[str, str] | None = None,
            ingress: list[str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": type, "ports": ports, "selector": {"app": name},
                            "externalTrafficPolicy": etp}
    if affinity is not None:
        spec["sessionAffinity"] = "ClientIP"
        spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": affinity}}
    if hc_port:
        spec["healthCheckNodePort"] = hc_port
    if ranges:
        spec["loadBalancerSourceRanges"] = ranges
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Service",
                           "metadata": {"name": name, "namespace": namespace,
                                        "annotations": annotations or {}},
                           "spec": spec}
    if ingress:
        obj["status"] = {"loadBalancer": {"ingress": [{"ip": ip} for ip in ingress]}}
    return obj


def port(node_port: int, *, name: str = "", protocol: str = "TCP", port: int = 80,
         target: int | str = 8080) -> dict[str, Any]:
    return {"name": name, "protocol": protocol, "port": port, "targetPort": target, "nodePort": node_port}


def endpoint(ip: str, node: str | None = None, *, ready: bool = True, serving: bool | None = None,
             terminating: bool = False) -> dict[str, Any]:
    cond: dict[str, Any] = {"ready": ready, "terminating": terminating}
    cond["serving"] = ready if serving is None else serving
    out: dict[str, Any] = {"addresses": [ip], "conditions": cond}
    if node:
        out["nodeName"] = node
    return out


def endpoint_slice(service_name: str, endpoints: list[dict[str, Any]], ports: list[tuple[str, int, str]],
                   *, name: str | None = None, namespace: str = "default") -> dict[str, Any]:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name or f"{service_name}-abc", "namespace": namespace,
                         "labels": {"kubernetes.io/service-name": service_name}},
            "addressType": "IPv4", "endpoints": endpoints,
            "ports": [{"name": n, "port": p, "protocol": proto} for n, p, proto in ports]}


def node(name: str, ips: list[str], *, external: list[str] | None = None, taints: list[str] | None = None,
         deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        meta["finalizers"] = ["example.com/hold"]
    addresses = [{"type": "InternalIP", "address": ip} for ip in ips]
    addresses += [{"type": "ExternalIP", "address": ip} for ip in external or ()]
    addresses.append({"type": "Hostname", "address": name})
    return {"apiVersion": "v1", "kind": "Node", "metadata": meta,
            "spec": {"taints": [{"key": t, "effect": "NoSchedule"} for t in taints or ()]},
            "status": {"addresses": addresses}}
