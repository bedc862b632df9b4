"""A small cluster for namespace tests: the embedded API, three nodes each running
``ccm node-proxy --mode nftables`` in its namespace, backends in the pod namespaces, and
helpers to drive Services and send packets from the client namespace."""

from __future__ import annotations

import contextlib
import functools
import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes.client as k

from ccm.proxy.nftables.plan import Dest
from ccm.proxy.nftables.rules import chain_name, endpoint_name
from tests.proxy import objects as o
from tests.proxy.nftables.netns import (
    API_IP,
    Backends,
    Relay,
    Topology,
    admin_token_file,
    socket_in,
    topology,
)
from tests.util import wait_for

CLIENT = "10.0.0.100"
DENIED_CLIENT = "10.0.0.101"
TABLE = ("ip", "ccm-proxy")
API_PORT = 6443


class Cluster:
    """``ccm apiserver`` in the api namespace, node proxies in the node namespaces."""

    def __init__(self, topo: Topology, tmp: Path) -> None:
        self.topo = topo
        self.tmp = tmp
        self.kubeconfig = tmp / "kubeconfig"
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        # a non-loopback bind needs authentication: an admin token from a 0600 file
        token, token_file = admin_token_file(tmp)
        with open(tmp / "apiserver.log", "ab") as log:
            self.apiserver = subprocess.Popen(
                ["ip", "netns", "exec", topo.api, sys.executable, "-m", "ccm", "apiserver", "--host", API_IP,
                 "--port", str(API_PORT), "--kubeconfig", str(self.kubeconfig), "--watch-history", "20000",
                 "--token-file", str(token_file)],
                stdout=subprocess.DEVNULL, stderr=log)
        self.backends = [Backends(ns) for ns in topo.pods]
        self.relay = Relay(None, (API_IP, API_PORT), connect_ns=topo.api)
        cfg = k.Configuration()
        cfg.host = f"http://127.0.0.1:{self.relay.port}"
        cfg.api_key = {"authorization": f"Bearer {token}"}
        self.api = k.ApiClient(cfg)
        self.core: Any = k.CoreV1Api(self.api)
        self.disc: Any = k.DiscoveryV1Api(self.api)
        wait_for(self.kubeconfig.exists, timeout=30, message="ccm apiserver started")
        for i in range(1, len(topo.nodes) + 1):
            node = o.node(f"node{i}", [topo.node_ip(i)])
            wait_for(functools.partial(self.core.create_node, node), timeout=10, message=f"Node node{i} created")

    # -- node proxies ----------------------------------------------------------------------
    def proxy_argv(self, i: int, *extra: str) -> list[str]:
        return ["ip", "netns", "exec", self.topo.nodes[i - 1], sys.executable, "-m", "ccm", "node-proxy",
                "--mode", "nftables", "--node-name", f"node{i}", "--kubeconfig", str(self.kubeconfig),
                "--healthz-bind-address", f"{self.topo.node_ip(i)}:10256", *extra]

    def start_proxy(self, i: int) -> None:
        log = open(self.tmp / f"proxy-{i}.log", "ab")  # noqa: SIM115 - owned by the process
        self.procs[i] = subprocess.Popen(self.proxy_argv(i), stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def kill_proxy(self, i: int, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(i)
        proc.send_signal(sig)
        proc.wait(20)

    def log(self, i: int) -> str:
        return (self.tmp / f"proxy-{i}.log").read_text(errors="replace")

    def healthz(self, i: int) -> bool:
        try:
            return http_get(self.topo.client, self.topo.node_ip(i), 10256, "/healthz")[0] == 200
        except OSError:
            return False

    # -- kernel ---------------------------------------------------------------------------
    def nft(self, i: int, *args: str, check: bool = True) -> str:
        return self.topo.exec(self.topo.nodes[i - 1], "nft", *args, check=check)

    def table(self, i: int) -> list[dict[str, Any]]:
        out = self.nft(i, "-j", "list", "table", *TABLE, check=False)
        return json.loads(out)["nftables"] if out else []

    def chain(self, i: int, service: str, port: str = "http", proto: str = "tcp", prefix: str = "external") -> str:
        name = chain_name(prefix, f"default/{service}/{proto}/{port}")
        return self.nft(i, "list", "chain", *TABLE, name, check=False)

    def set_elements(self, i: int, service: str, dest: Dest, port: str = "http", proto: str = "tcp") -> list[Any]:
        name = endpoint_name("affinity", f"default/{service}/{proto}/{port}", dest)
        out = self.nft(i, "-j", "list", "set", *TABLE, name)
        return list(json.loads(out)["nftables"][1]["set"].get("elem") or ())

    def wait_endpoints(self, service: str, count: int, nodes: tuple[int, ...] = (1, 2, 3), *,
                       port: str = "http", proto: str = "tcp", prefix: str = "external") -> None:
        """Until each node's chain picks among ``count`` endpoints (``service`` prefix: affinity)."""
        def ready(i: int) -> bool:
            text = self.chain(i, service, port, proto, prefix)
            if count > 1:
                return f"numgen inc mod {count} 0 " in text and f"numgen inc mod {count + 1} " not in text
            return "numgen" not in text and ("dnat to" in text or "goto endpoint-" in text)

        for i in nodes:
            wait_for(lambda i=i: ready(i), timeout=20,
                     message=lambda i=i: f"{service} with {count} endpoints on node{i}: "
                     f"{self.chain(i, service, port, proto, prefix)}\n{self.log(i)[-3000:]}")

    # -- API objects ----------------------------------------------------------------------
    def service(self, name: str, ports: list[dict[str, Any]], **kw: Any) -> None:
        self.core.create_namespaced_service("default", o.service(name, ports, **kw))

    def endpoints(self, name: str, endpoints: list[dict[str, Any]], ports: list[tuple[str, int, str]]) -> None:
        body = o.endpoint_slice(name, endpoints, ports)
        try:
            self.disc.replace_namespaced_endpoint_slice(f"{name}-abc", "default", body)
        except k.ApiException as e:
            if e.status != 404:
                raise
            self.disc.create_namespaced_endpoint_slice("default", body)

    def ingress(self, name: str, ip: str, mode: str = "VIP") -> None:
        self.core.patch_namespaced_service_status(
            name, "default", {"status": {"loadBalancer": {"ingress": [{"ip": ip, "ipMode": mode}]}}})

    def close(self) -> None:
        for i in list(self.procs):
            with contextlib.suppress(Exception):
                self.kill_proxy(i, signal.SIGTERM)
        self.relay.close()
        for b in self.backends:
            b.close()
        self.api.close()
        self.apiserver.terminate()
        self.apiserver.wait(20)


@contextlib.contextmanager
def cluster(tmp: Path) -> Iterator[Cluster]:
    with topology(3) as topo:
        c = Cluster(topo, tmp)
        try:
            for i in (1, 2, 3):
                c.start_proxy(i)
            for i in (1, 2, 3):
                wait_for(lambda i=i: c.healthz(i), timeout=30,
                         message=lambda i=i: f"node{i} proxy ready: {c.log(i)[-3000:]}")
            yield c
        finally:
            c.close()


# -- packets from the client namespace ----------------------------------------------------------

def tcp_who(ns: str, dst: str, port: int, src: str = CLIENT, timeout: float = 3.0) -> tuple[str, str]:
    """Connect through the proxy; (backend name, the source address the backend saw)."""
    with socket_in(ns) as s:
        s.settimeout(timeout)
        s.bind((src, 0))
        s.connect((dst, port))
        name, peer = s.makefile("rb").readline().decode().split()
        return name, peer


def tcp_open(ns: str, dst: str, port: int, src: str = CLIENT) -> tuple[socket.socket, str]:
    s = socket_in(ns)
    s.settimeout(3)
    s.bind((src, 0))
    s.connect((dst, port))
    return s, _line(s).split()[0]


def _line(s: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(1)
        if not chunk:
            break
        data += chunk
    return data.decode()


def echo(s: socket.socket, payload: bytes) -> bytes:
    s.sendall(payload)
    got = b""
    while len(got) < len(payload):
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    return got


def dropped(ns: str, dst: str, port: int, src: str = CLIENT, timeout: float = 0.5) -> bool:
    """True when a connection attempt gets no answer at all (dropped, not refused)."""
    try:
        tcp_who(ns, dst, port, src, timeout)
    except TimeoutError:
        return True
    except OSError:
        return False
    return False


def udp_ask(s: socket.socket, dst: str, port: int, payload: bytes = b"hi") -> str:
    """The name of the backend that answered a datagram on ``s``."""
    s.sendto(payload, (dst, port))
    data, _ = s.recvfrom(65536)
    return data.decode().split()[0]


def http_get(ns: str, ip: str, port: int, path: str) -> tuple[int, bytes]:
    with socket_in(ns) as s:
        s.settimeout(3)
        s.connect((ip, port))
        s.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body
