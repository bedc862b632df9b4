"""``ccm node-proxy --mode nftables`` on real kernels: namespaces, veths, real packets.

One module-scoped cluster (3 node namespaces, pods behind each, a client; see netns.py);
each test uses its own Services and ports. Skipped without root, ``ip netns``, nft or
conntrack (CI installs nftables and conntrack and runs as root).
"""

from __future__ import annotations

import collections
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ccm.proxy.nftables.plan import Dest
from tests.proxy import objects as o
from tests.proxy.nftables import netns
from tests.proxy.nftables.cluster import (
    CLIENT,
    DENIED_CLIENT,
    TABLE,
    Cluster,
    cluster,
    dropped,
    echo,
    http_get,
    tcp_open,
    tcp_who,
    udp_ask,
)
from tests.util import wait_for

_why = netns.unavailable()
pytestmark = pytest.mark.skipif(_why is not None, reason=f"namespace tests: {_why}")


@pytest.fixture(scope="module")
def c(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with cluster(tmp_path_factory.mktemp("nftcluster")) as cl:
        yield cl


def node_ip(i: int) -> str:
    return f"{netns.LAN}.{i}"


def pod(c: Cluster, node: int, k: int) -> str:
    return c.topo.pod_ip(node, k)


def test_round_robin_over_endpoints_tcp_and_udp(c: Cluster) -> None:
    for (node, k), name in {(1, 0): "a", (1, 1): "b", (2, 0): "c"}.items():
        c.backends[node - 1].tcp(name, pod(c, node, k), 9101)
        c.backends[node - 1].udp(name, pod(c, node, k), 9102)
    c.service("rr", [o.port(30101, name="http", port=80), o.port(30102, name="dns", protocol="UDP", port=53)])
    c.endpoints("rr", [o.endpoint(pod(c, 1, 0), "node1"), o.endpoint(pod(c, 1, 1), "node1"),
                       o.endpoint(pod(c, 2, 0), "node2")], [("http", 9101, "TCP"), ("dns", 9102, "UDP")])
    c.wait_endpoints("rr", 3, nodes=(1,))
    c.wait_endpoints("rr", 3, nodes=(1,), port="dns", proto="udp")
    seen = collections.Counter(tcp_who(c.topo.client, node_ip(1), 30101)[0] for _ in range(9))
    assert seen == {"a": 3, "b": 3, "c": 3}  # numgen inc: strict rotation
    udp: collections.Counter[str] = collections.Counter()
    for _ in range(6):  # a new flow (source port) each time
        with netns.socket_in(c.topo.client, socket.SOCK_DGRAM) as s:
            s.settimeout(3)
            udp[udp_ask(s, node_ip(1), 30102)] += 1
    assert udp == {"a": 2, "b": 2, "c": 2}


def test_client_ip_affinity_and_its_expiry(c: Cluster) -> None:
    dests = [(1, 2, "x"), (2, 1, "y"), (3, 0, "z")]
    for node, k, name in dests:
        c.backends[node - 1].tcp(name, pod(c, node, k), 9201)
    c.service("aff", [o.port(30201, name="http")], affinity=1)
    c.endpoints("aff", [o.endpoint(pod(c, n, k), f"node{n}") for n, k, _ in dests], [("http", 9201, "TCP")])
    c.wait_endpoints("aff", 3, nodes=(1,), prefix="service")
    first = {tcp_who(c.topo.client, node_ip(1), 30201)[0] for _ in range(5)}
    other = tcp_who(c.topo.client, node_ip(1), 30201, src=DENIED_CLIENT)[0]
    assert len(first) == 1 and other not in first  # pinned; the other client got the next endpoint
    pinned = next(Dest(pod(c, n, k), 9201) for n, k, name in dests if name in first)
    assert [e["elem"]["val"] for e in c.set_elements(1, "aff", pinned)] == [CLIENT]
    # timeoutSeconds: 1 -> the kernel forgets the client; its next connection rotates on
    wait_for(lambda: not c.set_elements(1, "aff", pinned), timeout=10, message="affinity entry expiry")
    after = tcp_who(c.topo.client, node_ip(1), 30201)[0]
    assert after not in first | {other}


def test_local_policy_keeps_client_ip_and_cluster_policy_masquerades(c: Cluster) -> None:
    c.backends[0].tcp("local1", pod(c, 1, 3), 9301)
    c.backends[1].tcp("local2", pod(c, 2, 3), 9301)
    eps = [o.endpoint(pod(c, 1, 3), "node1"), o.endpoint(pod(c, 2, 3), "node2")]
    c.service("loc", [o.port(30301, name="http", port=8301)], type="LoadBalancer", etp="Local", hc_port=32301)
    c.service("clu", [o.port(30302, name="http", port=8302)])
    c.ingress("loc", "10.0.100.31")
    c.endpoints("loc", eps, [("http", 9301, "TCP")])
    c.endpoints("clu", eps, [("http", 9301, "TCP")])
    for i in (1, 2):
        wait_for(lambda i=i: f"dnat to {pod(c, i, 3)}:9301" in c.chain(i, "loc"), timeout=20,
                 message=f"local endpoint of node{i}")
    c.wait_endpoints("clu", 2)
    # Local: only this node's endpoint, and it sees the real client
    assert {tcp_who(c.topo.client, node_ip(1), 30301) for _ in range(3)} == {("local1", CLIENT)}
    assert {tcp_who(c.topo.client, node_ip(2), 30301) for _ in range(3)} == {("local2", CLIENT)}
    assert tcp_who(c.topo.client, "10.0.100.31", 8301) == ("local1", CLIENT)  # the VIP, routed to node1
    assert dropped(c.topo.client, node_ip(3), 30301)  # no local endpoint on node3
    # health check node port: what a cloud LB probes to skip node3
    assert http_get(c.topo.client, node_ip(1), 32301, "/")[0] == 200
    assert http_get(c.topo.client, node_ip(3), 32301, "/")[0] == 503
    # Cluster: any endpoint, source NATed to the node so replies come back through it
    got = {tcp_who(c.topo.client, node_ip(3), 30302) for _ in range(2)}
    assert got == {("local1", node_ip(3)), ("local2", node_ip(3))}


def test_source_ranges_from_the_client_address_before_dnat(c: Cluster) -> None:
    c.backends[0].tcp("fw", pod(c, 1, 0), 9401)
    c.service("fw", [o.port(30401, name="http", port=8401)], type="LoadBalancer", ranges=[f"{CLIENT}/32"])
    c.service("proxied", [o.port(30402, name="http", port=8402)], type="LoadBalancer")
    c.ingress("fw", "10.0.100.41")
    c.ingress("proxied", "10.0.100.42", mode="Proxy")
    for name in ("fw", "proxied"):
        c.endpoints(name, [o.endpoint(pod(c, 1, 0), "node1")], [("http", 9401, "TCP")])
    c.wait_endpoints("fw", 1, nodes=(1,))
    c.wait_endpoints("proxied", 1, nodes=(1,))
    assert tcp_who(c.topo.client, "10.0.100.41", 8401)[0] == "fw"
    assert tcp_who(c.topo.client, node_ip(1), 30401)[0] == "fw"
    assert dropped(c.topo.client, "10.0.100.41", 8401, src=DENIED_CLIENT)
    assert dropped(c.topo.client, node_ip(1), 30401, src=DENIED_CLIENT)  # no side door via the nodePort
    # ipMode Proxy: the LB proxies to nodePorts itself, so the VIP is not short-circuited
    service_ips = next(i["map"] for i in c.table(1) if i.get("map", {}).get("name") == "service-ips")
    vips = {e[0]["concat"][0] for e in service_ips.get("elem", ())}
    assert "10.0.100.41" in vips and "10.0.100.42" not in vips
    assert tcp_who(c.topo.client, node_ip(1), 30402)[0] == "fw"


def test_endpoint_removed_while_connections_run(c: Cluster) -> None:
    for node, name in ((2, "old"), (3, "new")):
        c.backends[node - 1].tcp(name, pod(c, node, 2), 9501)
        c.backends[node - 1].udp(name, pod(c, node, 2), 9502)
    ports = [("http", 9501, "TCP"), ("dns", 9502, "UDP")]
    c.service("churn", [o.port(30501, name="http"), o.port(30502, name="dns", protocol="UDP", port=53)])
    c.endpoints("churn", [o.endpoint(pod(c, 2, 2), "node2"), o.endpoint(pod(c, 3, 2), "node3")], ports)
    c.wait_endpoints("churn", 2, nodes=(1,))
    c.wait_endpoints("churn", 2, nodes=(1,), port="dns", proto="udp")
    conn, first = tcp_open(c.topo.client, node_ip(1), 30501)
    flow = netns.socket_in(c.topo.client, socket.SOCK_DGRAM)
    flow.settimeout(3)
    try:
        assert first == "old" and udp_ask(flow, node_ip(1), 30502) == "old"  # rotation starts at the first
        assert udp_ask(flow, node_ip(1), 30502) == "old"  # same flow, same endpoint (conntrack)
        c.endpoints("churn", [o.endpoint(pod(c, 3, 2), "node3")], ports)
        c.wait_endpoints("churn", 1, nodes=(1,))
        c.wait_endpoints("churn", 1, nodes=(1,), port="dns", proto="udp")
        assert {tcp_who(c.topo.client, node_ip(1), 30501)[0] for _ in range(4)} == {"new"}
        assert echo(conn, b"still here") == b"still here"  # the open TCP connection lives on
        # the UDP flow's conntrack entry was flushed: its next datagram is DNATed afresh
        wait_for(lambda: udp_ask(flow, node_ip(1), 30502) == "new", timeout=5,
                 message="UDP flow moved off the removed endpoint")
    finally:
        conn.close()
        flow.close()


def test_nft_accepts_every_shape_of_service(c: Cluster) -> None:
    """IPv6, SCTP, affinity, firewall and Local rules as nft and the kernel take them, in a
    scratch namespace: a full sync, then a partial one (SCTP cannot carry packets here)."""
    both = {"ipFamilies": ["IPv4", "IPv6"]}
    services: dict[str, dict[str, Any]] = {}
    slices: dict[str, list[dict[str, Any]]] = {}
    shapes: list[tuple[dict[str, Any], str]] = [({}, "SCTP"), ({"affinity": 30}, "UDP"),
              ({"type": "LoadBalancer", "etp": "Local", "hc_port": 32000, "ranges": ["192.0.2.0/24", "2001:db8::/64"],
                "ingress": ["10.0.100.99", "2001:db8::99"]}, "TCP")]
    for i, (kw, proto) in enumerate(shapes):
        s = o.service(f"shape{i}", [o.port(31900 + i, name="p", protocol=proto)], **kw)
        s["spec"].update(both)
        if "ingress" in kw:
            for ing in s["status"]["loadBalancer"]["ingress"]:
                ing["ipMode"] = "VIP"
        v6 = o.endpoint_slice(f"shape{i}", [o.endpoint("fd00:1::10", "scratch")], [("p", 80, proto)],
                              name=f"shape{i}-v6")
        v6["addressType"] = "IPv6"
        services[f"default/shape{i}"] = s
        slices[f"default/shape{i}"] = [o.endpoint_slice(f"shape{i}", [o.endpoint("10.1.0.10", "scratch")],
                                                        [("p", 80, proto)]), v6]
    scratch = f"{c.topo.prefix}-scratch"
    netns.ip("netns", "add", scratch)
    try:
        scripts = netns.run_in(scratch, _apply_shapes, services, slices)  # nft runs in the scratch ns
        listing = subprocess.run(["ip", "netns", "exec", scratch, "nft", "list", "ruleset"], capture_output=True,
                                 text=True, check=True).stdout
    finally:
        netns.ip("netns", "del", scratch)
    assert "meta l4proto sctp dnat to [fd00:1::10]:80" in listing
    assert "ip6 saddr 2001:db8::/64 return" in listing
    assert "ip6 saddr @affinity-" in scripts[0] and "affinity-" not in listing  # removed with the endpoints
    assert len(scripts) == 2 and "add table" not in scripts[1] and "delete set ip6 ccm-proxy affinity-" in scripts[1]


def _apply_shapes(services: dict[str, Any], slices: dict[str, list[Any]]) -> list[str]:
    from ccm.proxy.nftables.proxier import NftProxier
    from ccm.proxy.nftables.runner import NftRunner

    scripts: list[str] = []

    class Recording(NftRunner):
        def run(self, script: str) -> None:
            scripts.append(script)
            super().run(script)

    class Store(dict):  # type: ignore[type-arg]
        pass

    p = NftProxier("scratch", runner=Recording())
    store = Store(services)
    p.sync(store, lambda k: slices[k], [], True, ["10.0.0.9", "fd00::9"])
    slices["default/shape1"] = []  # endpoints gone: chains flushed, sets deleted
    p.sync(store, lambda k: slices[k], ["default/shape1"], False, ["10.0.0.9", "fd00::9"])
    return scripts


def test_thousand_services(c: Cluster) -> None:
    c.backends[2].tcp("bulk", pod(c, 3, 3), 9601)
    start = time.monotonic()
    for n in range(1000):
        c.service(f"bulk{n}", [o.port(31000 + n, name="http")])
        c.endpoints(f"bulk{n}", [o.endpoint(pod(c, 3, 3), "node3")], [("http", 9601, "TCP")])
    created = time.monotonic()

    def programmed(i: int = 1) -> int:
        out = c.nft(i, "-j", "list", "map", *TABLE, "service-nodeports")
        return sum(1 for e in json.loads(out)["nftables"][1]["map"].get("elem", ()) if 31000 <= e[0]["concat"][1] < 32000)

    wait_for(lambda: programmed() == 1000, timeout=60, message=lambda: f"1000 services on node1: {programmed()}")
    done = time.monotonic()
    wait_for(lambda: programmed(2) == 1000, timeout=60, message=lambda: f"1000 services on node2: {programmed(2)}")
    assert tcp_who(c.topo.client, node_ip(1), 31000)[0] == "bulk"
    assert tcp_who(c.topo.client, node_ip(2), 31999)[0] == "bulk"
    print(f"1000 services: created in {created - start:.1f}s, all in node1's kernel {done - created:.1f}s later")
    for n in range(1000):
        c.core.delete_namespaced_service(f"bulk{n}", "default")
    wait_for(lambda: programmed() == 0, timeout=60, message="1000 services removed")


def canonical(c: Cluster, i: int) -> dict[str, Any]:
    """The table without handles, element order or the dynamic sets' contents."""
    out: dict[str, Any] = {}
    for item in c.table(i):
        kind, body = next(iter(item.items()))
        if kind == "chain":
            out.setdefault(f"chain {body['name']}", [])
        elif kind == "rule":
            out.setdefault(f"chain {body['chain']}", []).append(json.dumps(body["expr"], sort_keys=True))
        elif kind in ("map", "set"):
            elems = sorted(json.dumps(e, sort_keys=True) for e in body.get("elem", ())) if kind == "map" else []
            out[f"{kind} {body['name']}"] = (body.get("timeout"), elems)
    return out


def test_killed_proxy_restarts_into_the_same_rules_without_duplicates(c: Cluster) -> None:
    c.backends[1].tcp("kill", pod(c, 2, 3), 9701)
    c.service("keep", [o.port(30701, name="http")])
    c.service("gone", [o.port(30702, name="http")])
    for name in ("keep", "gone"):
        c.endpoints(name, [o.endpoint(pod(c, 2, 3), "node2")], [("http", 9701, "TCP")])
    c.wait_endpoints("gone", 1, nodes=(2,))
    c.wait_endpoints("keep", 1, nodes=(2,))
    c.kill_proxy(2)  # kill -9: the kernel keeps the last transaction's rules
    assert tcp_who(c.topo.client, node_ip(2), 30701)[0] == "kill"  # forwarding needs no process
    c.core.delete_namespaced_service("gone", "default")
    c.start_proxy(2)
    wait_for(lambda: "30702" not in c.nft(2, "list", "map", *TABLE, "service-nodeports"), timeout=20,
             message="the service deleted while the proxy was down is gone after restart")
    wait_for(lambda: "gone/tcp" not in c.nft(2, "list", "table", *TABLE), timeout=20,
             message=lambda: f"stale chains deleted: {c.log(2)[-2000:]}")
    restarted = canonical(c, 2)
    for name, rules in restarted.items():
        if name.startswith("chain"):
            assert len(rules) == len(set(rules)), f"duplicate rules in {name}"
    # the same state as a proxy that starts on an empty kernel
    c.kill_proxy(2, sig=15)
    out = subprocess.run(c.proxy_argv(2, "--cleanup"), capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ccm-proxy" not in c.nft(2, "list", "tables")
    c.start_proxy(2)
    wait_for(lambda: "30701" in c.nft(2, "list", "map", *TABLE, "service-nodeports", check=False), timeout=20,
             message="fresh start programmed")
    wait_for(lambda: canonical(c, 2) == restarted, timeout=10,
             message=lambda: f"fresh table differs: {set(canonical(c, 2).items()) ^ set(restarted.items())}")
    assert tcp_who(c.topo.client, node_ip(2), 30701)[0] == "kill"


def test_cleanup_removes_the_tables(c: Cluster, tmp_path: Path) -> None:
    c.kill_proxy(3, sig=15)  # SIGTERM: the rules stay, as kube-proxy's do
    assert "table ip ccm-proxy" in c.nft(3, "list", "tables")
    out = subprocess.run(["ip", "netns", "exec", c.topo.nodes[2], sys.executable, "-m", "ccm", "node-proxy",
                          "--cleanup"], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert c.nft(3, "list", "tables").strip() == ""
