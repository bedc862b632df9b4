"""Small HTTP + UDP backends standing in for pods, each knowing its name and node.

A backend answers every HTTP GET and every UDP datagram with one line naming itself,
the node it is "scheduled" on, and the node that forwarded the request. The last one
is read from the connection: the node proxy dials backends from its node's address,
so the peer address maps to exactly one node (``peers``); an unknown peer is shown as
it is. With ``externalTrafficPolicy: Local`` the two nodes are always the same.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class BackendSpec:
    name: str
    node: str
    ip: str
    port: int

    def reply(self, peer: tuple[str, int], peers: Mapping[str, str]) -> str:
        """``peer`` is the forwarding node proxy's address, not the client's (proxies do not keep it)."""
        via = peers.get(peer[0], "an unknown peer")
        return (f"hello from {self.name} on {self.node} ({self.ip}:{self.port}), "
                f"forwarded by {via} ({peer[0]}:{peer[1]})\n")


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer

    def do_GET(self) -> None:
        body = self.server.spec.reply(self.client_address, self.server.peers).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Backend", self.server.spec.name)
        self.send_header("X-Node", self.server.spec.node)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s: " + format, self.server.spec.name, *args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, spec: BackendSpec, peers: Mapping[str, str]) -> None:
        self.spec = spec
        self.peers = peers
        super().__init__((spec.ip, spec.port), _Handler)


class Backend:
    """One fake pod: an HTTP server and a UDP responder on the same ip:port."""

    def __init__(self, spec: BackendSpec, peers: Mapping[str, str] | None = None) -> None:
        """``peers`` maps a node proxy's source address to its node name."""
        self.spec = spec
        self.peers: Mapping[str, str] = peers or {}
        self._http = _HTTPServer(spec, self.peers)
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._udp.bind((spec.ip, spec.port))
        except OSError:
            self._http.server_close()
            self._udp.close()
            raise
        self._udp.settimeout(0.2)
        self._stopped = threading.Event()
        self._threads = [
            threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.1},
                             name=f"backend-http-{spec.name}", daemon=True),
            threading.Thread(target=self._serve_udp, name=f"backend-udp-{spec.name}", daemon=True),
        ]

    def _serve_udp(self) -> None:
        while not self._stopped.is_set():
            try:
                _, peer = self._udp.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                self._udp.sendto(self.spec.reply(peer, self.peers).encode(), peer)
            except OSError:
                continue

    def start(self) -> Backend:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        try:  # wake the UDP thread now rather than at its next receive timeout
            self._udp.sendto(b"", self._udp.getsockname())
        except OSError:
            pass
        self._http.shutdown()
        self._http.server_close()
        for t in self._threads:
            t.join(timeout=2)
        self._udp.close()
