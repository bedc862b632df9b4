"""The in-process controller against the embedded API server, with the Azure provider against the ARM emulator."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import kubernetes.client

from emulators.azure import VirtualMachine
from tests.providers.azure.harness import CLUSTER, AzureWorld, make_cloud
from tests.providers.servicecluster import ServiceCluster


class Cluster(ServiceCluster):
    """Nodes for the world's VMs, Services through the official client, Azure state for asserts."""

    def __init__(self, api_client: kubernetes.client.ApiClient, world: AzureWorld) -> None:
        super().__init__(api_client)
        self.world = world

    def add_node(self, vm: VirtualMachine) -> None:
        self.register_node(vm.name, vm.provider_id, vm.private_ip)

    def start(self, workers: int = 2, **options: str) -> Any:
        return self.run_controller(make_cloud(self.world.arm, **options), CLUSTER, workers)


@contextmanager
def running_cluster(api_client: kubernetes.client.ApiClient, world: AzureWorld, workers: int = 2,
                    **options: str) -> Iterator[Cluster]:
    cluster = Cluster(api_client, world)
    for vm in world.vms:
        cluster.add_node(vm)
    cluster.start(workers, **options)
    try:
        yield cluster
    finally:
        cluster.stop()
