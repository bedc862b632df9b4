"""A whole cluster in one process: API server, nodes with node proxies, controller, backends.

The address layout keeps every part on its own loopback address so nothing needs
privileges or collides with the host: node ``i`` at ``<prefix>.1.i`` (its node proxy
serves node ports and ``/healthz`` there), VIPs from ``<prefix>.2.0/24``, backend ``i``
at ``<prefix>.3.i``. ``ccm demo`` drives it; the end-to-end tests build the same thing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
import os
import platform
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import kubernetes.client
import yaml

from ccm.demo.backends import Backend, BackendSpec
from ccm.kube.client import ApiError, RawClient
from ccm.kube.resources import ENDPOINTSLICES, NODES, SERVICES
from ccm.proxy.engine import ThreadedEngine
from providers.port import CloudProvider, ProviderContext
from providers.registry import create_provider

#: the kubelet version demo nodes report (the embedded API server's version)
DEMO_KUBELET_VERSION = "v1.36.0"

if TYPE_CHECKING:  # imported when used, so `ccm demo --help` stays quick
    from ccm.apiserver.testing import EmbeddedAPIServer
    from ccm.controllers.manager import ControllerManager
    from ccm.proxy.nodeproxy import NodeProxy

log = logging.getLogger(__name__)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
Progress = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where each part listens; ``prefix`` is the first two octets of a 127.x.y.z address."""

    prefix: str = "127.0"
    node_health_port: int = 10256

    def node_ip(self, i: int) -> str:
        return f"{self.prefix}.1.{i}"

    def backend_ip(self, i: int) -> str:
        return f"{self.prefix}.3.{i}"

    @property
    def vip_pool(self) -> str:
        return f"{self.prefix}.2.0/24"

    def check(self) -> None:
        parts = self.prefix.split(".")
        if len(parts) != 2 or parts[0] != "127" or not parts[1].isdigit() or not 0 <= int(parts[1]) <= 255:
            raise ValueError(f"address prefix {self.prefix!r} must be 127.N (loopback, N in 0-255)")


def node_object(name: str, ip: str, provider_id: str | None = None,
                ready_message: str = "node proxy running in ccm demo") -> dict[str, Any]:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}},
        "spec": {"providerID": provider_id or f"local://{name}"},
        "status": {
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": ready_message, "lastHeartbeatTime": now,
                            "lastTransitionTime": now}],
            # what a kubelet reports, so `kubectl get nodes` shows a VERSION and describe a system
            "nodeInfo": node_info(name),
            "capacity": {"cpu": str(os.cpu_count() or 1), "memory": "8Gi", "pods": "110"},
            "allocatable": {"cpu": str(os.cpu_count() or 1), "memory": "8Gi", "pods": "110"},
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        },
    }


def node_info(name: str) -> dict[str, str]:
    """status.nodeInfo for a demo node: this machine's kernel and architecture, the API's version."""
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    ident = str(uuid.uuid5(uuid.NAMESPACE_DNS, name))
    return {"machineID": ident.replace("-", ""), "systemUUID": ident, "bootID": str(uuid.uuid4()),
            "kernelVersion": platform.release(), "osImage": "ccm demo node", "containerRuntimeVersion": "ccm://demo",
            "kubeletVersion": DEMO_KUBELET_VERSION, "kubeProxyVersion": "", "operatingSystem": "linux",
            "architecture": arch}


def endpoint_slice(service: Mapping[str, Any], backends: Sequence[BackendSpec],
                   ready: Mapping[str, bool] | None = None) -> dict[str, Any]:
    """One IPv4 slice for ``service`` with every backend on every service port (by name)."""
    meta = service["metadata"]
    ready = ready or {}
    ports = [{"name": p.get("name", ""), "protocol": p.get("protocol", "TCP"), "port": backends[0].port}
             for p in service["spec"]["ports"]] if backends else []
    return {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": f"{meta['name']}-demo", "namespace": meta.get("namespace", "default"),
                     "labels": {SERVICE_NAME_LABEL: meta["name"],
                                "endpointslice.kubernetes.io/managed-by": "ccm-demo"}},
        "addressType": "IPv4",
        "endpoints": [{
            "addresses": [b.ip], "nodeName": b.node, "targetRef": {"kind": "Pod", "name": b.name,
                                                                  "namespace": meta.get("namespace", "default")},
            "conditions": {"ready": ready.get(b.name, True), "serving": ready.get(b.name, True),
                           "terminating": False},
        } for b in backends],
        "ports": ports,
    }


def load_example(name: str) -> dict[str, Any]:
    path = EXAMPLES / name
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"example manifest {path} is missing (run from a source checkout)") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected one YAML object")
    return data


class StartError(RuntimeError):
    """A part could not bind its address; the message names the part, the address and a way out."""

    def __init__(self, what: str, address: str, error: OSError) -> None:
        if error.errno == errno.EADDRNOTAVAIL:
            hint = ("this system does not route all of 127.0.0.0/8 to loopback (macOS: add aliases with "
                    "`sudo ifconfig lo0 alias <address> up`)")
        elif error.errno == errno.EADDRINUSE:
            hint = ("another ccm demo running? Pick other addresses with --prefix 127.N "
                    "(or --port-base / --node-health-port)")
        else:
            hint = "try other addresses with --prefix 127.N or --port-base"
        super().__init__(f"{what} cannot listen on {address}: {error.strerror or error}\n  {hint}")


class LocalCluster:
    """Starts parts in dependency order and stops everything it started, in reverse."""

    def __init__(self, workdir: Path, layout: Layout | None = None, *, cluster_name: str = "ccm-demo",
                 health_interval: float = 1.0, progress: Progress | None = None) -> None:
        self.workdir = workdir
        self.layout = layout or Layout()
        self.layout.check()
        self.cluster_name = cluster_name
        self.health_interval = health_interval
        self.progress: Progress = progress or (lambda msg: log.info("%s", msg))
        self.kubeconfig = workdir / "kubeconfig"
        self.state_file = workdir / "local-cloud-state.json"
        self._stack = contextlib.ExitStack()
        self.apiserver: EmbeddedAPIServer | None = None
        self.api_client: kubernetes.client.ApiClient | None = None
        self.client: RawClient | None = None
        self.proxies: dict[str, NodeProxy] = {}
        self.node_engine: ThreadedEngine | None = None
        #: node address -> node name, for backends to say which node forwarded a request
        self.node_ips: dict[str, str] = {}
        self.backends: list[Backend] = []
        self.cloud: CloudProvider | None = None
        self.manager: ControllerManager | None = None

    # -- parts ---------------------------------------------------------------------------

    @property
    def raw(self) -> RawClient:
        if self.client is None:
            raise RuntimeError("the API server is not started")
        return self.client

    def start_apiserver(self) -> None:
        from ccm.apiserver.testing import embedded_apiserver

        self.progress("starting the embedded Kubernetes API server")
        self.apiserver = self._stack.enter_context(embedded_apiserver(allow_loopback_endpoints=True))
        self.api_client = self.new_api_client()
        self.client = RawClient(self.api_client)
        self.apiserver.write_kubeconfig(str(self.kubeconfig))
        self.progress(f"API server up at {self.apiserver.url}")

    def new_api_client(self) -> kubernetes.client.ApiClient:
        """One official client per component, as separate processes would have.

        Its pool must hold a connection per informer watch plus the requests: 32, not the default.
        """
        if self.apiserver is None:
            raise RuntimeError("the API server is not started")
        template = self.apiserver.api_client()
        config = template.configuration
        template.close()
        config.connection_pool_maxsize = 32
        client = kubernetes.client.ApiClient(config)
        self._stack.callback(client.close)
        return client

    def _node_engine(self) -> ThreadedEngine:
        """One forwarding engine (one loop thread) shared by every node proxy; each owns its listeners."""
        if self.node_engine is None:
            engine = ThreadedEngine()
            engine.start()
            self._stack.callback(engine.stop)  # after every proxy registered later has stopped
            self.node_engine = engine
        return self.node_engine

    def add_node(self, i: int) -> str:
        """Register node-i (Ready, InternalIP on its loopback address) and start its node proxy."""
        from ccm.proxy.nodeproxy import NodeProxy
        from providers.local.options import proxy_protocol_sources

        name, ip = f"node-{i}", self.layout.node_ip(i)
        self.node_ips[ip] = name
        # with its status in one write, as a kubelet registers: a Node first seen without
        # addresses would reach the load balancer without them (node sync ignores address changes)
        self.raw.create(NODES.collection_path(), node_object(name, ip))
        healthz = f"{ip}:{self.layout.node_health_port}"
        # PROXY headers are believed from the local load balancers only (they dial from their VIPs)
        proxy = NodeProxy(self.new_api_client(), name, healthz_bind=healthz, engine=self._node_engine(),
                          proxy_protocol_trusted_cidrs=proxy_protocol_sources(self.layout.vip_pool))
        self._stack.callback(proxy.stop)
        try:
            proxy.start()
        except OSError as e:
            raise StartError(f"{name}: its node proxy's /healthz", healthz, e) from e
        self.proxies[name] = proxy
        if not proxy.wait_ready(30):
            raise RuntimeError(f"{name}: node proxy not synced after 30 s")
        self.progress(f"{name} registered at {ip}; its node proxy serves node ports and "
                      f"/healthz on {ip}:{self.layout.node_health_port}")
        return name

    def start_controller(self, cloud: CloudProvider | None = None, detail: str = "") -> None:
        """Run the service controller with ``cloud`` (which it then owns), by default the local cloud."""
        from ccm.controllers.manager import ControllerManager, ControllerOptions

        if cloud is None:
            cloud = create_provider("local", ProviderContext(self.cluster_name, {
                "vip-pool": self.layout.vip_pool, "state-file": str(self.state_file),
                "node-health-port": str(self.layout.node_health_port),
                "health-interval": str(self.health_interval),
            }))
            detail = f"VIP pool {self.layout.vip_pool}"
        self.cloud = cloud
        try:
            self.manager = ControllerManager(self.new_api_client(), self.cloud,
                                             ControllerOptions(cluster_name=self.cluster_name))
            self.manager.start()
        except BaseException:
            self.cloud.close()
            raise
        self.progress(f"service controller started (cloud provider {cloud.name}, {detail})")
        if not self.manager.wait_ready(30):
            raise RuntimeError(f"service controller not ready after 30 s: {self.manager.ready()[1]}")

    def stop_controller(self) -> None:
        """Stop the controller and close the cloud (listeners go; VIP allocations stay on disk)."""
        if self.manager is not None:
            self.manager.stop()
            self.manager = None
        if self.cloud is not None:
            self.cloud.close()
            self.cloud = None

    def start_backends(self, count: int, port: int, nodes: Sequence[str]) -> list[BackendSpec]:
        specs = [BackendSpec(f"backend-{i}", nodes[(i - 1) % len(nodes)], self.layout.backend_ip(i), port)
                 for i in range(1, count + 1)]
        for spec in specs:
            try:
                backend = Backend(spec, self.node_ips).start()
            except OSError as e:
                raise StartError(spec.name, f"{spec.ip}:{spec.port}", e) from e
            self._stack.callback(backend.stop)
            self.backends.append(backend)
            self.progress(f"{spec.name} serving on {spec.ip}:{spec.port} (pod on {spec.node})")
        return specs

    # -- objects -------------------------------------------------------------------------

    def create_service(self, service: Mapping[str, Any]) -> dict[str, Any]:
        ns = service["metadata"].get("namespace", "default")
        return self.raw.create(SERVICES.collection_path(ns), service)

    def put_endpoints(self, service: Mapping[str, Any], backends: Sequence[BackendSpec],
                      ready: Mapping[str, bool] | None = None) -> dict[str, Any]:
        body = endpoint_slice(service, backends, ready)
        ns, name = body["metadata"]["namespace"], body["metadata"]["name"]
        try:
            current = self.raw.get(ENDPOINTSLICES.item_path(ns, name))
        except ApiError as e:
            if not e.is_not_found:
                raise
            return self.raw.create(ENDPOINTSLICES.collection_path(ns), body)
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        return self.raw.update(ENDPOINTSLICES.item_path(ns, name), body)

    def service(self, namespace: str, name: str) -> dict[str, Any]:
        return self.raw.get(SERVICES.item_path(namespace, name))

    def wait_for_ingress(self, namespace: str, name: str, timeout: float = 30.0, field: str = "ip") -> str:
        """The first ingress entry's ``field`` (``ip``, or ``hostname`` for clouds that give DNS names)."""
        deadline = time.monotonic() + timeout
        while True:
            ingress = self.service(namespace, name).get("status", {}).get("loadBalancer", {}).get("ingress")
            if ingress and ingress[0].get(field):
                return str(ingress[0][field])
            if time.monotonic() > deadline:
                raise TimeoutError(f"{namespace}/{name}: no load-balancer ingress after {timeout:.0f} s")
            time.sleep(0.05)

    def delete_service(self, namespace: str, name: str, timeout: float = 30.0) -> bool:
        """Delete and wait until it is gone: the controller's finalizer holds it until the load balancer is.

        False when it was already gone.
        """
        try:
            self.raw.delete(SERVICES.item_path(namespace, name))
        except ApiError as e:
            if not e.is_not_found:
                raise
            return False
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.service(namespace, name)
            except ApiError as e:
                if e.is_not_found:
                    return True
                raise
            if time.monotonic() > deadline:
                raise TimeoutError(f"{namespace}/{name}: still present {timeout:.0f} s after deletion "
                                   "(its load balancer was not removed)")
            time.sleep(0.05)

    # -- lifecycle -----------------------------------------------------------------------

    def stop(self) -> None:
        """Idempotent; stops the controller first so no listener outlives its node proxies."""
        try:
            self.stop_controller()
        finally:
            self._stack.close()

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

