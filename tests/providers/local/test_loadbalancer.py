"""The local provider with the real forwarding engine: real traffic VIP -> node port.

Nodes are stand-ins (a server on each node's address at the node port, plus a health
server); the full stack with the controller and node proxies is in test_stack.py.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ccm.annotations.aws import PROXY_PROTOCOL
from providers.local import create
from providers.local.cloud import LocalCloud
from providers.local.loadbalancer import LocalLoadBalancer
from providers.port import (
    EnsureResult,
    HealthCheck,
    LoadBalancerRequest,
    LoadBalancerStatus,
    Node,
    NodeAddress,
    ProviderContext,
    ServicePort,
    UserError,
)
from tests.providers.local.fakenodes import FakeNode, HealthServer, loopback_prefix
from tests.providers.local.wire import http_reply, refused, udp_reply
from tests.util import wait_for

NODE_PORT = 31080
HEALTH_PORT = 31256
HCNP = 31999


class Env:
    def __init__(self, tmp: Path) -> None:
        self.prefix = loopback_prefix()
        self.state_file = tmp / "state.json"
        self.nodes = [FakeNode(f"node-{i}", f"{self.prefix}.{i}", NODE_PORT, HEALTH_PORT) for i in (1, 2, 3)]
        self.local_health = {n.name: HealthServer(n.ip, HCNP) for n in self.nodes}
        self.clouds: list[LocalCloud] = []

    @property
    def pool(self) -> str:
        return f"{self.prefix}.128/29"

    def cloud(self, **extra: str) -> LocalCloud:
        cloud = create(ProviderContext("test", {
            "vip-pool": self.pool, "state-file": str(self.state_file),
            "node-health-port": str(HEALTH_PORT), "health-interval": "0.05", "health-timeout": "0.5",
            **extra,
        }))
        self.clouds.append(cloud)
        return cloud

    def request(self, name: str = "web", uid: str = "uid-web", **kw: object) -> LoadBalancerRequest:
        kw.setdefault("ports", (ServicePort("http", "TCP", 8080, NODE_PORT), ServicePort("dns", "UDP", 8080, NODE_PORT)))
        kw.setdefault("nodes", tuple(Node(n.name, addresses=(NodeAddress("InternalIP", n.ip),)) for n in self.nodes))
        return LoadBalancerRequest(cluster_name="test", namespace="default", name=name, uid=uid, **kw)  # type: ignore[arg-type]

    def stop(self) -> None:
        for c in self.clouds:
            c.close()
        servers = [*self.nodes, *self.local_health.values()]
        with ThreadPoolExecutor(len(servers)) as pool:  # each waits out its serve loop's poll
            list(pool.map(lambda s: s.stop(), servers))


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = Env(tmp_path)
    try:
        yield e
    finally:
        e.stop()


NODE = re.compile(r"on (node-\d)")


def tcp_get(ip: str, port: int, source: str | None = None) -> str:
    """The node that answered one HTTP request."""
    return http_reply(ip, port, NODE, source)[0]


def udp_ask(ip: str, port: int) -> str:
    return udp_reply(ip, port, NODE)[0]


def vip_of(result: EnsureResult | LoadBalancerStatus | None) -> str:
    status = result.status if isinstance(result, EnsureResult) else result
    assert status is not None and status.ingress[0].ip
    return status.ingress[0].ip


def backends(lb: LocalLoadBalancer, vip: str, protocol: str = "TCP") -> int:
    """How many nodes the engine's listener forwards to now."""
    config = lb.engine.config_of(vip, 8080, protocol)
    assert config is not None
    return len(config.backends)


def nodes_seen(ip: str, port: int, n: int = 12, **kw: str) -> set[str]:
    return {tcp_get(ip, port, **kw) for _ in range(n)}


def test_ensure_serves_tcp_and_udp_on_a_vip_round_robin_over_healthy_nodes(env: Env) -> None:
    lb = env.cloud().lb
    result = lb.ensure(env.request())
    (ingress,) = result.status.ingress
    vip = vip_of(result)
    assert vip == f"{env.prefix}.129"
    assert ingress.ip_mode == "Proxy"
    assert [(p.port, p.protocol, p.error) for p in ingress.ports] == [(8080, "TCP", None), (8080, "UDP", None)]
    assert result.warnings == ()
    all_nodes = {"node-1", "node-2", "node-3"}
    wait_for(lambda: nodes_seen(vip, 8080) == all_nodes, timeout=10, message="TCP reaching all 3 nodes")
    wait_for(lambda: {udp_ask(vip, 8080) for _ in range(12)} == all_nodes, timeout=10,
             message="UDP reaching all 3 nodes")


def test_steady_ensure_makes_no_mutating_call(env: Env) -> None:
    lb = env.cloud().lb
    req = env.request()
    lb.ensure(req)
    wait_for(lambda: all(lb.health.is_healthy(t) for t in lb._balancers[req.uid].targets.values()))
    wait_for(lambda: backends(lb, f"{env.prefix}.129") == 3)
    before = lb.counter.totals()
    first = lb.ensure(req)
    assert lb.ensure(req) == first
    assert lb.update(req) == ()
    assert lb.counter.totals()[0] == before[0]


def test_failing_node_health_takes_the_node_out_and_back(env: Env) -> None:
    lb = env.cloud().lb
    vip = vip_of(lb.ensure(env.request()))
    wait_for(lambda: nodes_seen(vip, 8080) == {"node-1", "node-2", "node-3"}, timeout=10)
    env.nodes[1].health.healthy = False
    wait_for(lambda: backends(lb, vip) == 2, timeout=10,
             message="node-2 leaving the backend set")
    assert nodes_seen(vip, 8080) == {"node-1", "node-3"}
    env.nodes[1].health.healthy = True
    wait_for(lambda: nodes_seen(vip, 8080) == {"node-1", "node-2", "node-3"}, timeout=10)


def test_local_policy_probes_health_check_node_port(env: Env) -> None:
    env.local_health["node-1"].healthy = False
    env.local_health["node-3"].healthy = False
    lb = env.cloud().lb
    req = env.request(external_traffic_policy="Local", health_check=HealthCheck("/healthz", HCNP))
    vip = vip_of(lb.ensure(req))
    wait_for(lambda: backends(lb, vip) == 1, timeout=10)
    assert nodes_seen(vip, 8080) == {"node-2"}
    assert env.local_health["node-2"].hits > 0
    assert all(n.health.hits == 0 for n in env.nodes), "the node proxy /healthz is not used for Local"


def test_client_ip_affinity_sticks_to_one_node(env: Env) -> None:
    lb = env.cloud().lb
    vip = vip_of(lb.ensure(env.request(session_affinity="ClientIP", session_affinity_timeout=60)))
    wait_for(lambda: backends(lb, vip) == 3, timeout=10)
    for client in (f"{env.prefix}.201", f"{env.prefix}.202", f"{env.prefix}.203"):
        assert len(nodes_seen(vip, 8080, n=6, source=client)) == 1


def test_source_ranges_refuse_other_clients(env: Env) -> None:
    lb = env.cloud().lb
    allowed = f"{env.prefix}.200"
    req = env.request(source_ranges=(f"{allowed}/32",), source_ranges_set=True)
    vip = vip_of(lb.ensure(req))
    wait_for(lambda: tcp_get(vip, 8080, source=allowed), timeout=10)
    assert refused(vip, 8080, source=f"{env.prefix}.201")


def test_requested_ip_honoured_else_clear_user_error(env: Env) -> None:
    lb = env.cloud().lb
    want = f"{env.prefix}.133"
    assert vip_of(lb.ensure(env.request(requested_ip=want))) == want
    with pytest.raises(UserError, match="already held by Service default/web") as held:
        lb.ensure(env.request(name="other", uid="uid-other", requested_ip=want))
    assert held.value.reason == "LoadBalancerIPInUse"
    with pytest.raises(UserError, match=rf"outside the local VIP pool {env.pool}") as outside:
        lb.ensure(env.request(name="other", uid="uid-other", requested_ip="127.0.0.99"))
    assert outside.value.reason == "InvalidLoadBalancerIP"
    assert lb.get(env.request(name="other", uid="uid-other")) is None, "nothing half-made"


def test_ipv6_only_service_is_a_user_error(env: Env) -> None:
    lb = env.cloud().lb
    with pytest.raises(UserError, match="IPv4 VIPs only") as err:
        lb.ensure(env.request(ip_families=("IPv6",)))
    assert err.value.reason == "UnsupportedIPFamily"
    assert lb.engine.listeners() == [] and lb.vips.allocations() == {}


def test_fresh_vip_taken_by_another_process_is_skipped(env: Env) -> None:
    squatter = socket.socket()
    squatter.bind((f"{env.prefix}.129", 8080))  # e.g. a second cluster's load balancer
    squatter.listen()
    try:
        lb = env.cloud().lb
        result = lb.ensure(env.request())
        assert vip_of(result) == f"{env.prefix}.130"
        assert result.warnings == ()
        assert lb.vips.owner_of(f"{env.prefix}.129") is None
        # asked for explicitly, the taken address is kept and the port error reported
        pinned = lb.ensure(env.request(name="pinned", uid="uid-pinned", requested_ip=f"{env.prefix}.129"))
        assert [(p.protocol, p.error) for p in pinned.status.ingress[0].ports] == [("TCP", "PortInUse"), ("UDP", None)]
        assert [w.reason for w in pinned.warnings] == ["PortInUse"]
    finally:
        squatter.close()


def test_changing_requested_ip_moves_the_vip(env: Env) -> None:
    lb = env.cloud().lb
    first = vip_of(lb.ensure(env.request()))
    moved = vip_of(lb.ensure(env.request(requested_ip=f"{env.prefix}.134")))
    assert (first, moved) == (f"{env.prefix}.129", f"{env.prefix}.134")
    assert (first, 8080, "TCP") not in lb.engine.listeners()
    assert lb.vips.owner_of(first) is None


def test_delete_closes_listeners_and_frees_the_vip(env: Env) -> None:
    lb = env.cloud().lb
    req = env.request()
    vip = vip_of(lb.ensure(req))
    lb.delete(req)
    lb.delete(req)  # idempotent
    assert lb.engine.listeners() == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((vip, 8080), timeout=2).close()
    assert lb.get(req) is None
    assert vip_of(lb.ensure(env.request(name="next", uid="uid-next"))) == vip


def test_restart_readopts_the_same_vip(env: Env) -> None:
    first = env.cloud()
    first.lb.ensure(env.request(name="a", uid="uid-a"))
    b_vip = vip_of(first.lb.ensure(env.request(name="b", uid="uid-b")))
    first.close()
    second = env.cloud()
    # b comes back first after the restart: it must not take a's address
    assert vip_of(second.lb.get(env.request(name="b", uid="uid-b"))) == b_vip
    assert vip_of(second.lb.ensure(env.request(name="b", uid="uid-b"))) == b_vip
    assert vip_of(second.lb.ensure(env.request(name="a", uid="uid-a"))) == f"{env.prefix}.129"
    wait_for(lambda: tcp_get(b_vip, 8080), timeout=10)


def test_lost_state_file_prefers_the_status_ip(env: Env) -> None:
    lb = env.cloud().lb
    want = f"{env.prefix}.131"
    assert lb.ensure(env.request(current_ips=(want,))).status.ingress[0].ip == want


def test_node_without_address_is_a_warning_not_a_backend(env: Env) -> None:
    lb = env.cloud().lb
    nodes = (*env.request().nodes, Node("ghost", addresses=(NodeAddress("Hostname", "ghost"),)))
    result = lb.ensure(env.request(nodes=nodes))
    assert [(w.reason, "ghost" in w.message) for w in result.warnings] == [("NodeWithoutAddress", True)]
    wait_for(lambda: backends(lb, vip_of(result)) == 3, timeout=10)


def test_update_after_a_restart_rebuilds_the_balancer(env: Env) -> None:
    req = env.request()
    vip = vip_of(env.cloud().lb.ensure(req))
    env.clouds.pop().close()
    lb = env.cloud().lb
    assert lb.update(req.with_nodes(req.nodes[:2])) == ()
    wait_for(lambda: nodes_seen(vip, 8080) == {"node-1", "node-2"}, timeout=10)


def test_update_never_creates_a_load_balancer(env: Env) -> None:
    """A node sync queued before the Service was deleted must not bring its VIP back."""
    lb = env.cloud().lb
    req = env.request()
    assert lb.update(req) == ()
    lb.ensure(req)
    lb.delete(req)
    assert lb.update(req) == ()
    assert lb.get(req) is None and lb.engine.listeners() == [] and lb.vips.allocations() == {}


def test_sctp_port_is_a_port_error_not_a_failure(env: Env) -> None:
    lb = env.cloud().lb
    ports = (ServicePort("http", "TCP", 8080, NODE_PORT), ServicePort("sig", "SCTP", 9999, NODE_PORT))
    result = lb.ensure(env.request(ports=ports))
    assert [(p.port, p.protocol, p.error) for p in result.status.ingress[0].ports] == [
        (8080, "TCP", None), (9999, "SCTP", "UnsupportedProtocol")]
    assert [w.reason for w in result.warnings] == ["UnsupportedProtocol"]
    assert "forwards TCP and UDP only" in result.warnings[0].message
    vip = vip_of(result)
    wait_for(lambda: tcp_get(vip, 8080), timeout=10)


def test_proxy_protocol_v2_sent_to_nodes(env: Env) -> None:
    raw = socket.socket()
    raw.bind((f"{env.prefix}.50", 0))
    raw.listen()
    port = raw.getsockname()[1]
    lb = env.cloud(**{"health-checks": "false"}).lb  # nothing answers health checks at .50
    req = env.request(
        ports=(ServicePort("http", "TCP", 8080, port),),
        nodes=(Node("pp", addresses=(NodeAddress("InternalIP", f"{env.prefix}.50"),)),),
        annotations={PROXY_PROTOCOL.key: "*"},
    )
    vip = vip_of(lb.ensure(req))
    raw.settimeout(5)
    with socket.create_connection((vip, 8080), timeout=2):
        conn, _ = raw.accept()
        with conn:
            conn.settimeout(5)
            head = conn.recv(16)
    raw.close()
    assert head[:12] == b"\r\n\r\n\x00\r\nQUIT\n"
    assert head[12] == 0x21  # v2, PROXY command


def test_concurrent_ensure_and_update_leave_one_consistent_balancer(env: Env) -> None:
    lb = env.cloud().lb
    req = env.request()
    fewer = req.with_nodes(req.nodes[:1])
    errors: list[BaseException] = []

    def run(fn) -> None:  # type: ignore[no-untyped-def]
        try:
            for _ in range(20):
                fn()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(lambda: lb.ensure(req),)),
               threading.Thread(target=run, args=(lambda: lb.update(fewer),))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(lb.engine.listeners()) == [(f"{env.prefix}.129", 8080, "TCP"), (f"{env.prefix}.129", 8080, "UDP")]
    lb.ensure(req)
    wait_for(lambda: backends(lb, f"{env.prefix}.129") == 3, timeout=10)


def test_planning_and_inventory(env: Env) -> None:
    """Offline: a VIP and a listener per port; live: the diff ensure then applies; inventory: the VIP and its
    listeners under the Service key, and delete_owned releases them."""
    cloud = env.cloud()
    planner, inventory = cloud.planner(), cloud.inventory()
    assert planner is not None and inventory is not None
    req = env.request()
    offline = planner.plan_offline(req)
    assert [op.describe().split(":")[0] for op in offline[:1]] == [f"create local/vip <first free VIP of {env.pool}>"]
    assert [(op.kind, op.resource.type) for op in offline[1:]] == [("create", "local/listener")] * 2
    live = planner.plan_live(req)
    assert [op.kind for op in live] == ["create"] * 3 and live[0].resource.name == f"{env.prefix}.129"
    vip = vip_of(cloud.lb.ensure(req))
    wait_for(lambda: backends(cloud.lb, vip) == 3, message="all nodes healthy")
    assert planner.plan_live(req) == ()
    assert sorted(r.resource.name for r in inventory.by_service()["default/web"]) == [
        vip, f"{vip}:8080/TCP", f"{vip}:8080/UDP"]
    inventory.delete_owned("default/web")
    assert inventory.list_owned() == ()
    assert cloud.lb.engine.config_of(vip, 8080, "TCP") is None and cloud.lb.vips.owner_of(vip) is None
