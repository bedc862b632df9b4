"""The node proxy's reliability properties, with small counts (bench/reliability.py proxy: large).

Each test runs the data plane in a child process (``proxyharness.ProxyProcess``) and attacks it
from this one: descriptor exhaustion, many idle connections, slowloris on the health-check port,
malformed and forged PROXY headers, a UDP flood. The properties are the issue's (8, "The
harness"): what the proxy refuses it closes cleanly, what it cannot serve now it serves again by
itself, and what it holds is bounded.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from ccm.proxy.engine.proxyproto import V2_SIGNATURE, build_v1, build_v2
from tests.proxy.helpers import Peers, peers
from tests.reliability.proxyharness import (
    ProxyProcess,
    UdpClient,
    UdpPortEcho,
    close_all,
    connect_many,
    first_lines,
    free_port,
    served_by,
    tcp_listener,
    udp_flood,
    udp_listener,
)
from tests.util import wait_for

LB = "127.0.0.1"


@pytest.fixture
def backends() -> Iterator[Peers]:
    with peers() as p:
        yield p


def test_fd_exhaustion_recovers_by_itself_and_leaves_no_close_wait(backends: Peers) -> None:
    """Issue 8 hole 2: a burst past the fd limit left CLOSE-WAIT sockets and a dead listener."""
    backend = backends.tcp("a")
    port = free_port()
    with ProxyProcess({"listeners": [tcp_listener(LB, port, [backend])]}) as proxy:
        assert served_by((LB, port)) == "a"
        # 30 connections' worth (a client and a backend socket each) and one more descriptor: the
        # 31st accept succeeds and its backend dial fails (the path that leaked), later accepts fail
        limit = proxy.open_fds() + 61
        proxy.limit_open_files(limit)
        burst = connect_many((LB, port), 80)
        try:
            wait_for(lambda: proxy.open_fds() >= limit - 1, timeout=10, message="descriptors running out")
            during = first_lines(burst, timeout=1.0)
            assert during.served > 0 and during.served + during.refused + during.pending == 80
        finally:
            close_all(burst)  # the clients go away
        began = time.monotonic()
        wait_for(lambda: served_by((LB, port), timeout=1.0) == "a", timeout=15,
                 message=lambda: f"a new connection served again (stats {proxy.stats()})")
        recovered = time.monotonic() - began
        wait_for(lambda: proxy.tcp_states()["CLOSE_WAIT"] == 0, timeout=10,
                 message=lambda: f"no CLOSE-WAIT left (proxy sockets {dict(proxy.tcp_states())})")
        wait_for(lambda: proxy.stats()["active"] == 0, timeout=10, message="every connection closed")
        stats = proxy.stats()
        assert stats["fd_exhausted"] > 0 and stats["accept_pauses"] > 0
        assert recovered < 10, f"recovered after {recovered:.1f} s"


def test_idle_connections_cost_little_and_other_services_are_served(backends: Peers) -> None:
    idle_port, other_port = free_port(), free_port()
    a, b = backends.tcp("a"), backends.tcp("b")
    spec = {"listeners": [tcp_listener(LB, idle_port, [a]), tcp_listener(LB, other_port, [b])]}
    with ProxyProcess(spec) as proxy:
        assert served_by((LB, idle_port)) == "a"
        before = proxy.rss_kib()
        held = connect_many((LB, idle_port), 500)
        try:
            assert first_lines(held, timeout=10).served == 500
            wait_for(lambda: proxy.stats()["active"] == 500, timeout=10)
            per_conn = (proxy.rss_kib() - before) / 500
            assert per_conn < 16, f"{per_conn:.1f} KiB per idle connection"
            assert [served_by((LB, other_port)) for _ in range(20)] == ["b"] * 20
        finally:
            close_all(held)
        wait_for(lambda: proxy.stats()["active"] == 0, timeout=10)


def test_slowloris_on_the_health_check_port(backends: Peers) -> None:
    port = free_port()
    spec = {"health": {"ip": LB, "port": port, "header_timeout": 0.5, "max_connections": 16}}
    probe = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

    def answered() -> bool:
        with socket.create_connection((LB, port), timeout=2) as s:
            s.sendall(probe)
            return s.recv(64).startswith(b"HTTP/1.1 200 OK")

    with ProxyProcess(spec) as proxy:
        slow = []
        try:
            for i in range(40):  # more than the server holds, each a request that never ends
                s = socket.create_connection((LB, port), timeout=5)
                s.sendall(probe[: 5 + i % 20])
                slow.append(s)
                if i % 10 == 9:
                    assert answered(), "a real probe amid the slowloris"
            for s in slow:  # each is closed by the server: evicted or timed out
                try:
                    assert s.recv(64) == b""
                except ConnectionResetError:
                    pass
        finally:
            close_all(slow)
        stats = proxy.stats()
        assert stats["health_evicted"] + stats["health_timed_out"] == 40
        assert answered()


MALFORMED = [
    b"GET / HTTP/1.1\r\n\r\n",
    b"PROXY TCP4 10.0.0.1 10.0.0.2 1_000 80\r\n",
    b"PROXY TCP4 10.0.0.1 10.0.0.2 +1 80\r\n",
    b"PROXY TCP4 010.0.0.1 10.0.0.2 1 80\r\n",
    b"PROXY TCP4 10.0.0.1 10.0.0.2 1 80 \r\n",
    b"PROXY TCP4 host 10.0.0.2 1 80\r\n",
    b"PROXY TCP9 10.0.0.1 10.0.0.2 1 80\r\n",
    b"PROXY " + b"9" * 120,
    V2_SIGNATURE + b"\x31\x11\x00\x0c" + bytes(12),
    V2_SIGNATURE + b"\x21\x11\xff\xff",
    V2_SIGNATURE[:8] + b"XXXXXXXX",
    b"PROXY TCP4 10.0.0.1",  # stalled: never completed
    V2_SIGNATURE + b"\x21\x11\x00\x0c",  # stalled: address block never sent
]


def test_malformed_and_forged_proxy_headers(backends: Peers) -> None:
    port = free_port()
    lb, attacker = "127.0.0.2", "127.0.0.5"
    config = tcp_listener(LB, port, [backends.tcp("a")], accept_proxy_protocol=True,
                          source_ranges=["10.0.0.0/8"], proxy_protocol_trusted=[f"{lb}/32"])
    with ProxyProcess({"listeners": [config], "proxy_header_timeout": 0.3}) as proxy:
        # from the trusted balancer: garbage is closed cleanly, real clients served, outsiders refused
        malformed = [served_by((LB, port), source=lb, preamble=m) for m in MALFORMED]
        assert malformed == [""] * len(MALFORMED)
        good = [served_by((LB, port), source=lb, preamble=build((f"10.0.0.{i}", 1000 + i), (LB, port)))
                for i in range(1, 6) for build in (build_v1, build_v2)]
        assert good == ["a"] * 10
        outside = [served_by((LB, port), source=lb, preamble=build(("192.0.2.1", 1), (LB, port)))
                   for build in (build_v1, build_v2)]
        assert outside == ["", ""]
        # from anyone else, a header claiming an allowed client is refused
        forged = [served_by((LB, port), source=attacker, preamble=build(("10.0.0.1", 1), (LB, port)))
                  for _ in range(10) for build in (build_v1, build_v2)]
        assert forged == [""] * 20
        stats = proxy.stats()
        assert (stats["proxy_protocol_errors"], stats["refused"], stats["untrusted_proxy"]) == \
            (len(MALFORMED), 2, 20)
        wait_for(lambda: proxy.stats()["active"] == 0, timeout=5)
        assert proxy.tcp_states()["CLOSE_WAIT"] == 0


def test_udp_flood_is_bounded_and_flows_in_use_keep_being_served() -> None:
    port = free_port(kind=socket.SOCK_DGRAM)
    with UdpPortEcho() as backend, \
            ProxyProcess({"listeners": [udp_listener(LB, port, [backend.addr], max_udp_flows=32)]}) as proxy, \
            UdpClient((LB, port)) as client:
        ask = client.ask
        first = wait_for(ask, timeout=5, message="the legitimate flow answered")
        rss_before = proxy.rss_kib()
        answers = []
        for wave in range(25):  # 500 one-datagram sources; the flow in use speaks once per 20
            udp_flood((LB, port), 20, first=wave * 20)
            answers.append(ask())
        stats = proxy.stats()
        assert stats["udp_flows"] <= 32
        assert stats["udp_evicted"] >= 500 - 32
        # served throughout, and by the same upstream socket: the flood evicted only its own flows
        assert answers.count(first) >= 24, answers
        assert proxy.rss_kib() - rss_before < 4096
