"""The node proxy under attack and on a bad day: fd exhaustion, idle connections, slowloris, PROXY headers, UDP flood.

Each scenario runs the data plane in a child process (``tests.reliability.proxyharness``) and
prints one markdown table row per figure; ``tests/reliability/test_node_proxy.py`` asserts the
same properties with small counts. Counts are capped by the descriptor limits this process may
set (as root: up to fs.nr_open; otherwise the inherited hard limit): the header says which.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import socket
import threading
import time
from collections.abc import Callable

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
    latencies,
    percentile,
    served_by,
    tcp_listener,
    udp_listener,
)
from tests.reliability.proxyharness import udp_flood as flood
from tests.util import wait_for

LB = "127.0.0.1"
Row = tuple[str, str]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="smaller counts (about a minute)")
    parser.add_argument("--only", default="fd,idle,slowloris,proxy-protocol,udp",
                        help="comma-separated scenarios")


def _raise_own_limit(wanted: int) -> int:
    """Raise this process's RLIMIT_NOFILE towards ``wanted`` (hard too, when allowed); returns the soft limit."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    for new_hard in (max(hard, wanted), hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, new_hard), new_hard))
            break
        except (OSError, ValueError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _ms(seconds: float) -> str:
    return "timeout" if seconds == float("inf") else f"{seconds * 1000:.1f} ms"


# -- scenarios ---------------------------------------------------------------------------------

def fd_exhaustion(backends: Peers, quick: bool) -> list[Row]:
    """A burst past a 1,024-descriptor limit (the issue's: 1,500 connections), then the clients go."""
    limit, burst_size = (256, 400) if quick else (1024, 1500)
    port = free_port()
    with ProxyProcess({"listeners": [tcp_listener(LB, port, [backends.tcp("a")])]}) as proxy:
        served_by((LB, port))
        # an odd number of descriptors left: some accept gets the last one and its dial fails
        baseline = proxy.open_fds()
        limit += (limit - baseline) % 2 == 0
        proxy.limit_open_files(limit)
        burst = connect_many((LB, port), burst_size)
        try:
            wait_for(lambda: proxy.open_fds() >= limit - 1, timeout=30)
            during = first_lines(burst, timeout=2.0)
        finally:
            close_all(burst)
        left = time.monotonic()
        wait_for(lambda: served_by((LB, port), timeout=1.0) == "a", timeout=60)
        recovered = time.monotonic() - left
        wait_for(lambda: proxy.stats()["active"] == 0, timeout=30)
        close_wait = proxy.tcp_states()["CLOSE_WAIT"]
        stats = proxy.stats()
    return [
        ("fd limit / burst", f"{limit} descriptors / {burst_size} connections"),
        ("during exhaustion (2 s)", str(during)),
        ("time to serve again after the clients left", _ms(recovered)),
        ("CLOSE-WAIT sockets left", str(close_wait)),
        ("EMFILE events / accept pauses", f"{stats['fd_exhausted']} / {stats['accept_pauses']}"),
    ]


def idle_connections(backends: Peers, quick: bool) -> list[Row]:
    """N idle connections held through one Service; another Service's latency meanwhile."""
    wanted = 2000 if quick else 10000
    own = _raise_own_limit(2 * wanted + 512)  # clients and backends of the held connections live here
    count = min(wanted, (own - 512) // 2)
    idle_port, other_port = free_port(), free_port()
    a, b = backends.tcp("a"), backends.tcp("b")
    spec = {"listeners": [tcp_listener(LB, idle_port, [a]), tcp_listener(LB, other_port, [b])]}
    probes = 200 if quick else 1000
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    with ProxyProcess(spec, nofile=(min(hard, 2 * count + 512), hard)) as proxy:
        served_by((LB, idle_port))
        base = latencies((LB, other_port), probes)
        before = proxy.rss_kib()
        began = time.monotonic()
        held = connect_many((LB, idle_port), count, timeout=30)
        try:
            outcome = first_lines(held, timeout=60)
            wait_for(lambda: proxy.stats()["active"] == count, timeout=60)
            setup = time.monotonic() - began
            after = proxy.rss_kib()
            loaded = latencies((LB, other_port), probes)
        finally:
            close_all(held)
        wait_for(lambda: proxy.stats()["active"] == 0, timeout=60)
        released = proxy.rss_kib()
    ok = sum(x != float("inf") for x in loaded)
    return [
        ("idle connections held", f"{count} ({outcome}), set up in {setup:.1f} s"),
        ("proxy RSS", f"{before / 1024:.1f} MiB -> {after / 1024:.1f} MiB held -> {released / 1024:.1f} MiB after"),
        ("RSS per idle connection", f"{(after - before) / count:.2f} KiB"),
        (f"other Service, {probes} new connections: served", f"{ok}/{probes}"),
        ("other Service latency p50 / p99, idle", f"{_ms(percentile(base, 50))} / {_ms(percentile(base, 99))}"),
        ("other Service latency p50 / p99, connections held",
         f"{_ms(percentile(loaded, 50))} / {_ms(percentile(loaded, 99))}"),
    ]


def slowloris(quick: bool) -> list[Row]:
    """Slow connections trickling a request head to the health-check port while probes keep coming."""
    count, timeout = (500, 2.0) if quick else (3000, 10.0)  # full: the default header timeout
    _raise_own_limit(count + 512)
    port = free_port()
    probe = b"GET /healthz HTTP/1.1\r\nHost: lb\r\nConnection: close\r\n\r\n"
    spec = {"health": {"ip": LB, "port": port, "header_timeout": timeout, "max_connections": 1024}}
    results: list[float] = []
    stop = threading.Event()

    def prober() -> None:
        while not stop.is_set():
            began = time.perf_counter()
            try:
                with socket.create_connection((LB, port), timeout=5) as s:
                    s.sendall(probe)
                    ok = s.recv(64).startswith(b"HTTP/1.1 200 OK")
            except OSError:
                ok = False
            results.append(time.perf_counter() - began if ok else float("inf"))
            time.sleep(0.01)

    with ProxyProcess(spec) as proxy:
        thread = threading.Thread(target=prober, daemon=True)
        thread.start()
        slow: list[socket.socket] = []
        began = time.monotonic()
        try:
            for i in range(count):  # open them all, each with a partial head ...
                try:
                    s = socket.create_connection((LB, port), timeout=5)
                except OSError:
                    continue
                slow.append(s)
                try:
                    s.sendall(probe[: 1 + i % 30])
                except OSError:
                    pass
            for _ in range(3):  # ... and keep trickling one more byte a second
                time.sleep(1.0)
                for s in slow:
                    try:
                        s.send(b"X")
                    except OSError:
                        pass
            wait_for(lambda: proxy.stats()["health_timed_out"] + proxy.stats()["health_evicted"] >= len(slow),
                     timeout=timeout * 4 + 30)
            all_closed = time.monotonic() - began
        finally:
            stop.set()
            thread.join(10)
            close_all(slow)
        stats = proxy.stats()
    ok = [x for x in results if x != float("inf")]
    return [
        ("slow connections / header timeout / connection limit", f"{len(slow)} / {timeout:.0f} s / 1024"),
        ("slow connections closed: timed out / evicted at the limit",
         f"{stats['health_timed_out']} / {stats['health_evicted']} (all within {all_closed:.1f} s)"),
        ("real probes answered during the attack", f"{len(ok)}/{len(results)}"),
        ("probe latency p50 / p99", f"{_ms(percentile(results, 50))} / {_ms(percentile(results, 99))}"),
    ]


def _malformed(rng: random.Random, dst: tuple[str, int]) -> bytes:
    """A broken header: a valid one mutated, cut short, or noise."""
    good = rng.choice([build_v1, build_v2])((f"10.{rng.randrange(256)}.0.1", rng.randrange(65536)), dst)
    kind = rng.randrange(5)
    if kind == 0:  # flip bytes in the signature or the command
        i = rng.randrange(min(16, len(good)))
        return good[:i] + bytes([good[i] ^ 0xFF]) + good[i + 1:]
    if kind == 1:  # an int()-lenient port
        return f"PROXY TCP4 10.0.0.1 10.0.0.2 {rng.choice(['+1', '1_0', '080', ' 1', '-1', '65536'])} 80\r\n".encode()
    if kind == 2:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 120))).replace(b"\r", b"").replace(
            b"P", b"Q") + b"\r\n"
    if kind == 3:  # a v2 header announcing more than the parser accepts
        return V2_SIGNATURE + b"\x21\x11" + rng.randrange(1100, 65536).to_bytes(2, "big")
    return b"PROXY TCP4 " + bytes(rng.choice(b"0123456789. ") for _ in range(rng.randrange(60, 100))) + b"\r\n"


def proxy_headers(backends: Peers, quick: bool) -> list[Row]:
    """Malformed, stalled, forged and valid PROXY headers at a listener that accepts them."""
    n = 200 if quick else 1000
    port = free_port()
    lb, attacker = "127.0.0.2", "127.0.0.5"
    config = tcp_listener(LB, port, [backends.tcp("a")], accept_proxy_protocol=True,
                          source_ranges=["10.0.0.0/8"], proxy_protocol_trusted=[f"{lb}/32"])
    rng = random.Random(8)
    with ProxyProcess({"listeners": [config], "proxy_header_timeout": 1.0}) as proxy:
        def count(results: list[str]) -> str:
            return f"{results.count('a')} served, {len(results) - results.count('a')} closed"

        malformed = [served_by((LB, port), source=lb, preamble=_malformed(rng, (LB, port))) for _ in range(n)]
        stalled_socks = connect_many((LB, port), n // 10, source=lb)
        for s in stalled_socks:
            s.sendall(b"PROXY TCP4 10.0.0.1 ")
        stalled = first_lines(stalled_socks, timeout=5.0)
        close_all(stalled_socks)
        valid = [served_by((LB, port), source=lb, preamble=rng.choice([build_v1, build_v2])(
            (f"10.1.{i % 256}.{i // 256 + 1}", 1000 + i), (LB, port))) for i in range(n)]
        outside = [served_by((LB, port), source=lb, preamble=build_v2(("192.0.2.1", i + 1), (LB, port)))
                   for i in range(n // 5)]
        forged = [served_by((LB, port), source=attacker, preamble=rng.choice([build_v1, build_v2])(
            ("10.0.0.1", i + 1), (LB, port))) for i in range(n)]
        wait_for(lambda: proxy.stats()["active"] == 0, timeout=30)
        stats = proxy.stats()
        close_wait = proxy.tcp_states()["CLOSE_WAIT"]
    return [
        ("malformed, from the trusted LB", count(malformed)),
        ("stalled (never completed)", f"{stalled.refused} closed at the header timeout, {stalled.served} served, "
                                      f"{stalled.pending} open after 5 s"),
        ("valid, allowed client, via the trusted LB", count(valid)),
        ("valid, client outside loadBalancerSourceRanges", count(outside)),
        ("forged (allowed client claimed by an untrusted peer)", count(forged)),
        ("engine counters: bad header / untrusted / out of range",
         f"{stats['proxy_protocol_errors']} / {stats['untrusted_proxy']} / {stats['refused']}"),
        ("connections left open / CLOSE-WAIT", f"{stats['active']} / {close_wait}"),
    ]


def udp_flood_scenario(quick: bool) -> list[Row]:
    """New-source datagrams past the flow table, paced, while one client keeps talking."""
    flows, rate, seconds = (2000, 5000, 3.0) if quick else (10000, 5000, 10.0)
    port = free_port(kind=socket.SOCK_DGRAM)
    with UdpPortEcho() as backend, \
            ProxyProcess({"listeners": [udp_listener(LB, port, [backend.addr], max_udp_flows=flows)]},
                         nofile=(flows + 1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1])) as proxy, \
            UdpClient((LB, port), timeout=0.5) as client:
        ask = client.ask
        first = wait_for(ask, timeout=5)
        before = proxy.rss_kib()
        answers: list[str] = []
        stop = threading.Event()

        def talk() -> None:
            while not stop.is_set():
                answers.append(ask())
                time.sleep(0.01)

        talker = threading.Thread(target=talk, daemon=True)
        talker.start()
        began = time.monotonic()
        sent = 0
        while (elapsed := time.monotonic() - began) < seconds:
            due = int(elapsed * rate) + rate // 100
            if due > sent:
                flood((LB, port), due - sent, first=sent)
                sent = due
            else:
                time.sleep(0.005)
        took = time.monotonic() - began
        stop.set()
        talker.join(5)
        try:  # drained; or some were dropped by the kernel (its receive buffer full)
            wait_for(lambda: proxy.stats()["udp_datagrams"] >= sent, timeout=2)
        except AssertionError:
            pass
        stats = proxy.stats()
        after = proxy.rss_kib()
    return [
        ("flow table / new sources offered", f"{flows} / {sent} in {took:.1f} s ({sent / took:,.0f} new flows/s)"),
        ("datagrams the proxy read (the rest dropped by the kernel)", f"{stats['udp_datagrams']}"),
        ("flows at the end / evicted", f"{stats['udp_flows']} / {stats['udp_evicted']}"),
        ("proxy RSS growth", f"{(after - before) / 1024:.1f} MiB ({(after - before) / max(1, stats['udp_flows']):.2f}"
                             " KiB per flow held)"),
        ("the talking client: answered / by its first flow",
         f"{sum(bool(a) for a in answers)}/{len(answers)} / {answers.count(first)}/{len(answers)}"),
    ]


def run(args: argparse.Namespace) -> int:
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    load = os.getloadavg()
    print(f"## Node proxy ({'quick' if args.quick else 'full'} counts; load average {load[0]:.2f} "
          f"on {os.cpu_count()} CPUs; uid {os.geteuid()}, descriptor limits "
          f"{resource.getrlimit(resource.RLIMIT_NOFILE)})\n")
    scenarios: list[tuple[str, str, Callable[[Peers], list[Row]]]] = [
        ("fd", "fd exhaustion and recovery", lambda p: fd_exhaustion(p, args.quick)),
        ("idle", "idle connections", lambda p: idle_connections(p, args.quick)),
        ("slowloris", "slowloris on the health-check node port", lambda p: slowloris(args.quick)),
        ("proxy-protocol", "malformed and forged PROXY headers", lambda p: proxy_headers(p, args.quick)),
        ("udp", "UDP flood", lambda p: udp_flood_scenario(args.quick)),
    ]
    for key, title, scenario in scenarios:
        if key not in only:
            continue
        began = time.monotonic()
        with peers() as backends:
            rows = scenario(backends)
        print(f"### {title} ({time.monotonic() - began:.0f} s)\n\n| figure | value |\n|---|---|")
        for name, value in rows:
            print(f"| {name} | {value} |")
        print(flush=True)
    return 0
