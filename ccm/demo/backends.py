"""Small HTTP + UDP backends standing in for pods, each knowing its name and node.

A backend answers every HTTP GET and every UDP datagram with one line naming itself
and the node it is "scheduled" on. With ``externalTrafficPolicy: Local`` a node
proxy forwards only to endpoints on its own node, so that node is also the node the
load balancer sent the request through; nothing is guessed from addresses.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class BackendSpec:
    name: str
    node: str
    ip: str
    port: int

    def reply(self, client: str) -> str:
        return f"hello from {self.name} on {self.node} ({self.ip}:{self.port}), you are {client}\n"


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer

    def do_GET(self) -> None:
        body = self.server.spec.reply(f"{self.client_address[0]}:{self.client_address[1]}").encode()
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

    def __init__(self, spec: BackendSpec) -> None:
        self.spec = spec
        super().__init__((spec.ip, spec.port), _Handler)


class Backend:
    """One fake pod: an HTTP server and a UDP responder on the same ip:port."""

    def __init__(self, spec: BackendSpec) -> None:
        self.spec = spec
        self._http = _HTTPServer(spec)
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
                self._udp.sendto(self.spec.reply(f"{peer[0]}:{peer[1]}").encode(), peer)
            except OSError:
                continue

    def start(self) -> Backend:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._http.shutdown()
        self._http.server_close()
        for t in self._threads:
            t.join(timeout=2)
        self._udp.close()
