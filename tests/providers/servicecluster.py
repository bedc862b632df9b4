"""What every cloud's controller tests share (AWS, GCP, Azure, OpenStack): the in-process controller against the
embedded API server, Nodes and Services through the official client, their events, and waiting on
conditions (never a bare sleep). Each cloud's ``cluster.py`` adds its provider, nodes and state."""

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

    def run_controller(self, cloud: Any, cluster_name: str, workers: int = 2) -> Any:
        """Start the in-process controller with ``cloud`` (closed again by :meth:`stop`)."""
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

    # -- arrange --------------------------------------------------------------------------------
    def register_node(self, name: str, provider_id: str, address: str,
                      labels: Mapping[str, str] | None = None) -> None:
        """A Ready Node for one of the cloud's machines."""
        self.core.create_node({  # type: ignore[arg-type]
            "metadata": {"name": name, "labels": dict(labels or {})},
            "spec": {"providerID": provider_id},
            "status": {"addresses": [{"type": "InternalIP", "address": address}],
                       "conditions": [{"type": "Ready", "status": "True"}]}})

    def service(self, name: str, annotations: Mapping[str, str] | None = None,
                ports: tuple[Mapping[str, Any], ...] = DEFAULT_PORTS, **spec: Any) -> Any:
        return self.core.create_namespaced_service("default", {  # type: ignore[arg-type]
            "metadata": {"name": name, "annotations": dict(annotations or {})},
            "spec": {"type": "LoadBalancer", "selector": {"app": name}, "ports": [dict(p) for p in ports], **spec}})

    def patch(self, name: str, body: Mapping[str, Any]) -> Any:
        return self.core.patch_namespaced_service(name, "default", dict(body))

    def replace_spec(self, name: str, spec: Mapping[str, Any]) -> Any:
        """Replace spec fields (lists included, which a strategic merge patch would merge)."""
        svc = self.api_client.sanitize_for_serialization(self.get(name))
        svc["spec"].update(spec)
        return self.core.replace_namespaced_service(name, "default", svc)

    def set_annotations(self, name: str, annotations: Mapping[str, str | None]) -> Any:
        return self.patch(name, {"metadata": {"annotations": dict(annotations)}})

    def delete(self, name: str) -> None:
        self.core.delete_namespaced_service(name, "default")

    # -- observe --------------------------------------------------------------------------------
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

    def node_ports(self, name: str) -> dict[int, int]:
        return {p.port: p.node_port for p in self.get(name).spec.ports}

    def ingress(self, name: str, field: str = "ip") -> str | None:
        """The first ``status.loadBalancer.ingress`` entry's ``ip`` or ``hostname``, None before there is one."""
        lb = self.get(name).status.load_balancer
        return getattr(lb.ingress[0], field) if lb and lb.ingress else None

    def ip(self, name: str) -> str | None:
        return self.ingress(name, "ip")

    def hostname(self, name: str) -> str | None:
        return self.ingress(name, "hostname")

    def wait_ingress(self, name: str, field: str = "ip", timeout: float = 20.0) -> str:
        return str(wait_for(lambda: self.ingress(name, field), timeout,
                            message=lambda: f"{name} to get an ingress {field}; events: {self.events(name)}"))

    def wait_ip(self, name: str, timeout: float = 20.0) -> str:
        return self.wait_ingress(name, "ip", timeout)

    def wait_hostname(self, name: str, timeout: float = 20.0) -> str:
        return self.wait_ingress(name, "hostname", timeout)

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
