"""kube-proxy's health endpoints, compared byte for byte over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator

import pytest

from ccm.proxy.engine import ThreadedEngine
from ccm.proxy.engine.tcp import bind_socket
from ccm.proxy.health import ProxyHealth, ServiceHealth, go_time
from ccm.proxy.httpd import HttpServer

DATE = re.compile(rb"Date: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\n")
GO_TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,9})? \+0000 UTC m=\+\d+\.\d{9}"


_served: list[HttpServer] = []


@pytest.fixture
def loop_engine() -> Iterator[ThreadedEngine]:
    """An engine loop for the servers; those ``serve`` started are closed and awaited before it stops."""
    with ThreadedEngine() as e:
        try:
            yield e
        finally:
            servers, _served[:] = list(_served), []
            for server in servers:
                asyncio.run_coroutine_threadsafe(server.aclose(), e.loop).result(5)


def serve(engine: ThreadedEngine, handler) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    sock = bind_socket("127.0.0.1", 0, socket.SOCK_STREAM)
    server = HttpServer(sock, handler, "test")
    engine.call(server.start, engine.loop)
    _served.append(server)
    return sock.getsockname()[:2]


def request(addr: tuple[str, int], raw: bytes) -> bytes:
    with socket.create_connection(addr, timeout=5) as s:
        s.sendall(raw)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return DATE.sub(b"Date: X\r\n", data)


def get(addr: tuple[str, int], path: str = "/", method: str = "GET") -> bytes:
    return request(addr, f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())


SERVICE_BODY = (b'{\n\t"service": {\n\t\t"namespace": "ns",\n\t\t"name": "svc"\n\t},\n'
                b'\t"localEndpoints": 2,\n\t"serviceProxyHealthy": true\n}')


def test_service_health_is_byte_exact(loop_engine: ThreadedEngine) -> None:
    handler = ServiceHealth(ProxyHealth(), "ns", "svc", 2)
    addr = serve(loop_engine, handler.handle)
    # kube-proxy's headers in Go's order: the handler's sorted by name, then Date, Content-Length
    expected = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n"
                b"X-Load-Balancing-Endpoint-Weight: 2\r\n"
                b"Date: X\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(SERVICE_BODY)) + SERVICE_BODY
    assert get(addr) == expected
    # any method, any path
    assert get(addr, "/whatever/else", "POST") == expected
    # HTTP/1.0 without keep-alive: no Connection header, same body
    assert request(addr, b"GET / HTTP/1.0\r\n\r\n") == expected.replace(b"HTTP/1.1", b"HTTP/1.0").replace(
        b"Connection: close\r\n", b"")


def test_service_health_503_without_local_endpoints_or_when_unhealthy(loop_engine: ThreadedEngine) -> None:
    proxy = ProxyHealth(health_timeout=0.0)
    handler = ServiceHealth(proxy, "ns", "svc", 0)
    addr = serve(loop_engine, handler.handle)
    reply = get(addr)
    assert reply.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"\r\nX-Load-Balancing-Endpoint-Weight: 0\r\n" in reply
    assert reply.endswith(b'"localEndpoints": 0,\n\t"serviceProxyHealthy": true\n}')
    handler.local_endpoints = 1
    assert get(addr).startswith(b"HTTP/1.1 200 OK\r\n")
    proxy.queued()  # an update pending longer than the (zero) timeout
    reply = get(addr)
    assert reply.startswith(b"HTTP/1.1 503 ") and reply.endswith(b'"serviceProxyHealthy": false\n}')


def test_keep_alive_serves_several_requests(loop_engine: ThreadedEngine) -> None:
    addr = serve(loop_engine, ServiceHealth(ProxyHealth(), "ns", "svc", 2).handle)
    with socket.create_connection(addr, timeout=5) as s:
        for _ in range(3):
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while not data.endswith(b"}"):
                data += s.recv(4096)
            assert data.startswith(b"HTTP/1.1 200 OK") and b"Connection" not in data


def test_healthz_and_livez_formats(loop_engine: ThreadedEngine) -> None:
    proxy = ProxyHealth()
    addr = serve(loop_engine, proxy.handle)
    reply = get(addr, "/healthz")
    head, body = reply.split(b"\r\n\r\n", 1)
    assert head.split(b"\r\n") == [b"HTTP/1.1 200 OK", b"Content-Type: application/json",
                                   b"X-Content-Type-Options: nosniff", b"Date: X",
                                   b"Content-Length: %d" % len(body), b"Connection: close"]
    m = re.fullmatch(rf'\{{"lastUpdated": "({GO_TIME})","currentTime": "({GO_TIME})", "nodeEligible": true\}}',
                     body.decode())
    assert m, body
    assert m.group(1) == m.group(3)  # healthy: lastUpdated is currentTime
    live = get(addr, "/livez").split(b"\r\n\r\n", 1)[1].decode()
    assert re.fullmatch(rf'\{{"lastUpdated": "{GO_TIME}","currentTime": "{GO_TIME}"\}}', live)


def test_healthz_fails_for_ineligible_node_but_livez_does_not(loop_engine: ThreadedEngine) -> None:
    proxy = ProxyHealth()
    proxy.node_eligible = False
    addr = serve(loop_engine, proxy.handle)
    healthz = get(addr, "/healthz")
    assert healthz.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert healthz.endswith(b'"nodeEligible": false}')
    assert get(addr, "/livez").startswith(b"HTTP/1.1 200 OK\r\n")


def test_stale_update_fails_both_and_reports_last_update(loop_engine: ThreadedEngine) -> None:
    proxy = ProxyHealth(health_timeout=0.0)
    addr = serve(loop_engine, proxy.handle)
    proxy.queued()
    for path in ("/healthz", "/livez"):
        reply = get(addr, path)
        assert reply.startswith(b"HTTP/1.1 503 ")
        times = re.findall(GO_TIME.encode().replace(rb"(\.\d{1,9})?", rb"(?:\.\d{1,9})?"), reply)
        assert len(times) == 2 and times[0] != times[1]


def test_other_paths_get_go_404(loop_engine: ThreadedEngine) -> None:
    addr = serve(loop_engine, ProxyHealth().handle)
    assert get(addr, "/metrics") == (
        b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"X-Content-Type-Options: nosniff\r\nDate: X\r\nContent-Length: 19\r\nConnection: close\r\n\r\n"
        b"404 page not found\n")


def test_head_has_no_body(loop_engine: ThreadedEngine) -> None:
    addr = serve(loop_engine, ServiceHealth(ProxyHealth(), "ns", "svc", 2).handle)
    reply = get(addr, "/", "HEAD")
    assert reply.endswith(b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(SERVICE_BODY))


def test_http10_keep_alive_is_answered_like_go(loop_engine: ThreadedEngine) -> None:
    addr = serve(loop_engine, ServiceHealth(ProxyHealth(), "ns", "svc", 2).handle)
    with socket.create_connection(addr, timeout=5) as s:
        for _ in range(2):  # the connection stays open for the second request
            s.sendall(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
            data = b""
            while not data.endswith(SERVICE_BODY):
                data += s.recv(4096)
            assert DATE.sub(b"Date: X\r\n", data).startswith(
                b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n"
                b"X-Load-Balancing-Endpoint-Weight: 2\r\nDate: X\r\nContent-Length: %d\r\nConnection: keep-alive\r\n\r\n" % len(SERVICE_BODY))


def test_malformed_request_gets_gos_bare_400(loop_engine: ThreadedEngine) -> None:
    addr = serve(loop_engine, ProxyHealth().handle)
    assert request(addr, b"NONSENSE\r\n\r\n") == (
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
        b"400 Bad Request")


def test_go_time_string() -> None:
    assert go_time(1_700_000_000_123_400_000, 0.0).startswith("2023-11-14 22:13:20.1234 +0000 UTC m=")
    assert go_time(1_700_000_000_000_000_000, 0.0).startswith("2023-11-14 22:13:20 +0000 UTC m=")


def test_close_cancels_and_awaits_connected_probes(loop_engine: ThreadedEngine) -> None:
    """A keep-alive probe still connected when the server closes: its task ends, the probe sees EOF."""
    sock = bind_socket("127.0.0.1", 0, socket.SOCK_STREAM)
    server = HttpServer(sock, ServiceHealth(ProxyHealth(), "ns", "svc", 1).handle, "test")
    loop_engine.call(server.start, loop_engine.loop)
    with socket.create_connection(sock.getsockname()[:2], timeout=5) as probe:
        probe.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert probe.recv(4096).startswith(b"HTTP/1.1 200 OK")  # kept open (keep-alive)
        assert not server.done
        asyncio.run_coroutine_threadsafe(server.aclose(), loop_engine.loop).result(5)
        assert server.done
        assert probe.recv(4096) == b""
    pending = loop_engine.call(lambda: [t for t in asyncio.all_tasks(loop_engine.loop)
                                        if "_handle" in repr(t.get_coro())])
    assert pending == []


def test_slowloris_is_cut_off_and_real_probes_still_answered(loop_engine: ThreadedEngine) -> None:
    """Half-sent requests time out; at the connection limit the longest-waiting one makes room."""
    sock = bind_socket("127.0.0.1", 0, socket.SOCK_STREAM)
    server = HttpServer(sock, ServiceHealth(ProxyHealth(), "ns", "svc", 2).handle, "test",
                        header_timeout=0.5, max_connections=4)
    loop_engine.call(server.start, loop_engine.loop)
    _served.append(server)
    addr = sock.getsockname()[:2]
    slow = []
    try:
        for _ in range(4):
            s = socket.create_connection(addr, timeout=5)
            s.sendall(b"GET / HTTP/1.1\r\nHo")  # and nothing more
            slow.append(s)
        assert get(addr).startswith(b"HTTP/1.1 200 OK")  # the limit is reached: the oldest made room
        assert server.evicted == 1
        for s in slow:  # every half-sent request ends, by eviction or by the header timeout
            try:
                assert s.recv(100) == b""
            except ConnectionResetError:
                pass
        assert server.timed_out == 3
        assert get(addr).startswith(b"HTTP/1.1 200 OK")
    finally:
        for s in slow:
            s.close()
