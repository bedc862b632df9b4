"""Load-balancer requests for adapter tests, as the controller would build them."""

from __future__ import annotations

import dataclasses
from typing import Any

from providers.port import HealthCheck, LoadBalancerRequest, Node, ServicePort
from tests.providers.gcp.conftest import CLUSTER, NODES, provider_id


def nodes(*which: tuple[str, str]) -> tuple[Node, ...]:
    return tuple(Node(name, provider_id(zone, name)) for zone, name in (which or NODES))


def request(name: str = "web", uid: str = "0b9e5c1a-1111-2222-3333-444455556666", *,
            ports: tuple[tuple[str, int], ...] = (("TCP", 80), ("TCP", 443)), **fields: Any) -> LoadBalancerRequest:
    fields.setdefault("nodes", nodes())
    return LoadBalancerRequest(
        cluster_name=CLUSTER, namespace="default", name=name, uid=uid,
        ports=tuple(ServicePort(f"p{port}{proto.lower()}", proto, port, 30000 + port % 1000) for proto, port in ports),
        **fields)


def local(req: LoadBalancerRequest, port: int = 32100) -> LoadBalancerRequest:
    return dataclasses.replace(req, external_traffic_policy="Local", health_check=HealthCheck("/healthz", port))
