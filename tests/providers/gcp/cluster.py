"""The in-process controller against the embedded API server, with the GCP provider against the GCE emulator."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import kubernetes.client

from emulators.gce import GceEmulator
from providers.adapter.naming import default_load_balancer_name
from tests.providers.gcp.conftest import CLUSTER, NODES, make_cloud, provider_id
from tests.providers.gcp.state import GceState
from tests.providers.servicecluster import ServiceCluster


class Cluster(ServiceCluster):
    """Nodes for the emulator's VMs, Services through the official client, GCE state for asserts."""

    def __init__(self, api_client: kubernetes.client.ApiClient, emu: GceEmulator) -> None:
        super().__init__(api_client)
        self.emu = emu
        self.gce = GceState(emu)

    def add_node(self, zone: str, name: str) -> None:
        self.register_node(name, provider_id(zone, name), "10.128.0.99")

    def remove_node(self, name: str) -> None:
        self.core.delete_node(name)

    def start(self, workers: int = 2) -> Any:
        return self.run_controller(make_cloud(self.emu), CLUSTER, workers)

    def lb(self, name: str) -> str:
        return default_load_balancer_name(self.get(name).metadata.uid)


@contextmanager
def running_cluster(api_client: kubernetes.client.ApiClient, emu: GceEmulator) -> Iterator[Cluster]:
    cluster = Cluster(api_client, emu)
    for zone, name in NODES:
        cluster.add_node(zone, name)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
