"""The in-process controller against the embedded API server, with the Azure provider against the ARM emulator."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import kubernetes.client

from emulators.azure import VirtualMachine
from tests.providers.azure.harness import CLUSTER, AzureWorld, make_cloud
from tests.providers.servicecluster import ServiceCluster
from tests.util import wait_for


class Cluster(ServiceCluster):
    """Nodes for the world's VMs, Services through the official client, Azure state for asserts."""

    def __init__(self, api_client: kubernetes.client.ApiClient, world: AzureWorld) -> None:
        super().__init__(api_client)
        self.world = world

    def add_node(self, vm: VirtualMachine) -> None:
        self.core.create_node({  # type: ignore[arg-type]
            "metadata": {"name": vm.name},
            "spec": {"providerID": vm.provider_id},
            "status": {"addresses": [{"type": "InternalIP", "address": vm.private_ip}],
                       "conditions": [{"type": "Ready", "status": "True"}]}})

    def start(self, workers: int = 2, **options: str) -> Any:
        return self.run_controller(make_cloud(self.world.arm, **options), CLUSTER, workers)

    def uid(self, name: str) -> str:
        return str(self.get(name).metadata.uid)

    def ip(self, name: str) -> str | None:
        lb = self.get(name).status.load_balancer
        return lb.ingress[0].ip if lb and lb.ingress else None

    def wait_ip(self, name: str, timeout: float = 20.0) -> str:
        return str(wait_for(lambda: self.ip(name), timeout,
                            message=lambda: f"{name} to get an IP; events: {self.events(name)}"))


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
