"""The node proxy end to end: the embedded API server, the official client, real traffic."""

from __future__ import annotations

import collections
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from ccm.annotations import aws as aws_ann
from ccm.proxy.engine import Backend, ListenerConfig, ThreadedEngine
from ccm.proxy.engine.proxyproto import build_v1, build_v2
from ccm.proxy.nodeproxy import NodeProxy
from tests.proxy import objects
from tests.proxy.helpers import (
    Peers,
    closed_by_peer,
    connect,
    echo,
    free_port,
    read_line,
    refused,
    udp_ask,
    who,
)
from tests.util import wait_for

N1, N2 = "127.0.1.1", "127.0.1.2"


@pytest.fixture
def api() -> Iterator[Any]:
    testing = pytest.importorskip("ccm.apiserver.testing")
    with testing.embedded_apiserver(allow_loopback_endpoints=True) as server:
        client = server.api_client()
        try:
            yield client
        finally:
            client.close()


@pytest.fixture
def shared_engine() -> Iterator[ThreadedEngine]:
    with ThreadedEngine() as e:
        yield e


class Cluster:
    """Create and change objects with the official client."""

    def __init__(self, api_client: Any) -> None:
        import kubernetes.client as k

        # typed Any: the tests pass plain dicts as bodies, which the client accepts
        self.core: Any = k.CoreV1Api(api_client)
        self.discovery: Any = k.DiscoveryV1Api(api_client)

    def node(self, name: str, ip: str, **kw: Any) -> None:
        self.core.create_node(objects.node(name, [ip], **kw))

    def service(self, name: str, ports: list[dict[str, Any]], **kw: Any) -> Any:
        body = objects.service(name, ports, **kw)
        for p in body["spec"]["ports"]:
            if not p["nodePort"]:
                del p["nodePort"]
        if kw.get("hc_port") == 0:
            body["spec"].pop("healthCheckNodePort", None)
        return self.core.create_namespaced_service("default", body)

    def node_ports(self, name: str) -> dict[str, int]:
        svc = self.core.read_namespaced_service(name, "default")
        return {p.name or "": p.node_port for p in svc.spec.ports}

    def slice(self, service: str, endpoints: list[dict[str, Any]], ports: list[tuple[str, int, str]],
              name: str | None = None) -> None:
        body = objects.endpoint_slice(service, endpoints, ports, name=name)
        name = body["metadata"]["name"]
        try:
            old = self.discovery.read_namespaced_endpoint_slice(name, "default")
            body["metadata"]["resourceVersion"] = old.metadata.resource_version
            self.discovery.replace_namespaced_endpoint_slice(name, "default", body)
        except Exception as e:
            if getattr(e, "status", None) != 404:
                raise
            self.discovery.create_namespaced_endpoint_slice("default", body)

    def warnings(self, name: str) -> list[tuple[str, str]]:
        items = self.core.list_namespaced_event("default").items
        return [(e.reason, e.message) for e in items
                if e.involved_object.name == name and e.type == "Warning"]


def start(api: Any, name: str, engine: ThreadedEngine, **kw: Any) -> NodeProxy:
    kw.setdefault("healthz_bind", "127.0.0.1:0")
    proxy = NodeProxy(api, name, engine=engine, **kw)
    proxy.start()
    assert proxy.wait_ready(10)
    return proxy


def listening(engine: ThreadedEngine, ip: str, port: int, protocol: str = "TCP") -> bool:
    return (ip, port, protocol) in engine.listeners()


def one_endpoint_service(api: Any, backends: Peers, name: str, **kw: Any) -> tuple[Cluster, int]:
    """Node n1 and a LoadBalancer Service ``name`` whose one endpoint is backend "a"; its nodePort."""
    c = Cluster(api)
    c.node("n1", N1)
    a = backends.tcp("a")
    c.service(name, [objects.port(0)], type="LoadBalancer", **kw)
    node_port = c.node_ports(name)[""]
    c.slice(name, [objects.endpoint(a[0])], [("", a[1], "TCP")])
    return c, node_port


def http(addr: tuple[str, int], request: bytes = b"GET / HTTP/1.0\r\n\r\n") -> bytes:
    """One request on a fresh connection; the reply up to the server's close."""
    with socket.create_connection(addr, timeout=5) as s:
        s.sendall(request)
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
    return reply


def health_check_answers(addr: tuple[str, int]) -> bool:
    """A health check server answers there (503: these tests give it no local endpoint)."""
    try:
        return http(addr).startswith(b"HTTP/1.0 503")
    except ConnectionRefusedError:
        return False


def test_nodeport_round_robin_and_endpoint_changes(api: Any, shared_engine: ThreadedEngine,
                                                   backends: Peers) -> None:
    c = Cluster(api)
    c.node("n1", N1)
    a, b = backends.tcp("a"), backends.tcp("b")
    ua = backends.udp("ua")
    c.service("web", [objects.port(0, name="http", target="http"),
                      objects.port(0, name="dns", protocol="UDP", port=53, target=53)])
    ports = c.node_ports("web")
    c.slice("web", [objects.endpoint(a[0], "n1"), objects.endpoint("127.0.0.1", "n1")],
            [("http", a[1], "TCP"), ("dns", ua[1], "UDP")], name="web-a")
    c.slice("web", [objects.endpoint("127.0.0.2", "n1")], [("http", b[1], "TCP")], name="web-b")
    # the second endpoint of web-a is the same ip:port as the first (deduplicated)
    proxy = start(api, "n1", shared_engine)
    try:
        # b listens on 127.0.0.1 only: 127.0.0.2:b_port is dead and is skipped on dial
        wait_for(lambda: listening(shared_engine, N1, ports["http"]), message="nodePort listening")
        c.slice("web", [objects.endpoint(b[0], "n1")], [("http", b[1], "TCP")], name="web-b")
        wait_for(lambda: {who((N1, ports["http"])) for _ in range(4)} == {"a", "b"},
                 message="both endpoints served")
        names = [who((N1, ports["http"])) for _ in range(10)]
        assert collections.Counter(names) == {"a": 5, "b": 5}
        assert udp_ask((N1, ports["dns"])) == "ua"
        # hold a connection to a, drop b: a's connection survives, new ones all go to a
        held = connect((N1, ports["http"]))
        while read_line(held) != b"a\n":
            held.close()
            held = connect((N1, ports["http"]))
        c.slice("web", [], [("http", b[1], "TCP")], name="web-b")
        wait_for(lambda: {who((N1, ports["http"])) for _ in range(4)} == {"a"}, message="b removed")
        assert echo(held, b"still") == b"still"
        # removing the UDP port from the Service stops its listener; TCP and its connection stay
        c.core.patch_namespaced_service("web", "default", [{"op": "remove", "path": "/spec/ports/1"}])
        wait_for(lambda: not listening(shared_engine, N1, ports["dns"], "UDP"), message="UDP closed")
        assert echo(held, b"and still") == b"and still"
        held.close()
        assert listening(shared_engine, N1, ports["http"])
    finally:
        proxy.stop()
    assert not listening(shared_engine, N1, ports["http"])


def test_local_policy_health_check_and_terminating_fallback(api: Any, shared_engine: ThreadedEngine,
                                                            backends: Peers) -> None:
    c = Cluster(api)
    c.node("n1", N1)
    c.node("n2", N2)
    a, b = backends.tcp("a"), backends.tcp("b", ip="127.0.0.2")
    c.service("lb", [objects.port(0)], type="LoadBalancer", etp="Local")
    svc = c.core.read_namespaced_service("lb", "default")
    hc_port = svc.spec.health_check_node_port
    assert hc_port, "the API server allocates healthCheckNodePort for ETP=Local LoadBalancers"
    node_port = c.node_ports("lb")[""]
    c.slice("lb", [objects.endpoint(a[0], "n1")], [("", a[1], "TCP")], name="lb-a")
    c.slice("lb", [objects.endpoint(b[0], "n2", ready=False, serving=True, terminating=True)],
            [("", b[1], "TCP")], name="lb-b")
    p1 = start(api, "n1", shared_engine)
    p2 = start(api, "n2", shared_engine)
    try:
        wait_for(lambda: listening(shared_engine, N2, node_port))
        # n1 serves only its local endpoint
        assert {who((N1, node_port)) for _ in range(4)} == {"a"}
        reply = http((N1, hc_port), b"GET /anything HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                b"X-Content-Type-Options: nosniff\r\n"
                                b"X-Load-Balancing-Endpoint-Weight: 1\r\nDate: ")
        body = (b'{\n\t"service": {\n\t\t"namespace": "default",\n\t\t"name": "lb"\n\t},\n'
                b'\t"localEndpoints": 1,\n\t"serviceProxyHealthy": true\n}')
        assert reply.endswith(b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        # n2 has only a terminating endpoint: traffic still goes there, the health check says 503
        wait_for(lambda: who((N2, node_port)) == "b", message="n2 falls back to its terminating endpoint")
        reply = http((N2, hc_port))
        assert reply.startswith(b"HTTP/1.0 503 Service Unavailable\r\n")
        assert b'"localEndpoints": 0' in reply
    finally:
        p1.stop()
        p2.stop()


def test_bind_failure_is_a_warning_event_and_is_retried(api: Any, shared_engine: ThreadedEngine,
                                                        backends: Peers) -> None:
    c = Cluster(api)
    c.node("n1", N1)
    a = backends.tcp("a")
    c.service("web", [objects.port(0)])
    node_port = c.node_ports("web")[""]
    c.slice("web", [objects.endpoint(a[0])], [("", a[1], "TCP")])
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind((N1, node_port))
    blocker.listen()
    proxy = start(api, "n1", shared_engine, retry_interval=0.2)
    try:
        events = wait_for(lambda: c.warnings("web"), message="Warning event on the Service")
        reason, message = events[0]
        assert reason == "FailedToStartNodePort"
        assert message == (f'node n1 failed to start nodePort "default/web" on {N1}:{node_port}/tcp: '
                           f"listen tcp {N1}:{node_port}: bind: address already in use")
        blocker.close()
        wait_for(lambda: listening(shared_engine, N1, node_port), message="retried after the port freed")
        assert who((N1, node_port)) == "a"
    finally:
        blocker.close()
        proxy.stop()


def test_health_check_bind_failure_is_a_warning_event(api: Any, shared_engine: ThreadedEngine) -> None:
    c = Cluster(api)
    c.node("n1", N1)
    c.service("lb", [objects.port(0)], type="LoadBalancer", etp="Local")
    hc_port = c.core.read_namespaced_service("lb", "default").spec.health_check_node_port
    with socket.socket() as blocker:
        blocker.bind((N1, hc_port))
        blocker.listen()
        proxy = start(api, "n1", shared_engine, retry_interval=0.2)
        try:
            events = wait_for(lambda: c.warnings("lb"), message="Warning event on the Service")
            assert events[0][0] == "FailedToStartServiceHealthcheck"
            assert events[0][1] == (f'node n1 failed to start healthcheck "default/lb" on port {hc_port}: '
                                    f"listen tcp {N1}:{hc_port}: bind: address already in use")
        finally:
            blocker.close()
        try:  # retried once the port is free
            wait_for(lambda: health_check_answers((N1, hc_port)), message="health check server after retry")
        finally:
            proxy.stop()


def test_healthz_follows_node_eligibility(api: Any, shared_engine: ThreadedEngine) -> None:
    c = Cluster(api)
    c.node("n1", N1)
    proxy = start(api, "n1", shared_engine)
    try:
        port = proxy.healthz_port
        assert port

        def healthz() -> bytes:
            return http(("127.0.0.1", port), b"GET /healthz HTTP/1.0\r\n\r\n")

        assert healthz().startswith(b"HTTP/1.0 200 OK")
        c.core.patch_node("n1", {"spec": {"taints": [{"key": "ToBeDeletedByClusterAutoscaler",
                                                       "effect": "NoSchedule"}]}})
        wait_for(lambda: healthz().startswith(b"HTTP/1.0 503"), message="healthz 503 for a node being scaled down")
        assert healthz().endswith(b'"nodeEligible": false}')
    finally:
        proxy.stop()


@pytest.mark.parametrize("version", [1, 2])
def test_proxy_protocol_affinity_and_source_ranges(api: Any, shared_engine: ThreadedEngine,
                                                   backends: Peers, version: int) -> None:
    c = Cluster(api)
    c.node("n1", N1)
    names = "abc"
    addrs = [backends.tcp(n) for n in names]
    c.service("pp", [objects.port(0)], type="LoadBalancer", affinity=300, ranges=["10.1.0.0/16"],
              annotations={aws_ann.PROXY_PROTOCOL.key: "*"})
    node_port = c.node_ports("pp")[""]
    for n, addr in zip(names, addrs, strict=True):
        c.slice("pp", [objects.endpoint(addr[0])], [("", addr[1], "TCP")], name=f"pp-{n}")
    build = build_v1 if version == 1 else build_v2
    proxy = start(api, "n1", shared_engine, proxy_protocol_trusted_cidrs=["127.0.0.1/32"])
    try:
        wait_for(lambda: listening(shared_engine, N1, node_port))
        header_of = {ip: build((ip, 1234), (N1, node_port)) for ip in ("10.1.0.1", "10.1.0.2", "10.1.0.3")}
        wait_for(lambda: len({who((N1, node_port), preamble=h) for h in header_of.values()}) == 3,
                 message="three carried clients spread over three backends")
        first = {ip: who((N1, node_port), preamble=h) for ip, h in header_of.items()}
        for _ in range(2):
            assert {ip: who((N1, node_port), preamble=h) for ip, h in header_of.items()} == first
        with connect((N1, node_port)) as s:
            s.sendall(build(("10.2.0.1", 1), (N1, node_port)))
            assert closed_by_peer(s)
        with connect((N1, node_port)) as s:  # no header at all: refused too
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert closed_by_peer(s)
    finally:
        proxy.stop()


@pytest.mark.parametrize("version", [1, 2])
def test_forged_proxy_header_cannot_pass_source_ranges(api: Any, shared_engine: ThreadedEngine,
                                                       backends: Peers, version: int) -> None:
    """Issue 8 hole 3: a client at 127.0.0.5 claiming the allowed 127.0.0.1 in its own header was
    served 20/20. Only the trusted load balancer's headers are believed now."""
    lb_ip, attacker = "127.0.0.3", "127.0.0.5"
    _, node_port = one_endpoint_service(api, backends, "pp", ranges=["127.0.0.1/32"],
                                        annotations={aws_ann.PROXY_PROTOCOL.key: "*"})
    proxy = start(api, "n1", shared_engine, proxy_protocol_trusted_cidrs=[f"{lb_ip}/32"])
    lb_port = free_port(lb_ip)
    # the load balancer: a listener on its own address sending PROXY headers to the nodePort
    shared_engine.listen(lb_ip, lb_port, ListenerConfig("TCP", (Backend(N1, node_port),),
                                                        send_proxy_protocol=version))
    try:
        wait_for(lambda: listening(shared_engine, N1, node_port))
        forged = (build_v1 if version == 1 else build_v2)(("127.0.0.1", 40000), (N1, node_port))
        assert [refused((N1, node_port), attacker, forged) for _ in range(20)] == [True] * 20
        # the allowed client through the trusted balancer is served
        assert wait_for(lambda: who((lb_ip, lb_port), source="127.0.0.1")) == "a"
        assert refused((lb_ip, lb_port), "127.0.0.6")  # a real client outside the ranges
        assert shared_engine.stats()["untrusted_proxy"] == 20
    finally:
        shared_engine.close_listener(lb_ip, lb_port, "TCP")
        proxy.stop()


def test_node_settings_reach_every_listener(api: Any, shared_engine: ThreadedEngine, backends: Peers) -> None:
    _, node_port = one_endpoint_service(api, backends, "web")
    with pytest.raises(ValueError, match="--proxy-protocol-trusted-cidrs: 'nope' is not a CIDR"):
        NodeProxy(api, "n1", engine=shared_engine, proxy_protocol_trusted_cidrs=["10.0.0.0/8", "nope"])
    proxy = start(api, "n1", shared_engine, proxy_protocol_trusted_cidrs=["10.0.0.0/8"],
                  untrusted_proxy_protocol="use-peer", max_connections_per_listener=7)
    try:
        config = wait_for(lambda: shared_engine.config_of(N1, node_port, "TCP"))
        assert (config.proxy_protocol_trusted, config.untrusted_proxy_protocol, config.max_connections) == \
            (("10.0.0.0/8",), "use-peer", 7)
    finally:
        proxy.stop()


def test_invalid_annotation_warns_and_keeps_listeners(api: Any, shared_engine: ThreadedEngine,
                                                      backends: Peers) -> None:
    c, node_port = one_endpoint_service(api, backends, "web")
    proxy = start(api, "n1", shared_engine)
    try:
        wait_for(lambda: listening(shared_engine, N1, node_port))
        c.core.patch_namespaced_service("web", "default", {"metadata": {"annotations": {
            aws_ann.PROXY_PROTOCOL.key: "true"}}})
        events = wait_for(lambda: c.warnings("web"), message="Warning for the bad annotation")
        assert events[0][0] == "InvalidServiceConfiguration" and aws_ann.PROXY_PROTOCOL.key in events[0][1]
        assert who((N1, node_port)) == "a"  # still served with the previous configuration
        c.core.delete_namespaced_service("web", "default")
        wait_for(lambda: not listening(shared_engine, N1, node_port), message="listener closed with its Service")
    finally:
        proxy.stop()


def test_source_ranges_on_node_ports_admit_the_services_load_balancer(api: Any, shared_engine: ThreadedEngine,
                                                                      backends: Peers) -> None:
    """Direct clients outside the ranges are refused; the Service's own LB (its VIP) is let in."""
    from ccm.proxy.engine import Backend, ListenerConfig
    from tests.proxy.helpers import free_port

    c = Cluster(api)
    c.node("n1", N1)
    a = backends.tcp("a")
    vip = "127.0.2.5"
    c.service("lb", [objects.port(0)], type="LoadBalancer", ranges=["10.0.0.0/8"])
    c.core.patch_namespaced_service_status("lb", "default", {"status": {"loadBalancer": {"ingress": [
        {"ip": vip, "ipMode": "Proxy"}]}}})
    node_port = c.node_ports("lb")[""]
    c.slice("lb", [objects.endpoint(a[0])], [("", a[1], "TCP")])
    proxy = start(api, "n1", shared_engine)
    try:
        wait_for(lambda: listening(shared_engine, N1, node_port))

        def lb_allowed() -> bool:
            cfg = shared_engine.config_of(N1, node_port, "TCP")
            return cfg is not None and f"{vip}/32" in cfg.source_ranges

        wait_for(lb_allowed, message="the LB ingress IP joins the allowed ranges")
        with connect((N1, node_port), source="127.0.0.3") as s:
            assert closed_by_peer(s)
        # a load balancer on the VIP (as the local provider runs it) forwards to the nodePort
        lb_port = free_port(vip)
        shared_engine.listen(vip, lb_port, ListenerConfig("TCP", (Backend(N1, node_port),)))
        try:
            assert who((vip, lb_port)) == "a"
        finally:
            shared_engine.close_listener(vip, lb_port, "TCP")
    finally:
        proxy.stop()


def test_an_endpoint_change_replans_only_its_service(api: Any, shared_engine: ThreadedEngine,
                                                     backends: Peers) -> None:
    c = Cluster(api)
    c.node("n1", N1)
    c.node("n2", N2)
    a, b = backends.tcp("a"), backends.tcp("b")
    for i in range(4):
        c.service(f"s{i}", [objects.port(0)])
        c.slice(f"s{i}", [objects.endpoint(a[0])], [("", a[1], "TCP")])
    node_port = c.node_ports("s2")[""]
    proxy = start(api, "n1", shared_engine)
    try:
        wait_for(lambda: listening(shared_engine, N1, node_port))
        before = proxy.services_planned
        c.slice("s2", [objects.endpoint(b[0])], [("", b[1], "TCP")])
        wait_for(lambda: who((N1, node_port)) == "b", message="s2 moved to b")
        assert proxy.services_planned - before == 1
        assert proxy.nodes.store.keys() == ["n1"]  # other Nodes are neither cached nor watched
    finally:
        proxy.stop()


def test_health_check_follows_the_node_address(api: Any, shared_engine: ThreadedEngine) -> None:
    c = Cluster(api)
    c.node("n1", N1)
    c.service("lb", [objects.port(0)], type="LoadBalancer", etp="Local")
    hc_port = c.core.read_namespaced_service("lb", "default").spec.health_check_node_port

    def answers(ip: str) -> bool:
        return health_check_answers((ip, hc_port))

    proxy = start(api, "n1", shared_engine)
    try:
        wait_for(lambda: answers(N1), message="health check on the first address")
        c.core.patch_node_status("n1", {"status": {"addresses": [{"type": "InternalIP", "address": N2}]}})
        wait_for(lambda: answers(N2) and not answers(N1), message="health check moved to the new address")
    finally:
        proxy.stop()


def test_stop_with_a_probe_connected_leaves_no_pending_task(api: Any, shared_engine: ThreadedEngine) -> None:
    import asyncio

    c = Cluster(api)
    c.node("n1", N1)
    proxy = start(api, "n1", shared_engine)
    port = proxy.healthz_port
    assert port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as probe:
        probe.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        assert probe.recv(4096).startswith(b"HTTP/1.1 200 OK")
        proxy.stop()
        assert probe.recv(4096) == b""
    loop = shared_engine.loop
    assert shared_engine.call(lambda: [t for t in asyncio.all_tasks(loop) if "_handle" in repr(t.get_coro())]) == []
