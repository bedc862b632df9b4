"""Fixtures for end-to-end controller tests: the embedded API (official client) + the fake cloud."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import kubernetes.client
import pytest

from ccm.controllers.manager import ControllerManager, ControllerOptions
from providers.fake import FakeCloud
from tests.util import wait_for


class Kube:
    """Thin helpers over the official client (CoreV1Api) for arranging and inspecting objects."""

    def __init__(self, api_client: kubernetes.client.ApiClient) -> None:
        self.core = kubernetes.client.CoreV1Api(api_client)

    def node(self, name: str, labels: dict[str, str] | None = None, provider_id: str | None = None,
             taints: list[dict[str, Any]] | None = None) -> Any:
        body: dict[str, Any] = {"metadata": {"name": name, "labels": labels or {}}, "spec": {},
                                "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}}
        if provider_id:
            body["spec"]["providerID"] = provider_id
        if taints:
            body["spec"]["taints"] = taints
        return self.core.create_node(body)  # type: ignore[arg-type]  # the client accepts dicts

    def service(self, name: str, namespace: str = "default", annotations: dict[str, str] | None = None,
                port: int = 80, **spec: Any) -> Any:
        body: dict[str, Any] = {"metadata": {"name": name, "annotations": annotations or {}},
                "spec": {"type": "LoadBalancer", "selector": {"app": name},
                         "ports": [{"name": "http", "port": port, "protocol": "TCP", "targetPort": 8080}]}}
        body["spec"].update(spec)
        return self.core.create_namespaced_service(namespace, body)  # type: ignore[arg-type]

    def get(self, name: str, namespace: str = "default") -> Any:
        return self.core.read_namespaced_service(name, namespace)

    def patch(self, name: str, body: Any, namespace: str = "default") -> Any:
        return self.core.patch_namespaced_service(name, namespace, body)

    def delete(self, name: str, namespace: str = "default") -> None:
        self.core.delete_namespaced_service(name, namespace)

    def exists(self, name: str, namespace: str = "default") -> bool:
        try:
            self.get(name, namespace)
            return True
        except kubernetes.client.ApiException as exc:
            if exc.status == 404:
                return False
            raise

    def ingress_ip(self, name: str, namespace: str = "default") -> str | None:
        lb = self.get(name, namespace).status.load_balancer
        return lb.ingress[0].ip if lb and lb.ingress else None

    def events(self, name: str, namespace: str = "default") -> list[str]:
        """"<Type> <Reason> <Message>" for the Service's events, oldest first."""
        items = self.core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={name}").items
        items.sort(key=lambda e: (e.first_timestamp or e.event_time or "", e.metadata.name))
        return [f"{e.type} {e.reason} {e.message}" for e in items]

    def wait_event(self, name: str, text: str, timeout: float = 10.0) -> list[str]:
        def found() -> list[str] | None:
            evs = self.events(name)
            return evs if any(text in e for e in evs) else None

        result = wait_for(found, timeout, message=lambda: f"event {text!r} on {name}: {self.events(name)}")
        assert result is not None
        return result

    def wait_ip(self, name: str, timeout: float = 10.0) -> str:
        ip = wait_for(lambda: self.ingress_ip(name), timeout, message=f"{name} to get an ingress ip")
        assert ip is not None
        return ip


@pytest.fixture
def kube(api_client) -> Kube:
    return Kube(api_client)


@pytest.fixture
def cloud() -> FakeCloud:
    return FakeCloud()


Start = Callable[..., ControllerManager]


@pytest.fixture
def start_manager(apiserver) -> Iterator[Start]:
    """start_manager(cloud, **ControllerOptions fields) -> a ready ControllerManager, stopped at teardown."""
    managers: list[tuple[ControllerManager, Any]] = []

    def start(cloud: FakeCloud, wait: bool = True, **options: Any) -> ControllerManager:
        client = apiserver.api_client()
        mgr = ControllerManager(client, cloud, ControllerOptions(**options))
        managers.append((mgr, client))
        mgr.start()
        if wait:
            assert mgr.wait_ready(10), mgr.ready()
        return mgr

    yield start
    for mgr, client in managers:
        with contextlib.suppress(Exception):
            mgr.stop()
        client.close()
