"""Stand-ins for nodes at provider level: a node-port server and a switchable health server.

The node-port server is the demo's backend (it names itself in every reply), so a test
sees which node the load balancer picked; the health server answers 200 or 503.
"""

from __future__ import annotations

import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ccm.demo.backends import Backend, BackendSpec


def loopback_prefix() -> str:
    """A random 127.a.b prefix, so parallel test runs on one machine do not collide."""
    return f"127.{random.randint(100, 250)}.{random.randint(0, 255)}"


class HealthServer:
    def __init__(self, ip: str, port: int) -> None:
        self.healthy = True
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                self.send_response(200 if outer.healthy else 503)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((ip, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class FakeNode:
    """A node at ``ip``: node port ``node_port`` (TCP+UDP) answering with its name, plus health."""

    def __init__(self, name: str, ip: str, node_port: int, health_port: int) -> None:
        self.name = name
        self.ip = ip
        self.backend = Backend(BackendSpec(name=f"np-{name}", node=name, ip=ip, port=node_port)).start()
        self.health = HealthServer(ip, health_port)

    def stop(self) -> None:
        self.backend.stop()
        self.health.stop()
