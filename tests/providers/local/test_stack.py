"""End to end on loopback: client -> local LB VIP -> node proxy (nodePort) -> backend.

Everything runs in-process and for real: the embedded API server (loopback endpoints
allowed), three nodes each with a node proxy on its own address, the service controller
with the local cloud, and HTTP/UDP backends registered in EndpointSlices. Kubernetes is
read through the official client.
"""

from __future__ import annotations

import functools
import json
import random
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes.client
import pytest

from ccm.annotations.aws import PROXY_PROTOCOL
from ccm.demo.backends import BackendSpec
from ccm.demo.cluster import Layout, LocalCluster
from providers.local.cloud import LocalCloud
from tests.providers.local.wire import http_reply, refused, udp_reply
from tests.util import wait_for

PORT = 8080


class Stack:
    def __init__(self, tmp: Path) -> None:
        self.layout = Layout(prefix=f"127.{random.randint(100, 250)}", node_health_port=random.randint(20000, 29999))
        self.cluster = LocalCluster(tmp, self.layout, cluster_name="e2e", health_interval=0.1)
        self.backend_port = random.randint(40000, 49999)
        self.cluster.start_apiserver()
        self.nodes = [self.cluster.add_node(i) for i in (1, 2, 3)]
        self.specs = self.cluster.start_backends(3, self.backend_port, self.nodes)
        self.cluster.start_controller()
        self.core = kubernetes.client.CoreV1Api(self.cluster.api_client)

    @property
    def cloud(self) -> LocalCloud:
        assert isinstance(self.cluster.cloud, LocalCloud)
        return self.cluster.cloud

    def create(self, name: str, *, backends: list[BackendSpec] | None = None,
               annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default", "annotations": annotations or {}},
            "spec": {"type": "LoadBalancer", "ports": [
                {"name": "http", "protocol": "TCP", "port": PORT, "targetPort": self.backend_port},
                {"name": "echo", "protocol": "UDP", "port": PORT, "targetPort": self.backend_port},
            ], **spec},
        }
        svc = self.cluster.create_service(body)
        self.cluster.put_endpoints(svc, self.specs if backends is None else backends)
        return svc

    def vip(self, name: str) -> str:
        return self.cluster.wait_for_ingress("default", name, timeout=20)

    def lb_nodes(self, vip: str, protocol: str = "TCP") -> set[str]:
        """Node IPs the load balancer forwards to now (the engine's listener config)."""
        config = self.cloud.lb.engine.config_of(vip, PORT, protocol)
        return {b.ip for b in config.backends} if config else set()

    def stop(self) -> None:
        self.cluster.stop()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    s = Stack(tmp_path)
    try:
        yield s
    finally:
        s.stop()


REPLY = re.compile(r"hello from (backend-\d) on (node-\d) \(.*?\), forwarded by (node-\d|an unknown peer)")


def http_get(vip: str, source: str | None = None) -> tuple[str, ...]:
    """(backend, its node, the node that forwarded) named by one reply through the load balancer."""
    return http_reply(vip, PORT, REPLY, source)


def udp_ask(vip: str) -> tuple[str, ...]:
    return udp_reply(vip, PORT, REPLY)


def backends_seen(vip: str, n: int = 12, source: str | None = None) -> set[str]:
    return {http_get(vip, source)[0] for _ in range(n)}


def read_ingress(stack: Stack, name: str) -> list[Any]:
    svc: Any = stack.core.read_namespaced_service(name, "default")
    return list(svc.status.load_balancer.ingress or [])


def events_for(stack: Stack, name: str) -> list[kubernetes.client.CoreV1Event]:
    events = stack.core.list_namespaced_event("default", field_selector=f"involvedObject.name={name}")
    return list(events.items)


def test_tcp_and_udp_round_robin_across_backends_with_proxy_ip_mode(stack: Stack) -> None:
    stack.create("web")
    vip = stack.vip("web")
    assert vip.startswith(f"{stack.layout.prefix}.2.")
    everyone = {"backend-1", "backend-2", "backend-3"}
    wait_for(lambda: backends_seen(vip) == everyone, timeout=15, message="TCP replies from all backends")
    wait_for(lambda: {http_get(vip)[2] for _ in range(12)} == {"node-1", "node-2", "node-3"}, timeout=15,
             message="the load balancer spreading connections over all nodes")
    wait_for(lambda: {udp_ask(vip)[0] for _ in range(15)} == everyone, timeout=15,
             message="UDP replies from all backends")
    (ingress,) = read_ingress(stack, "web")
    assert (ingress.ip, ingress.ip_mode) == (vip, "Proxy")
    assert sorted((p.port, p.protocol, p.error) for p in ingress.ports) == [(PORT, "TCP", None), (PORT, "UDP", None)]


def test_sctp_port_gets_a_port_error_and_a_warning_while_tcp_serves(stack: Stack) -> None:
    svc = stack.create("mixed")
    stack.cluster.raw.patch("/api/v1/namespaces/default/services/mixed", {"spec": {"ports": [
        *svc["spec"]["ports"],
        {"name": "sig", "protocol": "SCTP", "port": 9999, "targetPort": 9999},
    ]}}, "merge")
    vip = stack.vip("mixed")
    wait_for(lambda: http_get(vip), timeout=15)

    def port_errors() -> list[tuple[int, str, str | None]]:
        ingress = read_ingress(stack, "mixed")
        return sorted((p.port, p.protocol, p.error) for p in ingress[0].ports or ()) if ingress else []

    wait_for(lambda: (9999, "SCTP", "UnsupportedProtocol") in port_errors(), timeout=15,
             message=lambda: f"SCTP port error in status, have {port_errors()}")
    assert port_errors() == [(PORT, "TCP", None), (PORT, "UDP", None), (9999, "SCTP", "UnsupportedProtocol")]
    warning = wait_for(lambda: [e for e in events_for(stack, "mixed") if e.reason == "UnsupportedProtocol"],
                       timeout=15)
    assert warning[0].type == "Warning" and "forwards TCP and UDP only" in str(warning[0].message)


def test_local_policy_sends_only_to_nodes_with_ready_endpoints(stack: Stack) -> None:
    stack.create("local", backends=stack.specs[:2], externalTrafficPolicy="Local")
    vip = stack.vip("local")
    ips = [stack.layout.node_ip(i) for i in (1, 2, 3)]
    wait_for(lambda: stack.lb_nodes(vip) == {ips[0], ips[1]}, timeout=15,
             message=lambda: f"LB backends {stack.lb_nodes(vip)} == node-1, node-2")
    replies = {http_get(vip) for _ in range(12)}
    assert replies == {("backend-1", "node-1", "node-1"), ("backend-2", "node-2", "node-2")}
    svc = stack.cluster.service("default", "local")
    stack.cluster.put_endpoints(svc, stack.specs[:2], ready={"backend-2": False})
    wait_for(lambda: stack.lb_nodes(vip) == {ips[0]}, timeout=15, message="node-2 leaving after its endpoint")
    assert {http_get(vip) for _ in range(6)} == {("backend-1", "node-1", "node-1")}


def test_node_with_failing_proxy_health_is_skipped(stack: Stack) -> None:
    stack.create("web")
    vip = stack.vip("web")
    wait_for(lambda: len(stack.lb_nodes(vip)) == 3, timeout=15)
    stack.cluster.proxies["node-3"].stop()  # its /healthz stops answering, as does its node port
    wait_for(lambda: stack.layout.node_ip(3) not in stack.lb_nodes(vip), timeout=15,
             message="node-3 leaving the LB after failing its /healthz")
    # node-3 was a live path to every backend before: now no request may fail or go through it
    replies = [http_get(vip) for _ in range(12)]
    assert {r[0] for r in replies} == {"backend-1", "backend-2", "backend-3"}
    assert {r[2] for r in replies} == {"node-1", "node-2"}


def test_node_sync_adds_and_removes_nodes(stack: Stack) -> None:
    stack.create("web")
    vip = stack.vip("web")
    wait_for(lambda: len(stack.lb_nodes(vip)) == 3, timeout=15)
    stack.cluster.add_node(4)
    wait_for(lambda: stack.layout.node_ip(4) in stack.lb_nodes(vip), timeout=15,
             message="node-4 joining the load balancer through node sync and its health check")
    wait_for(lambda: "node-4" in {http_get(vip)[2] for _ in range(12)}, timeout=15)
    stack.core.delete_node("node-1")
    wait_for(lambda: stack.layout.node_ip(1) not in stack.lb_nodes(vip), timeout=15,
             message="deleted node-1 leaving the load balancer")


def test_client_ip_affinity_pins_each_client(stack: Stack) -> None:
    stack.create("sticky", sessionAffinity="ClientIP")
    vip = stack.vip("sticky")
    wait_for(lambda: len(stack.lb_nodes(vip)) == 3, timeout=15)
    for i in (201, 202, 203):
        client = f"{stack.layout.prefix}.9.{i}"
        assert len({http_get(vip, client) for _ in range(6)}) == 1, client


def test_source_ranges_refuse_clients_outside(stack: Stack) -> None:
    allowed = f"{stack.layout.prefix}.9.10"
    stack.create("ranged", loadBalancerSourceRanges=[f"{allowed}/32"])
    vip = stack.vip("ranged")
    # the node proxies let the LB's VIP through once they see it in the Service status
    wait_for(lambda: http_get(vip, allowed), timeout=15, message="the allowed client being served")
    assert refused(vip, PORT, f"{stack.layout.prefix}.9.11")


def test_proxy_protocol_to_nodes_carries_the_client(stack: Stack) -> None:
    client = f"{stack.layout.prefix}.9.20"
    stack.create("pp", annotations={PROXY_PROTOCOL.key: "*"}, loadBalancerSourceRanges=[f"{client}/32"])
    vip = stack.vip("pp")
    wait_for(lambda: (c := stack.cloud.lb.engine.config_of(vip, PORT, "TCP")) and c.send_proxy_protocol == 2,
             timeout=15, message="the LB sending PROXY v2")
    # the node proxies strip the header (else the backend would answer 400) and check the
    # client it carries against the ranges, not the LB's own address
    wait_for(lambda: http_get(vip, client), timeout=15, message="HTTP through PROXY protocol")


def test_load_balancer_ip_honoured_and_conflict_is_a_warning_event(stack: Stack) -> None:
    want = f"{stack.layout.prefix}.2.77"
    stack.create("pinned", loadBalancerIP=want)
    assert stack.vip("pinned") == want
    stack.create("thief", loadBalancerIP=want)
    outside = "127.0.0.99"
    stack.create("outsider", loadBalancerIP=outside)

    def warning(name: str, reason: str) -> str:
        for e in events_for(stack, name):
            if e.type == "Warning" and e.reason == reason:
                return str(e.message)
        return ""

    msg = wait_for(lambda: warning("thief", "LoadBalancerIPInUse"), timeout=15)
    assert f"{want} is already held by Service default/pinned" in msg
    msg = wait_for(lambda: warning("outsider", "InvalidLoadBalancerIP"), timeout=15)
    assert f"outside the local VIP pool {stack.layout.vip_pool}" in msg
    assert read_ingress(stack, "thief") == []


def test_delete_closes_listeners_and_frees_the_vip(stack: Stack) -> None:
    stack.create("gone")
    vip = stack.vip("gone")
    wait_for(lambda: http_get(vip), timeout=15)
    stack.core.delete_namespaced_service("gone", "default")

    def freed() -> bool:
        state = json.loads(stack.cluster.state_file.read_text())
        return vip not in state["allocations"] and (vip, PORT, "TCP") not in stack.cloud.lb.engine.listeners()

    wait_for(freed, timeout=15, message="VIP released and listeners closed")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((vip, PORT), timeout=2).close()
    stack.create("next")
    assert stack.vip("next") == vip, "the freed VIP is handed out again"


def test_controller_restart_readopts_vips(stack: Stack) -> None:
    stack.create("first")
    stack.create("second")
    vips = {n: stack.vip(n) for n in ("first", "second")}
    stack.cluster.stop_controller()
    with pytest.raises(OSError):
        http_get(vips["first"])
    stack.cluster.start_controller()
    for name, vip in vips.items():
        wait_for(functools.partial(http_get, vip), timeout=20, message=f"{name} answering again at {vip}")
        assert stack.vip(name) == vip
