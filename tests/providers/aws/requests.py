"""Building LoadBalancerRequests the way the controller does: raw annotations through the registry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ccm.annotations.registry import parse
from providers.port import HealthCheck, LoadBalancerRequest, Node, ServicePort
from tests.providers.aws.harness import CLUSTER, AwsWorld

UID = "1234abcd-0000-4000-8000-00000000beef"


def nodes_of(world: AwsWorld, labels: Mapping[str, Mapping[str, str]] | None = None) -> tuple[Node, ...]:
    return tuple(Node(name=f"node-{i}", provider_id=world.provider_id(inst), labels=(labels or {}).get(inst, {}))
                 for i, inst in enumerate(world.instances))


def request(world: AwsWorld, annotations: Mapping[str, str] | None = None, *, ports: tuple[ServicePort, ...] = (
        ServicePort("http", "TCP", 80, 30080), ServicePort("https", "TCP", 443, 30443)),
        uid: str = UID, name: str = "web", **kw: Any) -> LoadBalancerRequest:
    """``annotations`` maps declared keys (``ccm.annotations.aws.X.key``) to raw strings, parsed as the
    controller parses them."""
    parsed = parse("aws", dict(annotations or {}))
    assert not parsed.errors, parsed.errors
    kw.setdefault("nodes", nodes_of(world))
    return LoadBalancerRequest(cluster_name=CLUSTER, namespace="default", name=name, uid=uid, ports=ports,
                               annotations=parsed.values, **kw)


def local(req: LoadBalancerRequest, hcnp: int = 32000) -> LoadBalancerRequest:
    import dataclasses

    return dataclasses.replace(req, external_traffic_policy="Local", health_check=HealthCheck("/healthz", hcnp))
