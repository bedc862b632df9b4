"""The in-process controller against the embedded API server, with the OpenStack provider against its emulator."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import kubernetes.client

from providers.openstack.names import load_balancer_name
from tests.providers.openstack.conftest import CLUSTER, make_cloud
from tests.providers.servicecluster import ServiceCluster


class OpenStackCluster(ServiceCluster):
    """The shared controller harness with Nodes for the emulator's servers and Octavia state for asserts."""

    def __init__(self, api_client: kubernetes.client.ApiClient, emu: Any) -> None:
        super().__init__(api_client)
        self.emu = emu

    def add_node(self, instance: str, labels: Mapping[str, str] | None = None) -> None:  # instance: server name
        sid = next(s for s, row in self.emu.cloud.compute.servers.items() if row["name"] == instance)
        address = self.emu.cloud.compute.server_view(sid, self.emu.cloud.network, (2, 1))["addresses"]["k8s-net"][0]
        self.register_node(instance, f"openstack:///{sid}", address["addr"], labels)

    def start(self, workers: int = 4, **options: str) -> Any:
        return self.run_controller(make_cloud(self.emu, **options), CLUSTER, workers)

    def octavia(self, kind: str, name: str) -> list[dict[str, Any]]:
        """The objects of ``kind`` under the Service's load balancer."""
        oc = self.emu.octavia
        lbs = [lb for lb in oc.objects["loadbalancers"].values()
               if lb["name"] == load_balancer_name(CLUSTER, f"default/{name}")]
        if kind == "loadbalancers":
            return [oc.view(kind, lb) for lb in lbs]
        ids = {lb["id"] for lb in lbs}
        return [oc.view(kind, r) for r in oc.objects[kind].values() if r["_lb"] in ids]


@contextmanager
def running_cluster(api_client: kubernetes.client.ApiClient, emu: Any, **options: str) -> Iterator[OpenStackCluster]:
    """The controller with Nodes for ``node-1`` (role edge) and ``node-2`` (role core)."""
    cluster = OpenStackCluster(api_client, emu)
    for name, role in (("node-1", "edge"), ("node-2", "core")):
        cluster.add_node(name, {"role": role})
    cluster.start(**options)
    try:
        yield cluster
    finally:
        cluster.stop()
