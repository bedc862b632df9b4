"""What every cloud's controller tests share: the in-process controller against the embedded API server,
Services through the official client, events, and waiting on conditions (never a bare sleep)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import kubernetes.client

from ccm.controllers.manager import ControllerManager, ControllerOptions
from tests.util import wait_for

DEFAULT_PORTS = ({"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},
                 {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443})


class ServiceCluster:
    """The controller with one cloud provider, and Services in namespace ``default``."""

    def __init__(self, api_client: kubernetes.client.ApiClient) -> None:
        self.core = kubernetes.client.CoreV1Api(api_client)
        self.api_client = api_client
        self.cloud: Any = None
        self.manager: ControllerManager | None = None

    def run_controller(self, cloud: Any, cluster_name: str, workers: int) -> Any:
        self.cloud = cloud
        self.manager = ControllerManager(self.api_client, cloud, ControllerOptions(
            cluster_name=cluster_name, concurrent_service_syncs=workers))
        self.manager.start()
        return cloud

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

    def gone(self, name: str) -> bool:
        try:
            self.get(name)
        except kubernetes.client.ApiException as exc:
            return exc.status == 404
        return False

    def events(self, name: str) -> list[str]:
        items = self.core.list_namespaced_event("default", field_selector=f"involvedObject.name={name}").items
        return [f"{e.type} {e.reason} {e.message}" for e in items]

    def wait_event(self, name: str, text: str, timeout: float = 15.0) -> list[str]:
        return wait_for(lambda: [e for e in self.events(name) if text in e], timeout,
                        message=lambda: f"event {text!r} on {name}: {self.events(name)}")

    def wait(self, check: Callable[[], Any], what: str, timeout: float = 15.0, service: str | None = None) -> Any:
        """Poll ``check`` until it passes: assertions inside count as "not yet", and so does a falsy answer
        (a check that returns nothing passes once it stops raising)."""
        def ok() -> bool:
            value = check()
            return True if value is None else bool(value)

        return wait_for(ok, timeout, message=lambda: what + (f"; events: {self.events(service)}" if service else ""))
