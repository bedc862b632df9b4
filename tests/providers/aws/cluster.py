"""The in-process controller against the embedded API server, with the AWS provider against moto."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import kubernetes.client

from tests.providers.aws.conftest import make_cloud
from tests.providers.aws.harness import CLUSTER, AwsWorld, MotoServer
from tests.providers.aws.state import AwsState
from tests.providers.servicecluster import DEFAULT_PORTS, ServiceCluster
from tests.util import wait_for

#: labels of the world's nodes, in instance order (for target-node-labels)
NODE_ROLES = ("edge", "core", "core")
__all__ = ["DEFAULT_PORTS", "NODE_ROLES", "Cluster", "running_cluster"]


class Cluster(ServiceCluster):
    """Nodes for the world's instances, Services through the official client, AWS state for asserts."""

    def __init__(self, api_client: kubernetes.client.ApiClient, moto: MotoServer, world: AwsWorld) -> None:
        super().__init__(api_client)
        self.moto = moto
        self.world = world
        self.aws = AwsState(moto)

    # -- arrange --------------------------------------------------------------------------------
    def add_node(self, instance: str, labels: Mapping[str, str] | None = None) -> None:
        self.core.create_node({  # type: ignore[arg-type]
            "metadata": {"name": f"node-{instance}", "labels": dict(labels or {})},
            "spec": {"providerID": self.world.provider_id(instance)},
            "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.10"}],
                       "conditions": [{"type": "Ready", "status": "True"}]}})

    def start(self, workers: int = 2, **options: str) -> Any:
        return self.run_controller(make_cloud(self.moto, **options), CLUSTER, workers)

    def replace_spec(self, name: str, spec: Mapping[str, Any]) -> Any:
        """Replace spec fields (lists included, which a strategic merge patch would merge)."""
        svc = self.api_client.sanitize_for_serialization(self.get(name))
        svc["spec"].update(spec)
        return self.core.replace_namespaced_service(name, "default", svc)

    def set_annotations(self, name: str, annotations: Mapping[str, str | None]) -> Any:
        return self.patch(name, {"metadata": {"annotations": dict(annotations)}})

    # -- observe --------------------------------------------------------------------------------
    def hostname(self, name: str) -> str | None:
        lb = self.get(name).status.load_balancer
        return lb.ingress[0].hostname if lb and lb.ingress else None

    def wait_hostname(self, name: str, timeout: float = 15.0) -> str:
        return str(wait_for(lambda: self.hostname(name), timeout,
                            message=lambda: f"{name} to get a hostname; events: {self.events(name)}"))

    def node_ports(self, name: str) -> dict[int, int]:
        return {p.port: p.node_port for p in self.get(name).spec.ports}


@contextmanager
def running_cluster(api_client: kubernetes.client.ApiClient, moto: MotoServer, world: AwsWorld) -> Iterator[Cluster]:
    cluster = Cluster(api_client, moto, world)
    for inst, role in zip(world.instances, NODE_ROLES, strict=False):
        cluster.add_node(inst, {"role": role})
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
