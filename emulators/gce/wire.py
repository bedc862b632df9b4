"""HTTP for the emulator: Compute Engine's REST paths, JSON bodies, Google's error envelope.

Requests under ``/compute/v1/`` are matched against the route table, checked (optionally)
against the discovery document, passed through fault injection and served by the state. The
reply is written in one ``sendall`` on a TCP_NODELAY socket (HTTP/1.1 keep-alive; separate
writes for headers and body cost ~40 ms per call through Nagle and delayed ACKs). A small admin
API under ``/_emulator/`` lets people outside the process seed instances, inject faults, list
what is held and reset.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from emulators.gce import routes
from emulators.gce.errors import GoogleError, Invalid, MethodNotAllowed, NotFound

if TYPE_CHECKING:
    from emulators.gce.emulator import GceEmulator

log = logging.getLogger(__name__)

PREFIX = "/compute/v1/"
ADMIN = "/_emulator/"


@dataclass(frozen=True)
class Call:
    """One API call as the emulator saw it (for call counting and assertions)."""

    method_id: str
    mutating: bool
    status: int


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], emulator: GceEmulator) -> None:
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

    def _send(self, status: int, body: Any) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: application/json; charset=UTF-8\r\n"
                f"Content-Length: {len(data)}\r\n\r\n").encode()
        self.wfile.write(head + data)
        self.wfile.flush()

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise Invalid(f"Invalid JSON payload received. {raw[:60]!r}") from None

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        emu = self.server.emulator
        try:
            body = self._body()
            if url.path.startswith(ADMIN):
                status, out = emu.admin(self.command, url.path[len(ADMIN):], body)
                self._send(status, out)
                return
            if not url.path.startswith(PREFIX):
                raise NotFound(f"The requested URL {url.path} was not found on this server.")
            path = unquote(url.path[len(PREFIX):])
            try:
                found = routes.match(self.command, path)
            except routes.WrongMethod:
                raise MethodNotAllowed(f"{self.command} is not allowed on {url.path}") from None
            if found is None:
                raise NotFound(f"The requested URL {url.path} was not found on this server.")
            route, params = found
        except GoogleError as exc:
            self._send(exc.status, exc.body())
            return
        status, out = emu.serve(route, params, query, body)
        self._send(status, out)

    do_GET = do_POST = do_DELETE = do_PATCH = do_PUT = _dispatch


def serve_in_thread(server: Server) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name=f"gce-emulator:{server.server_address[1]}", daemon=True)
    thread.start()
    return thread
