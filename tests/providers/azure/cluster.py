"""The in-process controller against the embedded API server, with the Azure provider against the ARM emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import kubernetes.client

from ccm.controllers.manager import ControllerManager, ControllerOptions
from emulators.azure import VirtualMachine
from tests.providers.azure.harness import CLUSTER, AzureWorld, make_cloud
from tests.util import wait_for

DEFAULT_PORTS = ({"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},
                 {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443})


class Cluster:
    """Nodes for the world's VMs, Services through the official client, Azure state for asserts."""

    def __init__(self, api_client: kubernetes.client.ApiClient, world: AzureWorld) -> None:
        self.core = kubernetes.client.CoreV1Api(api_client)
        self.api_client = api_client
        self.world = world
        self.cloud: Any = None
        self.manager: ControllerManager | None = None

    def add_node(self, vm: VirtualMachine) -> None:
        self.core.create_node({  # type: ignore[arg-type]
            "metadata": {"name": vm.name},
            "spec": {"providerID": vm.provider_id},
            "status": {"addresses": [{"type": "InternalIP", "address": vm.private_ip}],
                       "conditions": [{"type": "Ready", "status": "True"}]}})

    def start(self, workers: int = 2, **options: str) -> Any:
        self.cloud = make_cloud(self.world.arm, **options)
        self.manager = ControllerManager(self.api_client, self.cloud, ControllerOptions(
            cluster_name=CLUSTER, concurrent_service_syncs=workers))
        self.manager.start()
        return self.cloud

    def stop(self) -> None:
        if self.manager is not None:
            self.manager.stop()
            self.manager = None
        if self.cloud is not None:
            self.cloud.close()
            self.cloud = None

    def service(self, name: str, annotations: Mapping[str, str] | None = None,
                ports: tuple[Mapping[str, Any], ...] = DEFAULT_PORTS, **spec: Any) -> Any:
        return self.core.create_namespaced_service("default", {  # type: ignore[arg-type]
            "metadata": {"name": name, "annotations": dict(annotations or {})},
            "spec": {"type": "LoadBalancer", "selector": {"app": name}, "ports": [dict(p) for p in ports], **spec}})

    def patch(self, name: str, body: Mapping[str, Any]) -> Any:
        return self.core.patch_namespaced_service(name, "default", dict(body))

    def delete(self, name: str) -> None:
        self.core.delete_namespaced_service(name, "default")

    def get(self, name: str) -> Any:
        return self.core.read_namespaced_service(name, "default")

    def uid(self, name: str) -> str:
        return str(self.get(name).metadata.uid)

    def gone(self, name: str) -> bool:
        try:
            self.get(name)
        except kubernetes.client.ApiException as exc:
            return exc.status == 404
        return False

    def ip(self, name: str) -> str | None:
        lb = self.get(name).status.load_balancer
        return lb.ingress[0].ip if lb and lb.ingress else None

    def events(self, name: str) -> list[str]:
        items = self.core.list_namespaced_event("default", field_selector=f"involvedObject.name={name}").items
        return [f"{e.type} {e.reason} {e.message}" for e in items]

    def wait_ip(self, name: str, timeout: float = 20.0) -> str:
        return str(wait_for(lambda: self.ip(name), timeout,
                            message=lambda: f"{name} to get an IP; events: {self.events(name)}"))

    def wait_event(self, name: str, text: str, timeout: float = 20.0) -> list[str]:
        return wait_for(lambda: [e for e in self.events(name) if text in e], timeout,
                        message=lambda: f"event {text!r} on {name}: {self.events(name)}")

    def wait(self, check: Callable[[], Any], what: str, timeout: float = 20.0, service: str | None = None) -> Any:
        def ok() -> bool:
            value = check()  # an assertion inside, or a truthy answer
            return True if value is None else bool(value)

        return wait_for(ok, timeout, message=lambda: what + (f"; events: {self.events(service)}" if service else ""))


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
