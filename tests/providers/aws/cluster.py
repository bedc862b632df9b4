"""The in-process controller against the embedded API server, with the AWS provider against moto."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import kubernetes.client

from tests.providers.aws.conftest import make_cloud
from tests.providers.aws.harness import CLUSTER, AwsWorld, MotoServer
from tests.providers.aws.state import AwsState
from tests.providers.servicecluster import ServiceCluster

#: labels of the world's nodes, in instance order (for target-node-labels)
NODE_ROLES = ("edge", "core", "core")


class Cluster(ServiceCluster):
    """Nodes for the world's instances, Services through the official client, AWS state for asserts."""

    def __init__(self, api_client: kubernetes.client.ApiClient, moto: MotoServer, world: AwsWorld) -> None:
        super().__init__(api_client)
        self.moto = moto
        self.world = world
        self.aws = AwsState(moto)

    def add_node(self, instance: str, labels: Mapping[str, str] | None = None) -> None:
        self.register_node(f"node-{instance}", self.world.provider_id(instance), "10.0.0.10", labels)

    def start(self, workers: int = 2, **options: str) -> Any:
        return self.run_controller(make_cloud(self.moto, **options), CLUSTER, workers)


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
