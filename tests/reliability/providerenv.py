"""One cloud, one embedded API server, and the controller instances the provider harnesses start and kill.

Shared by the crash-point sweep, throttling, the bad-input corpus and the orphan sweep
(tests/reliability/test_providers.py with small sizes, bench/reliability_sections/providers.py
with the full ones). A controller instance is what one ``ccm controller`` process holds: its own
API client, informers, queues and provider object; :meth:`Instance.kill` drops all of it.

Convergence is asked of the provider itself: the Service has an ingress and the provider's
``plan_live`` for the request the controller would build (same builder, annotations and eligible
Nodes) is empty, i.e. the next ensure would send nothing.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import kubernetes.client

from ccm.annotations import registry
from ccm.apiserver.testing import EmbeddedAPIServer, embedded_apiserver
from ccm.controllers.manager import ControllerManager, ControllerOptions
from ccm.controllers.service.predicates import eligible_nodes
from ccm.controllers.service.request import build_request
from ccm.kube.client import ApiError, RawClient
from ccm.kube.resources import NODES, SERVICES
from providers.port import CloudProvider
from tests.reliability.clouds import fixture
from tests.reliability.clouds.base import CloudFixture

NAMESPACE = "default"
PORTS = ({"name": "http", "port": 8080, "protocol": "TCP", "targetPort": 8080},
         {"name": "https", "port": 8443, "protocol": "TCP", "targetPort": 8443})


class Instance:
    """One controller "process": a manager with its own API client and provider object."""

    def __init__(self, env: Env, cluster: str | None = None, **options: Any) -> None:
        self.cloud = env.cloud.make_cloud(cluster)
        self.api_client = env.server.api_client()
        self.manager = ControllerManager(self.api_client, self.cloud, ControllerOptions(
            cluster_name=cluster or env.cloud.cluster, **options))
        self.manager.start()
        if not self.manager.wait_ready(20):
            self.kill()
            raise AssertionError(f"the controller did not start: {self.manager.ready()}")

    def kill(self) -> None:
        """Everything the process held goes: threads joined, provider closed (listeners too)."""
        try:
            self.manager.stop()
        finally:
            self.cloud.close()
            self.api_client.close()


class Env:
    def __init__(self, cloud: CloudFixture, server: EmbeddedAPIServer) -> None:
        self.cloud = cloud
        self.server = server
        self.api = server.api_client()
        self.raw = RawClient(self.api)
        self.core = kubernetes.client.CoreV1Api(self.api)
        self.probe: CloudProvider | None = None if cloud.plan_with_controller_cloud else cloud.make_probe()
        for n in cloud.nodes():
            self.raw.create(NODES.collection_path(), n)

    def reset_cloud(self) -> None:
        """An empty cloud again (after a run that left something), and the Nodes it backs."""
        self.cloud.reset()
        for n in self.raw.list(NODES.collection_path())["items"]:
            self.raw.delete(NODES.item_path(None, n["metadata"]["name"]))
        for n in self.cloud.nodes():
            self.raw.create(NODES.collection_path(), n)

    def close(self) -> None:
        if self.probe is not None:
            self.probe.close()
        self.api.close()

    def start(self, cluster: str | None = None, **options: Any) -> Instance:
        return Instance(self, cluster, **options)

    def reader(self, instance: Instance | None) -> CloudProvider:
        """The provider the harness reads the cloud with (plans, inventory)."""
        if self.probe is not None:
            return self.probe
        assert instance is not None, "the local cloud is read through the running controller"
        return instance.cloud

    # ---- Services ---------------------------------------------------------------------------
    def service_path(self, name: str) -> str:
        return SERVICES.item_path(NAMESPACE, name)

    def create_service(self, name: str, annotations: Mapping[str, str] | None = None,
                       ports: tuple[Mapping[str, Any], ...] = PORTS) -> dict[str, Any]:
        return self.raw.create(SERVICES.collection_path(NAMESPACE), {
            "metadata": {"name": name, "annotations": dict(annotations or {})},
            "spec": {"type": "LoadBalancer", "selector": {"app": name}, "ports": [dict(p) for p in ports]}})

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            return self.raw.get(self.service_path(name))
        except ApiError as exc:
            if exc.is_not_found:
                return None
            raise

    def gone(self, name: str) -> bool:
        return self.get(name) is None

    def events(self, name: str) -> list[dict[str, Any]]:
        return list(self.raw.list(f"/api/v1/namespaces/{NAMESPACE}/events",
                                  {"fieldSelector": f"involvedObject.name={name}"})["items"])

    # ---- convergence ----------------------------------------------------------------------------
    def converged(self, name: str, instance: Instance | None) -> bool:
        """The Service has an ingress and the provider would send nothing for it now."""
        svc = self.get(name)
        if svc is None or not ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
            return False
        reader = self.reader(instance)
        planner = reader.planner()
        assert planner is not None, f"{self.cloud.name}: the harness needs the planning capability"
        parsed = registry.parse(reader.annotation_provider, (svc["metadata"].get("annotations") or {}))
        nodes = eligible_nodes(self.raw.list(NODES.collection_path())["items"])
        request = build_request(svc, nodes, parsed.values, cluster_name=self.cloud.cluster)
        try:
            return planner.plan_live(request) == ()
        except Exception:
            return False  # a read the fault plan failed: not known yet

    def owned(self, instance: Instance | None) -> list[str]:
        """What the provider's inventory lists (the harness's own provider, outside the fault plan)."""
        inventory = self.reader(instance).inventory()
        assert inventory is not None, f"{self.cloud.name}: the harness needs the inventory capability"
        return [f"{r.resource} ({r.service or 'cluster'})" for r in inventory.list_owned()]


def poll(condition: Callable[[], bool], timeout: float, step: Callable[[], None] | None = None) -> bool:
    """Poll ``condition`` until true or ``timeout``; ``step`` runs before each check (a restart)."""
    deadline = time.monotonic() + timeout
    while True:
        if step is not None:
            step()
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)  # polling interval, not synchronisation


@contextlib.contextmanager
def started(name: str) -> Iterator[CloudFixture]:
    """The cloud ``name``, started (its server running) until the block ends."""
    cloud = fixture(name)
    cloud.start()
    try:
        yield cloud
    finally:
        cloud.stop()


@contextlib.contextmanager
def env_for(cloud: CloudFixture) -> Iterator[Env]:
    """A reset cloud and a fresh API server holding its Nodes."""
    cloud.reset()
    with embedded_apiserver() as server:
        env = Env(cloud, server)
        try:
            yield env
        finally:
            env.close()
