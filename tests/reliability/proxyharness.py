"""Helpers of the node-proxy reliability harness, shared by tests/reliability and bench/reliability.py.

``ProxyProcess`` runs ``tests.reliability.proxyserver`` (the node proxy's data plane) as a child
with the descriptor limit the caller chooses, and looks at it from outside: its counters over a
pipe, its resident memory and its sockets' TCP states from ``/proc`` (so a CLOSE-WAIT socket the
proxy forgot is seen even when the proxy cannot open a file). Clients and backends live in the
caller's process; every wait has a deadline.
"""

from __future__ import annotations

import collections
import ipaddress
import json
import os
import resource
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.proxy.helpers import with_open_files_limit

REPO = Path(__file__).resolve().parents[2]
#: /proc/net/tcp state codes (include/net/tcp_states.h)
TCP_STATES = {"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2",
              "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN",
              "0B": "CLOSING"}


class ProxyProcess:
    """The data plane in a child process; a context manager (``quit`` on exit, killed if stuck)."""

    def __init__(self, spec: dict[str, Any], *, nofile: tuple[int, int] | None = None) -> None:
        self.spec = spec
        self.nofile = nofile
        self.proc: subprocess.Popen[str] | None = None
        self._log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115  # closed in __exit__
        self._lock = threading.Lock()

    def __enter__(self) -> ProxyProcess:
        argv = [sys.executable, "-m", "tests.reliability.proxyserver", json.dumps(self.spec)]
        if self.nofile is not None:
            argv = with_open_files_limit(argv, *self.nofile)
        self.proc = subprocess.Popen(argv, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._log, text=True)
        line = self._readline(30)
        if not json.loads(line or "{}").get("ready"):
            log = self.log()
            self.__exit__()
            raise RuntimeError(f"the proxy did not start: {line!r}\n{log}")
        return self

    def __exit__(self, *exc: object) -> None:
        proc = self.proc
        if proc is None:
            return
        try:
            if proc.poll() is None and proc.stdin is not None:
                proc.stdin.write("quit\n")
                proc.stdin.flush()
            proc.wait(15)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(5)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()
        self._log.close()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def _readline(self, timeout: float) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError(f"no answer from the proxy in {timeout} s\n{self.log()}")
        return self.proc.stdout.readline()

    def stats(self) -> dict[str, int]:
        assert self.proc is not None and self.proc.stdin is not None
        with self._lock:
            self.proc.stdin.write("stats\n")
            self.proc.stdin.flush()
            return json.loads(self._readline(30))  # type: ignore[no-any-return]

    def log(self) -> str:
        self._log.flush()
        self._log.seek(0)
        return self._log.read()

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def limit_open_files(self, limit: int) -> None:
        """Set the running proxy's RLIMIT_NOFILE (soft and hard) from outside, as ``prlimit`` does."""
        resource.prlimit(self.pid, resource.RLIMIT_NOFILE, (limit, limit))

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def tcp_states(self) -> collections.Counter[str]:
        """TCP states of the sockets this process holds (by inode, from /proc/net/tcp and tcp6)."""
        inodes = set()
        for fd in os.listdir(f"/proc/{self.pid}/fd"):
            try:
                target = os.readlink(f"/proc/{self.pid}/fd/{fd}")
            except OSError:  # closed meanwhile
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        states: collections.Counter[str] = collections.Counter()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                lines = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                if fields[9] in inodes:
                    states[TCP_STATES.get(fields[3], fields[3])] += 1
        return states


def free_port(ip: str = "127.0.0.1", kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((ip, 0))
        return int(s.getsockname()[1])


def tcp_listener(ip: str, port: int, backends: Iterable[tuple[str, int]], **options: Any) -> dict[str, Any]:
    return {"ip": ip, "port": port, "protocol": "TCP", "backends": [list(b) for b in backends], **options}


def udp_listener(ip: str, port: int, backends: Iterable[tuple[str, int]], **options: Any) -> dict[str, Any]:
    return {"ip": ip, "port": port, "protocol": "UDP", "backends": [list(b) for b in backends], **options}


@dataclass
class Outcomes:
    """What happened to a set of connections waiting for the backend's first line."""

    served: int = 0  # the backend answered through the proxy
    refused: int = 0  # closed or reset by the proxy without an answer
    pending: int = 0  # nothing by the deadline (still in the accept backlog, or held)

    def __str__(self) -> str:
        return f"served {self.served}, refused {self.refused}, no answer {self.pending}"


def connect_many(addr: tuple[str, int], count: int, *, source: str | None = None,
                 timeout: float = 5.0) -> list[socket.socket]:
    """``count`` connections (the kernel completes them from the listen backlog, accepted or not)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.settimeout(timeout)
            if source:
                s.bind((source, 0))
            s.connect(addr)
    except BaseException:
        close_all(socks)
        raise
    return socks


def close_all(socks: Iterable[socket.socket]) -> None:
    for s in socks:
        s.close()


def first_lines(socks: list[socket.socket], timeout: float) -> Outcomes:
    """Wait up to ``timeout`` for each connection's first bytes (or its end) and count the outcomes."""
    out = Outcomes()
    waiting = {s.fileno(): s for s in socks}
    deadline = time.monotonic() + timeout
    poller = select.epoll()
    try:
        for fd in waiting:
            poller.register(fd, select.EPOLLIN | select.EPOLLRDHUP)
        while waiting and (left := deadline - time.monotonic()) > 0:
            for fd, _ in poller.poll(left):
                s = waiting.pop(fd)
                poller.unregister(fd)
                try:
                    data = s.recv(64, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    waiting[fd] = s
                    poller.register(fd, select.EPOLLIN | select.EPOLLRDHUP)
                    continue
                except OSError:
                    data = b""
                if data:
                    out.served += 1
                else:
                    out.refused += 1
    finally:
        poller.close()
    out.pending = len(waiting)
    return out


def served_by(addr: tuple[str, int], source: str | None = None, preamble: bytes = b"",
              timeout: float = 2.0) -> str:
    """One connection through the proxy: the backend's name, or "" when closed (or reset) without one."""
    try:
        with socket.create_connection(addr, timeout=timeout, source_address=(source, 0) if source else None) as s:
            if preamble:
                s.sendall(preamble)
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(64)
                if not chunk:
                    return ""
                data += chunk
            return data.decode().strip()
    except (ConnectionResetError, BrokenPipeError):
        return ""


def latencies(addr: tuple[str, int], count: int, timeout: float = 5.0) -> list[float]:
    """Seconds from connect to the backend's first line, per fresh connection (failures: inf)."""
    out = []
    for _ in range(count):
        began = time.perf_counter()
        try:
            ok = bool(served_by(addr, timeout=timeout))
        except OSError:
            ok = False
        out.append(time.perf_counter() - began if ok else float("inf"))
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class UdpPortEcho:
    """A UDP backend answering each datagram with the sender's port: the client sees which of the
    proxy's upstream sockets (its flow) carried it."""

    def __init__(self, ip: str = "127.0.0.1") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, 0))
        self.sock.settimeout(0.2)
        self.addr: tuple[str, int] = self.sock.getsockname()[:2]
        self.received = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="udp-port-echo")
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                _, addr = self.sock.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            self.received += 1
            try:
                self.sock.sendto(str(addr[1]).encode(), addr)
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()

    def __enter__(self) -> UdpPortEcho:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class UdpClient:
    """One client flow through the proxy; ``ask()`` returns the backend's answer, "" on a timeout."""

    def __init__(self, target: tuple[str, int], ip: str = "127.0.0.1", timeout: float = 1.0) -> None:
        self.target = target
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, 0))
        self.sock.settimeout(timeout)

    def ask(self) -> str:
        self.sock.sendto(b"q", self.target)
        try:
            return self.sock.recvfrom(64)[0].decode()
        except TimeoutError:
            return ""

    def __enter__(self) -> UdpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


def flood_sources(count: int, first: int = 0) -> Iterator[tuple[str, int]]:
    """Distinct loopback addresses from 127.77.0.1 on, one per one-datagram flow."""
    base = int(ipaddress.IPv4Address("127.77.0.1"))
    for i in range(first, first + count):
        yield str(ipaddress.IPv4Address(base + i)), 0


def udp_flood(target: tuple[str, int], count: int, first: int = 0) -> None:
    """One datagram from each of ``count`` new source addresses (each a new flow for the proxy)."""
    for source in flood_sources(count, first):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(source)
            s.sendto(b"x", target)
