"""Network namespaces for data-plane tests: a LAN of nodes, pods behind each node, a client.

Every address lives inside namespaces this module creates (names unique per run); the
root namespace gets no interface or address. Code reaches into a namespace in two ways:
processes run under ``ip netns exec``, and sockets are created by a thread that joined the
namespace with ``setns`` (a socket stays in the namespace it was created in, whichever
thread uses it later). The API server runs as a process in its own namespace on the LAN,
as a control plane would; the test's own client reaches it through a relay on the root
namespace's loopback.

Topology (N nodes)::

    api ns     10.0.0.250 ---------+   (``ccm apiserver``: the control plane on the LAN)
    client ns  10.0.0.100, .101 ---+
    node i ns  10.0.0.i (eth0) ----+-- bridge in the switch ns (the LAN 10.0.0.0/24)
        '-- pods: 10.i.0.1 (veth) -- pod ns i: 10.i.0.10, .11, ... (default via 10.i.0.1)

Nodes forward (ip_forward=1) and route each other's pod subnets over the LAN; the client
routes the VIP subnet 10.0.100.0/24 to node 1, as a VIP-mode load balancer would deliver it,
and each pod subnet to its node.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import itertools
import os
import secrets
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
LAN = "10.0.0"
API_IP = f"{LAN}.250"
VIP_NET = "10.0.100.0/24"
_libc = ctypes.CDLL(None, use_errno=True)
_counter = itertools.count()


@functools.cache
def admin_token_file(tmp: Path) -> tuple[str, Path]:
    """A fresh admin token in a 0600 file: ``ccm apiserver`` on :data:`API_IP` (not loopback) needs one."""
    token = secrets.token_urlsafe(24)
    path = tmp / "api-token"
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return token, path


def unavailable() -> str | None:
    """Why namespace tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces and nftables)"
    for tool in ("ip", "nft", "conntrack"):
        if shutil.which(tool) is None:
            return f"needs the {tool!r} tool (apt-get install iproute2 nftables conntrack)"
    name = f"ccmprobe{os.getpid()}"
    probe = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return f"cannot create network namespaces: {probe.stderr.strip()}"
    try:
        nft = subprocess.run(["ip", "netns", "exec", name, "nft", "add", "table", "ip", "probe"],
                             capture_output=True, text=True, check=False)
        if nft.returncode != 0:
            return f"nftables does not work in a namespace: {nft.stderr.strip()}"
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
    return None


def ip(*args: str) -> None:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {proc.stderr.strip()}")


def run_in(ns: str, fn: Callable[..., T], *args: Any) -> T:
    """Call ``fn(*args)`` on a thread that joined network namespace ``ns``."""
    result: list[Any] = []

    def body() -> None:
        try:
            fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {ns}")
            finally:
                os.close(fd)
            result.append((True, fn(*args)))
        except BaseException as e:
            result.append((False, e))

    t = threading.Thread(target=body, name=f"netns-{ns}")
    t.start()
    t.join()
    ok, value = result[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


def socket_in(ns: str, kind: socket.SocketKind = socket.SOCK_STREAM,
              family: socket.AddressFamily = socket.AF_INET) -> socket.socket:
    return run_in(ns, socket.socket, family, kind)


class Relay:
    """Accepts on ``127.0.0.1:port`` in ``listen_ns``, forwards to ``target`` in ``connect_ns``
    (None: the root namespace)."""

    def __init__(self, listen_ns: str | None, target: tuple[str, int], connect_ns: str | None = None) -> None:
        self.target = target
        self.connect_ns = connect_ns
        self.sock = socket_in(listen_ns) if listen_ns else socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self._conns: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name=f"relay-{listen_ns}").start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            upstream = socket_in(self.connect_ns) if self.connect_ns else socket.socket()
            try:
                upstream.connect(self.target)
            except OSError:
                client.close()
                upstream.close()
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()
        for s in self._conns:
            s.close()


class Backends:
    """Echo servers in one pod namespace: TCP says ``name peer_ip`` then echoes; UDP answers
    ``name peer_ip:datagram``. The peer address shows whether the node masqueraded."""

    def __init__(self, ns: str) -> None:
        self.ns = ns
        self.loop = asyncio.new_event_loop()
        # the loop thread is started from inside the namespace: every socket it makes is there
        run_in(ns, self._start_thread)
        self._servers: dict[tuple[Any, ...], Any] = {}

    def _start_thread(self) -> None:
        threading.Thread(target=self.loop.run_forever, daemon=True, name=f"backends-{self.ns}").start()

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def tcp(self, name: str, ip: str, port: int) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peer = writer.get_extra_info("peername")[0]
            try:
                writer.write(f"{name} {peer}\n".encode())
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except OSError:
                pass
            finally:
                writer.close()

        async def start() -> None:
            self._servers[(ip, port)] = await asyncio.start_server(handle, ip, port, reuse_address=True)

        self._run(start())

    def udp(self, name: str, ip: str, port: int) -> None:
        class Echo(asyncio.DatagramProtocol):
            def connection_made(self, transport: Any) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: Any) -> None:
                self.transport.sendto(f"{name} {addr[0]}:".encode() + data, addr)

        async def start() -> None:
            transport, _ = await self.loop.create_datagram_endpoint(Echo, local_addr=(ip, port))
            self._servers[(ip, port, "udp")] = transport

        self._run(start())

    def close(self) -> None:
        async def stop() -> None:
            for server in self._servers.values():
                server.close()

        self._run(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)


class Topology:
    """The namespaces and links; ``close`` removes every namespace (also after failures)."""

    def __init__(self, nodes: int = 3) -> None:
        self.prefix = f"ccm{os.getpid() % 100000}x{next(_counter)}"
        self.switch = f"{self.prefix}-sw"
        self.client = f"{self.prefix}-cl"
        self.api = f"{self.prefix}-api"
        self.nodes = [f"{self.prefix}-n{i}" for i in range(1, nodes + 1)]
        self.pods = [f"{self.prefix}-p{i}" for i in range(1, nodes + 1)]
        self.created: list[str] = []

    def node_ip(self, i: int) -> str:
        return f"{LAN}.{i}"

    def pod_ip(self, node: int, k: int) -> str:
        return f"10.{node}.0.{10 + k}"

    def build(self, pods_per_node: int = 4) -> Topology:
        for ns in [self.switch, self.client, self.api, *self.nodes, *self.pods]:
            ip("netns", "add", ns)
            self.created.append(ns)
            ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        ip("-n", self.switch, "link", "set", "br0", "up")
        lan = [(self.client, "cl", [f"{LAN}.100", f"{LAN}.101"]), (self.api, "api", [API_IP])]
        lan += [(ns, f"n{i}", [self.node_ip(i)]) for i, ns in enumerate(self.nodes, 1)]
        for ns, port, addrs in lan:
            ip("-n", self.switch, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
            ip("-n", self.switch, "link", "set", port, "master", "br0", "up")
            for a in addrs:
                ip("-n", ns, "addr", "add", f"{a}/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
        ip("-n", self.client, "route", "add", VIP_NET, "via", self.node_ip(1))
        for i, (node, pod) in enumerate(zip(self.nodes, self.pods, strict=True), 1):
            _sysctl(node, "net.ipv4.ip_forward", "1")
            ip("-n", node, "link", "add", "pods", "type", "veth", "peer", "name", "eth0", "netns", pod)
            ip("-n", node, "addr", "add", f"10.{i}.0.1/24", "dev", "pods")
            ip("-n", node, "link", "set", "pods", "up")
            for k in range(pods_per_node):
                ip("-n", pod, "addr", "add", f"{self.pod_ip(i, k)}/24", "dev", "eth0")
            ip("-n", pod, "link", "set", "eth0", "up")
            ip("-n", pod, "route", "add", "default", "via", f"10.{i}.0.1")
            for j in range(1, len(self.nodes) + 1):
                if j != i:
                    ip("-n", node, "route", "add", f"10.{j}.0.0/24", "via", self.node_ip(j))
            # the client reaches pods through their node: the "direct" path of the bench
            ip("-n", self.client, "route", "add", f"10.{i}.0.0/24", "via", self.node_ip(i))
        return self

    def exec(self, ns: str, *argv: str, check: bool = True, timeout: float = 30) -> str:
        proc = subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True,
                              check=False, timeout=timeout)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} in {ns}: {proc.stderr.strip()}")
        return proc.stdout

    def close(self) -> None:
        for ns in reversed(self.created):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
        self.created.clear()


def _sysctl(ns: str, key: str, value: str) -> None:
    subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw", f"{key}={value}"], check=True,
                   capture_output=True)


@contextmanager
def topology(nodes: int = 3) -> Iterator[Topology]:
    topo = Topology(nodes)
    try:
        yield topo.build()
    finally:
        topo.close()
