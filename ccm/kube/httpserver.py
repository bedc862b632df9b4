"""The /metrics, /healthz, /readyz and /livez endpoints every ccm process serves.

A stdlib threading HTTP server is enough: scrapes and probes are rare and tiny, and it keeps
the endpoints alive even when the process's main work is stuck (which is what probes are
for). Checks return ``(ok, reason)``; a failing check answers 503 with the reason.

Optionally HTTPS (``tls``: the handshake runs on the request's thread, bounded by ``timeout``,
so a client that never finishes it holds nothing but its own thread) and a ``guard`` in front of
every handler (the delegated authentication and authorization of the secure port: it returns
``(status, body)`` to refuse a request). Named ``checks`` appear as ``/healthz/<name>`` and
take part in ``/healthz``, as upstream's controller health checks do.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

log = logging.getLogger(__name__)

Check = Callable[[], tuple[bool, str]]
#: (method, path, headers) -> None to serve, or (status, JSON body) to answer instead
Guard = Callable[[str, str, Mapping[str, str]], "tuple[int, bytes] | None"]
#: seconds a client may take for the TLS handshake and for sending its request line and headers
REQUEST_TIMEOUT = 10.0


def _always_ok() -> tuple[bool, str]:
    return True, "ok"


def _run(check: Check, path: str) -> tuple[bool, str]:
    try:
        return check()
    except Exception as exc:
        log.exception("%s check failed", path)
        return False, f"check raised {exc!r}"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = REQUEST_TIMEOUT

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        if self.server.guard is not None:
            refused = self.server.guard(self.command, path, self.headers)  # type: ignore[arg-type]
            if refused is not None:
                self._reply(refused[0], refused[1], "application/json")
                return
        if path == "/metrics":
            self._reply(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
            return
        ok, reason = self._check(path)
        if ok is None:
            self._reply(404, b"not found\n")
        elif ok:
            self._reply(200, b"ok")
        else:
            self._reply(503, (reason or "not ok").encode())

    def _check(self, path: str) -> tuple[bool | None, str]:
        srv = self.server
        if path.startswith("/healthz/") and path[len("/healthz/"):] in srv.named:
            return _run(srv.named[path[len("/healthz/"):]], path)
        check = srv.checks.get(path)
        if check is None:
            return None, ""
        ok, reason = _run(check, path)
        if path == "/healthz":
            failed = [f"{name}: {why}" for name, c in srv.named.items() for good, why in [_run(c, name)] if not good]
            if failed:
                return False, "; ".join(failed)
        return ok, reason

    do_HEAD = do_GET

    def _reply(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if status in (401, 403):
            self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    checks: dict[str, Check]
    named: dict[str, Check]
    guard: Guard | None = None
    tls: ssl.SSLContext | None = None

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = super().get_request()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def finish_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket):
            request.settimeout(REQUEST_TIMEOUT)
            try:
                request.do_handshake()
            except (OSError, ssl.SSLError) as exc:  # a plain-HTTP client, a scanner, a stalled handshake
                log.debug("TLS handshake with %s failed: %s", client_address, exc)
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("error serving %s", client_address, exc_info=True)


class _Server6(_Server):
    address_family = socket.AF_INET6


class HealthServer:
    """Serve metrics and probes on ``host:port`` (port 0 picks a free port; read ``.port``).

    Raises OSError from the constructor when the address cannot be bound (port in use, an address
    this host does not have); callers turn it into one line naming the address.
    """

    def __init__(self, host: str, port: int, *, healthz: Check | None = None,
                 readyz: Check | None = None, livez: Check | None = None,
                 checks: Mapping[str, Check] | None = None, tls: ssl.SSLContext | None = None,
                 guard: Guard | None = None) -> None:
        self.host = host
        self._server = (_Server6 if ":" in host else _Server)((host, port), _Handler)
        self._server.checks = {
            "/healthz": healthz or _always_ok,
            "/readyz": readyz or _always_ok,
            "/livez": livez or _always_ok,
        }
        self._server.named = dict(checks or {})
        self._server.tls = tls
        self._server.guard = guard
        self.port: int = self._server.server_address[1]
        self.scheme = "https" if tls is not None else "http"
        self._thread: threading.Thread | None = None

    def add_check(self, name: str, check: Check) -> None:
        """A named check under ``/healthz/<name>`` that also gates ``/healthz``."""
        self._server.named[name] = check

    def remove_check(self, name: str) -> None:
        self._server.named.pop(name, None)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else ("[::1]" if self.host == "::" else self.host)
        return f"{self.scheme}://{host}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True, name=f"health-{self.port}")
        self._thread.start()
        log.info("serving /metrics /healthz /readyz /livez on %s://%s:%d", self.scheme, self.host, self.port)

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()
