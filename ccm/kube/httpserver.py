"""The /metrics, /healthz, /readyz and /livez endpoints every ccm process serves.

A stdlib threading HTTP server is enough: scrapes and probes are rare and tiny, and it keeps
the endpoints alive even when the process's main work is stuck (which is what probes are
for). Checks return ``(ok, reason)``; a failing check answers 503 with the reason.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

log = logging.getLogger(__name__)

Check = Callable[[], tuple[bool, str]]


def _always_ok() -> tuple[bool, str]:
    return True, "ok"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        if path == "/metrics":
            self._reply(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
            return
        check = self.server.checks.get(path)
        if check is None:
            self._reply(404, b"not found\n")
            return
        try:
            ok, reason = check()
        except Exception as exc:
            log.exception("%s check failed", path)
            ok, reason = False, f"check raised {exc!r}"
        if ok:
            self._reply(200, b"ok")
        else:
            self._reply(503, (reason or "not ok").encode())

    def _reply(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    checks: dict[str, Check]


class HealthServer:
    """Serve metrics and probes on ``host:port`` (port 0 picks a free port; read ``.port``)."""

    def __init__(self, host: str, port: int, *, healthz: Check | None = None,
                 readyz: Check | None = None, livez: Check | None = None) -> None:
        self.host = host
        self._server = _Server((host, port), _Handler)
        self._server.checks = {
            "/healthz": healthz or _always_ok,
            "/readyz": readyz or _always_ok,
            "/livez": livez or _always_ok,
        }
        self.port: int = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True, name=f"health-{self.port}")
        self._thread.start()
        log.info("serving /metrics /healthz /readyz /livez on %s:%d", self.host, self.port)

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()
