"""The engine's TCP path with real traffic on loopback, on both the splice and the copy path."""

from __future__ import annotations

import collections
import os
import socket
import threading

import pytest

from ccm.proxy.engine import Backend, ListenerConfig, ThreadedEngine
from ccm.proxy.engine.proxyproto import build_v1, build_v2, parse
from tests.proxy.helpers import (
    Peers,
    closed_by_peer,
    connect,
    echo,
    free_port,
    raise_nofile,
    read_line,
    refused,
    who,
)
from tests.util import wait_for

LB = "127.0.0.1"
#: the peers whose PROXY headers the tests' listeners believe: the test process itself
TRUSTED = ("127.0.0.1/32",)


def tcp(*addrs: tuple[str, int], **kw: object) -> ListenerConfig:
    return ListenerConfig("TCP", tuple(Backend(*a) for a in addrs), **kw)  # type: ignore[arg-type]


def test_round_robin_visits_every_backend_equally(engine: ThreadedEngine, backends: Peers) -> None:
    addrs = [backends.tcp(n) for n in "abc"]
    port = free_port()
    engine.listen(LB, port, tcp(*addrs))
    seen = [who((LB, port)) for _ in range(30)]
    assert collections.Counter(seen) == {"a": 10, "b": 10, "c": 10}
    # strict rotation: every window of three is a permutation
    assert all(len(set(seen[i:i + 3])) == 3 for i in range(0, 30, 3))
    assert engine.stats()["connections"] == 30


def test_bulk_transfer_with_half_close_is_intact(engine: ThreadedEngine, backends: Peers) -> None:
    port = free_port()
    engine.listen(LB, port, tcp(backends.tcp("a")))
    payload = os.urandom(8 << 20)
    with connect((LB, port), timeout=20) as s:
        assert read_line(s) == b"a\n"
        # write everything then half-close; the reply must arrive whole and end in EOF
        s.setblocking(True)

        def send_all_then_half_close() -> None:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)

        t = threading.Thread(target=send_all_then_half_close)
        t.start()
        got = bytearray()
        while chunk := s.recv(1 << 20):
            got += chunk
        t.join()
    assert got == payload
    wait_for(lambda: engine.stats()["active"] == 0, message="connection closed after both EOFs")
    assert engine.stats()["pipes_in_use"] == 0


def test_bulk_and_small_messages_alternate_on_one_connection(engine: ThreadedEngine, backends: Peers) -> None:
    """The adaptive pump copies small messages and splices bulk: switching both ways keeps the stream."""
    port = free_port()
    engine.listen(LB, port, tcp(backends.tcp("a")))
    with connect((LB, port), timeout=20) as s:
        assert read_line(s) == b"a\n"
        s.setblocking(True)
        for round_ in range(3):
            payload = os.urandom((2 << 20) + round_)  # fills the copy buffer: bulk

            t = threading.Thread(target=s.sendall, args=(payload,))
            t.start()
            got = bytearray()
            while len(got) < len(payload):
                chunk = s.recv(1 << 20)
                assert chunk
                got += chunk
            t.join()
            assert got == payload
            if engine.stats()["splice"]:  # the bulk part went through a pooled pipe
                assert engine.stats()["pipes_in_pool"] >= 1
            for i in range(20):  # request-sized: copied through the shared buffer
                msg = b"ping %d %d\n" % (round_, i)
                s.sendall(msg)
                got = bytearray()
                while len(got) < len(msg):
                    chunk = s.recv(100)
                    assert chunk
                    got += chunk
                assert got == msg
    wait_for(lambda: engine.stats()["active"] == 0, message="connection closed")
    assert engine.stats()["pipes_in_use"] == 0


def test_dead_backend_is_skipped(engine: ThreadedEngine, backends: Peers) -> None:
    alive = backends.tcp("alive")
    dead = ("127.0.0.1", free_port())
    port = free_port()
    engine.listen(LB, port, tcp(dead, alive, ("127.0.0.1", free_port()), connect_attempts=4))
    assert {who((LB, port)) for _ in range(6)} == {"alive"}
    assert engine.stats()["connect_failures"] >= 3


def test_all_backends_dead_closes_client_after_bounded_attempts(engine: ThreadedEngine) -> None:
    dead = ("127.0.0.1", free_port())
    port = free_port()
    engine.listen(LB, port, tcp(dead, connect_attempts=3))
    with connect((LB, port)) as s:
        assert s.recv(10) == b""
    assert engine.stats()["connect_failures"] == 3


def test_no_backends_closes_client(engine: ThreadedEngine) -> None:
    port = free_port()
    engine.listen(LB, port, tcp())
    with connect((LB, port)) as s:
        assert s.recv(10) == b""
    assert engine.stats()["no_backend"] == 1


def test_client_ip_affinity_sticks(engine: ThreadedEngine, backends: Peers) -> None:
    addrs = [backends.tcp(n) for n in "abc"]
    port = free_port()
    engine.listen(LB, port, tcp(*addrs, affinity_timeout=100))
    first = {src: who((LB, port), source=src) for src in ("127.0.0.2", "127.0.0.3", "127.0.0.4")}
    assert len(set(first.values())) == 3  # three clients, round robin for the first pick
    for _ in range(3):
        for src, name in first.items():
            assert who((LB, port), source=src) == name


def test_source_ranges_refuse_other_clients(engine: ThreadedEngine, backends: Peers) -> None:
    port = free_port()
    engine.listen(LB, port, tcp(backends.tcp("a"), source_ranges=("127.0.0.2/32", "10.0.0.0/8")))
    assert who((LB, port), source="127.0.0.2") == "a"
    with connect((LB, port), source="127.0.0.3") as s:
        assert closed_by_peer(s)
    assert engine.stats()["refused"] == 1
    assert backends.accepted[next(iter(backends.accepted))] == 1


def test_update_removing_a_backend_keeps_other_connections(engine: ThreadedEngine, backends: Peers) -> None:
    a, b = backends.tcp("a"), backends.tcp("b")
    port = free_port()
    engine.listen(LB, port, tcp(a, b, affinity_timeout=1000))
    conns = {}
    for src in ("127.0.0.2", "127.0.0.3"):
        s = connect((LB, port), source=src)
        conns[read_line(s).decode().strip()] = s
    assert set(conns) == {"a", "b"}
    engine.update(LB, port, "TCP", tcp(a, affinity_timeout=1000))
    # the connection to b is closed, the one to a still echoes
    assert closed_by_peer(conns["b"])
    assert echo(conns["a"], b"still here") == b"still here"
    # affinity to the removed backend is gone: that client now lands on a
    src_of_b = conns["b"].getsockname()[0]
    assert who((LB, port), source=src_of_b) == "a"
    for s in conns.values():
        s.close()


def test_update_adding_a_backend_keeps_connections(engine: ThreadedEngine, backends: Peers) -> None:
    a, b = backends.tcp("a"), backends.tcp("b")
    port = free_port()
    engine.listen(LB, port, tcp(a))
    with connect((LB, port)) as s:
        assert read_line(s) == b"a\n"
        engine.update(LB, port, "TCP", tcp(a, b))
        assert echo(s, b"x" * 1000) == b"x" * 1000
        assert {who((LB, port)) for _ in range(4)} == {"a", "b"}


def test_close_listener_stops_accepting_and_closes(engine: ThreadedEngine, backends: Peers) -> None:
    port = free_port()
    engine.listen(LB, port, tcp(backends.tcp("a")))
    s = connect((LB, port))
    assert read_line(s) == b"a\n"
    engine.close_listener(LB, port, "TCP")
    assert engine.listeners() == []
    assert s.recv(10) == b""
    s.close()
    with pytest.raises(ConnectionRefusedError):
        connect((LB, port)).close()


def test_listen_on_taken_port_raises(engine: ThreadedEngine) -> None:
    with socket.socket() as taken:
        taken.bind((LB, 0))
        taken.listen()
        with pytest.raises(OSError):
            engine.listen(LB, taken.getsockname()[1], tcp(("127.0.0.1", 1)))
    assert engine.listeners() == []


@pytest.mark.parametrize("version", [1, 2])
def test_accept_proxy_protocol_uses_carried_client(engine: ThreadedEngine, backends: Peers,
                                                   version: int) -> None:
    a, b = backends.tcp("a"), backends.tcp("b")
    port = free_port()
    build = build_v1 if version == 1 else build_v2
    engine.listen(LB, port, tcp(a, b, accept_proxy_protocol=True, affinity_timeout=100,
                                source_ranges=("10.1.0.0/16",), proxy_protocol_trusted=TRUSTED))
    header = build(("10.1.2.3", 40000), (LB, port))
    # the real peer (127.0.0.1) is outside the ranges; the carried client is inside
    with connect((LB, port)) as s:
        s.sendall(header + b"payload")
        name = read_line(s).decode().strip()
        assert s.recv(7) == b"payload"  # bytes after the header reach the backend untouched
    # affinity is keyed by the carried client, not the peer
    assert who((LB, port), preamble=header) == name
    refused = build(("10.9.9.9", 1), (LB, port))
    with connect((LB, port)) as s:
        s.sendall(refused)
        assert closed_by_peer(s)
    assert engine.stats()["refused"] == 1


def test_accept_proxy_protocol_header_in_pieces(engine: ThreadedEngine, backends: Peers) -> None:
    port = free_port()
    engine.listen(LB, port, tcp(backends.tcp("a"), accept_proxy_protocol=True, proxy_protocol_trusted=TRUSTED))
    header = build_v2(("10.1.2.3", 40000), (LB, port))
    with connect((LB, port)) as s:
        s.sendall(header[:5])
        wait_for(lambda: engine.stats()["active"] == 1)
        s.sendall(header[5:20])
        s.sendall(header[20:] + b"z")
        assert read_line(s) == b"a\n"
        assert s.recv(1) == b"z"


def test_bad_proxy_header_is_refused_and_logged(engine: ThreadedEngine, backends: Peers, caplog) -> None:
    port = free_port()
    engine.listen(LB, port, tcp(backends.tcp("a"), accept_proxy_protocol=True, proxy_protocol_trusted=TRUSTED))
    with connect((LB, port)) as s:
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert closed_by_peer(s)
    assert engine.stats()["proxy_protocol_errors"] == 1
    assert f"127.0.0.1:{port}/TCP" in caplog.text and "PROXY" in caplog.text


@pytest.mark.parametrize("version", [1, 2])
def test_proxy_header_from_an_untrusted_peer_is_refused(engine: ThreadedEngine, backends: Peers,
                                                        version: int) -> None:
    """Issue 8 hole 3: 127.0.0.5 forging an allowed client in its header was served 20/20."""
    port = free_port()
    engine.listen(LB, port, tcp(backends.tcp("a"), accept_proxy_protocol=True, source_ranges=("127.0.0.1/32",),
                                proxy_protocol_trusted=("127.0.0.2/32",)))
    forged = (build_v1 if version == 1 else build_v2)(("127.0.0.1", 1234), (LB, port))
    assert [refused((LB, port), "127.0.0.5", forged + b"GET / HTTP/1.0\r\n\r\n") for _ in range(20)] == [True] * 20
    with connect((LB, port), source="127.0.0.2") as s:  # the trusted balancer, carrying the same client
        s.sendall(forged)
        assert read_line(s) == b"a\n"
    stats = engine.stats()
    assert (stats["untrusted_proxy"], stats["connections"], stats["refused"]) == (20, 21, 0)


def test_untrusted_peer_may_be_taken_as_the_client_instead(engine: ThreadedEngine, backends: Peers) -> None:
    """``use-peer``: the header is read and dropped; ranges and affinity see the peer itself."""
    port = free_port()
    engine.listen(LB, port, tcp(backends.tcp("a"), accept_proxy_protocol=True, source_ranges=("127.0.0.7/32",),
                                proxy_protocol_trusted=("127.0.0.2/32",), untrusted_proxy_protocol="use-peer"))
    claims_allowed = build_v2(("127.0.0.7", 1), (LB, port))
    assert refused((LB, port), "127.0.0.5", claims_allowed)  # outside the ranges whatever it claims
    with connect((LB, port), source="127.0.0.7") as s:  # inside: served, the header stripped
        s.sendall(build_v2(("10.9.9.9", 1), (LB, port)) + b"z")
        assert read_line(s) == b"a\n" and s.recv(1) == b"z"
    stats = engine.stats()
    assert (stats["untrusted_proxy"], stats["refused"]) == (2, 1)


def test_max_connections_resets_the_excess_at_once(engine: ThreadedEngine, backends: Peers) -> None:
    port = free_port()
    engine.listen(LB, port, tcp(backends.tcp("a"), max_connections=2))
    held = [connect((LB, port)) for _ in range(2)]
    try:
        assert [read_line(s) for s in held] == [b"a\n", b"a\n"]
        assert refused((LB, port))
        assert engine.stats()["over_limit"] == 1
        held.pop().close()
        wait_for(lambda: engine.stats()["active"] == 1, message="the closed connection forgotten")
        assert who((LB, port)) == "a"
    finally:
        for s in held:
            s.close()


@pytest.mark.parametrize("version", [1, 2])
def test_send_proxy_protocol_carries_client(engine: ThreadedEngine, version: int) -> None:
    with socket.socket() as backend:
        backend.bind(("127.0.0.1", 0))
        backend.listen()
        backend.settimeout(5)
        port = free_port()
        engine.listen(LB, port, tcp(backend.getsockname(), send_proxy_protocol=version))
        with connect((LB, port), source="127.0.0.5") as client:
            client_port = client.getsockname()[1]
            client.sendall(b"data")
            conn, _ = backend.accept()
            with conn:
                conn.settimeout(5)
                got = b""
                while not got.endswith(b"data"):
                    got += conn.recv(4096)
        header = parse(got)
        assert header is not None and header.version == version
        assert header.source == ("127.0.0.5", client_port)
        assert header.destination == (LB, port)
        assert got[header.length:] == b"data"


def test_thousand_concurrent_connections(engine: ThreadedEngine, backends: Peers) -> None:
    raise_nofile(8192)
    port = free_port()
    engine.listen(LB, port, tcp(backends.tcp("a")))
    socks = []
    try:
        for _ in range(1000):
            s = connect((LB, port))
            socks.append(s)
        for i, s in enumerate(socks):
            assert read_line(s) == b"a\n"
            assert echo(s, b"%d" % i) == b"%d" % i
        stats = engine.stats()
        assert stats["active"] == 1000
        # idle connections hold no pipe
        assert stats["pipes_in_use"] == 0
    finally:
        for s in socks:
            s.close()
    wait_for(lambda: engine.stats()["active"] == 0, timeout=10)


def test_runs_on_uvloop(backends: Peers) -> None:
    with ThreadedEngine(use_uvloop=True) as engine:
        addrs = [backends.tcp(n) for n in "ab"]
        port = free_port()
        engine.listen(LB, port, tcp(*addrs))
        assert collections.Counter(who((LB, port)) for _ in range(4)) == {"a": 2, "b": 2}
        with connect((LB, port)) as s:
            read_line(s)
            assert echo(s, b"y" * 300_000) == b"y" * 300_000


def test_unanswered_dial_times_out_and_moves_on(engine: ThreadedEngine, backends: Peers) -> None:
    """A backend whose accept queue is full drops SYNs: the 250 ms dial timeout moves on."""
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(0)
    fillers = []
    try:
        for _ in range(4):  # fill the accept queue; later SYNs are dropped
            f = socket.socket()
            f.setblocking(False)
            f.connect_ex(blackhole.getsockname())
            fillers.append(f)
        alive = backends.tcp("alive")
        port = free_port()
        engine.listen(LB, port, tcp(blackhole.getsockname(), alive, connect_attempts=2))
        assert [who((LB, port)) for _ in range(2)] == ["alive", "alive"]
        # depending on the shuffle the hole comes first for one or both connections; each
        # dial to it times out after 250 ms and the next endpoint answers
        assert engine.stats()["connect_failures"] in (1, 2)
    finally:
        for f in fillers:
            f.close()
        blackhole.close()


@pytest.mark.parametrize("protocol", ["TCP", "UDP"])
def test_backend_sees_the_listener_address_as_source(engine: ThreadedEngine, protocol: str) -> None:
    kind = socket.SOCK_STREAM if protocol == "TCP" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as backend:
        backend.bind(("127.0.0.1", 0))
        backend.settimeout(5)
        port = free_port("127.0.0.9", kind)
        engine.listen("127.0.0.9", port, ListenerConfig(protocol, (Backend(*backend.getsockname()),)))  # type: ignore[arg-type]
        with socket.socket(socket.AF_INET, kind) as client:
            client.settimeout(5)
            if protocol == "TCP":
                backend.listen()
                client.connect(("127.0.0.9", port))
                conn, peer = backend.accept()
                conn.close()
            else:
                client.sendto(b"x", ("127.0.0.9", port))
                _, peer = backend.recvfrom(10)
        assert peer[0] == "127.0.0.9"
