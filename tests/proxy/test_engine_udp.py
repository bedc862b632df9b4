"""The engine's UDP path: flows per client, round robin, idle timeout, bounded table, ranges."""

from __future__ import annotations

import collections
import socket

from ccm.proxy.engine import Backend, ListenerConfig, ThreadedEngine
from tests.proxy.helpers import Peers, free_port, udp_ask
from tests.util import wait_for

LB = "127.0.0.1"


def udp(*addrs: tuple[str, int], **kw: object) -> ListenerConfig:
    return ListenerConfig("UDP", tuple(Backend(*a) for a in addrs), **kw)  # type: ignore[arg-type]


def client(source: str = "127.0.0.1") -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    return s


def test_flows_round_robin_and_stick_per_client(engine: ThreadedEngine, backends: Peers) -> None:
    addrs = [backends.udp(n) for n in "abc"]
    port = free_port(kind=socket.SOCK_DGRAM)
    engine.listen(LB, port, udp(*addrs))
    socks = [client() for _ in range(6)]
    try:
        first = [udp_ask((LB, port), b"q", s) for s in socks]
        assert collections.Counter(first) == {"a": 2, "b": 2, "c": 2}
        # a client's later datagrams stay on its flow
        assert [udp_ask((LB, port), b"again", s) for s in socks] == first
        assert engine.stats()["udp_flows"] == 6
        assert engine.stats()["udp_datagrams"] == 12
    finally:
        for s in socks:
            s.close()


def test_payload_round_trips(engine: ThreadedEngine, backends: Peers) -> None:
    port = free_port(kind=socket.SOCK_DGRAM)
    engine.listen(LB, port, udp(backends.udp("a")))
    with client() as s:
        s.settimeout(2)
        payload = bytes(range(256)) * 200
        s.sendto(payload, (LB, port))
        assert s.recvfrom(65536)[0] == b"a:" + payload


def test_idle_flows_expire(engine: ThreadedEngine, backends: Peers) -> None:
    port = free_port(kind=socket.SOCK_DGRAM)
    engine.listen(LB, port, udp(backends.udp("a"), udp_idle_timeout=0.2))
    with client() as s:
        assert udp_ask((LB, port), b"x", s) == "a"
        assert engine.stats()["udp_flows"] == 1
        wait_for(lambda: engine.stats()["udp_flows"] == 0, timeout=5, message="idle flow swept")
        assert udp_ask((LB, port), b"x", s) == "a"  # and a new flow serves the client again


def test_flow_table_is_bounded(engine: ThreadedEngine, backends: Peers) -> None:
    port = free_port(kind=socket.SOCK_DGRAM)
    engine.listen(LB, port, udp(backends.udp("a"), max_udp_flows=3))
    socks = [client() for _ in range(5)]
    try:
        for s in socks:
            assert udp_ask((LB, port), b"x", s) == "a"
        stats = engine.stats()
        assert stats["udp_flows"] == 3 and stats["udp_evicted"] == 2
        # the newest client still has its flow and is answered
        assert udp_ask((LB, port), b"y", socks[-1]) == "a"
    finally:
        for s in socks:
            s.close()


def test_source_ranges_drop_datagrams(engine: ThreadedEngine, backends: Peers) -> None:
    port = free_port(kind=socket.SOCK_DGRAM)
    engine.listen(LB, port, udp(backends.udp("a"), source_ranges=("127.0.0.2/32",)))
    with client("127.0.0.2") as ok, client("127.0.0.3") as bad:
        assert udp_ask((LB, port), b"x", ok) == "a"
        bad.settimeout(0.3)
        bad.sendto(b"x", (LB, port))
        wait_for(lambda: engine.stats()["refused"] == 1, message="datagram refused")
        assert engine.stats()["udp_flows"] == 1


def test_removed_backend_closes_its_flows(engine: ThreadedEngine, backends: Peers) -> None:
    a, b = backends.udp("a"), backends.udp("b")
    port = free_port(kind=socket.SOCK_DGRAM)
    engine.listen(LB, port, udp(a, b))
    socks = [client() for _ in range(2)]
    try:
        names = [udp_ask((LB, port), b"x", s) for s in socks]
        assert sorted(names) == ["a", "b"]
        engine.update(LB, port, "UDP", udp(a))
        assert engine.stats()["udp_flows"] == 1
        assert [udp_ask((LB, port), b"x", s) for s in socks] == ["a", "a"]
    finally:
        for s in socks:
            s.close()


def test_dead_backend_flow_moves_on(engine: ThreadedEngine, backends: Peers) -> None:
    dead = ("127.0.0.1", free_port(kind=socket.SOCK_DGRAM))
    alive = backends.udp("alive")
    port = free_port(kind=socket.SOCK_DGRAM)
    engine.listen(LB, port, udp(dead, alive))
    with client() as s:
        s.settimeout(0.5)
        answers = []
        for _ in range(4):  # a datagram to the dead port is lost; the flow is then dropped
            s.sendto(b"x", (LB, port))
            try:
                answers.append(s.recvfrom(100)[0])
            except TimeoutError:
                continue
        assert answers and all(a.startswith(b"alive:") for a in answers)
