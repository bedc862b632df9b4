"""HTTP for the emulator: one port, four services by path prefix, JSON in and out.

Requests are matched against the route table (``routes.Table``), then handed to the emulator,
which authenticates, injects faults and runs the handler under its state lock. Replies are written
in one ``sendall`` on a TCP_NODELAY socket (HTTP/1.1 keep-alive): separate writes for head and body
cost ~40 ms per call through Nagle and delayed ACKs. ``/_emulator/`` is the owner's admin API.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from emulators.openstack.errors import ApiError, BadRequest, MethodNotAllowed, NotFound

if TYPE_CHECKING:
    from emulators.openstack.emulator import OpenStackEmulator

log = logging.getLogger(__name__)

ADMIN = "/_emulator/"
#: path prefix -> service (for the error format of answers no route claims)
PREFIXES = (("/identity", "identity"), ("/load-balancer", "load-balancer"), ("/networking", "network"),
            ("/compute", "compute"))
MAX_BODY = 4 * 1024 * 1024


def service_of(path: str) -> str:
    return next((svc for prefix, svc in PREFIXES if path == prefix or path.startswith(prefix + "/")), "load-balancer")


def normalise(path: str) -> str:
    """Octavia answers on ``/v2`` and ``/v2.0`` alike; trailing slashes do not matter."""
    path = path.rstrip("/") or "/"
    if path.startswith("/load-balancer/v2.0"):
        path = "/load-balancer/v2" + path[len("/load-balancer/v2.0"):]
    return path


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], emulator: OpenStackEmulator) -> None:
        self.emulator = emulator
        super().__init__(address, Handler)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.client_address[0], *args)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None or status == 204 else json.dumps(body).encode()
        lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
        if data:
            lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(data)}")
        lines.extend(f"{k}: {v}" for k, v in (headers or {}).items())
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
        self.wfile.flush()

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise BadRequest("Request body too large.")
        raw = self.rfile.read(length) if length else b""
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise BadRequest("Malformed JSON in request body.") from None

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        path = normalise(unquote(url.path))
        query = parse_qs(url.query, keep_blank_values=True)
        emu = self.server.emulator
        service = service_of(path)
        try:
            body = self._body()
            if url.path.startswith(ADMIN):
                status, out = emu.admin(self.command, url.path[len(ADMIN):].strip("/"), body)
                self._send(status, out)
                return
            found = emu.table.match(self.command, path)
            if isinstance(found, str):
                raise MethodNotAllowed(f"The method {self.command} is not allowed for this resource.",
                                       headers={"Allow": found})
            if found is None:
                raise NotFound(f"The resource could not be found: {url.path}")
            route, params = found
        except ApiError as exc:
            self._send(exc.status, exc.render(service), exc.headers)
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, out, reply_headers = emu.serve(route, params, query=query, body=body, headers=headers, path=path)
        self._send(status, out, reply_headers)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _dispatch


def serve_in_thread(server: Server) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name=f"openstack-emulator:{server.server_address[1]}", daemon=True)
    thread.start()
    return thread
