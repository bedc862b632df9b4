"""The HTTP plumbing every emulator shares: a threaded server on loopback, optionally TLS, run on a
daemon thread; a request-handler base; and waiting in the foreground for ``ccm emulator``.

* :class:`HttpEmulator` - an emulator's lifecycle: ``start`` (the server on a daemon thread),
  ``stop``, ``with``, ``port``, ``url``. A subclass says which handler serves it
  (:meth:`HttpEmulator.handler_class`) and, for HTTPS, its TLS context
  (:meth:`HttpEmulator.ssl_context`); handlers reach the emulator as ``self.server.owner``.
* :class:`Handler` - HTTP/1.1 keep-alive on a TCP_NODELAY socket, the body read by
  Content-Length, and each answer written in one ``write``: separate writes for head and body
  cost ~40 ms per call through Nagle and delayed ACKs.
* :func:`serve_until_signalled` - ``ccm emulator <cloud>``: serve until SIGTERM or Ctrl-C.

Emulators keep their own wire formats (routes, error envelopes, headers); only this is shared.
"""

from __future__ import annotations

import json
import logging
import signal
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

log = logging.getLogger(__name__)


class BodyTooLarge(ValueError):
    """A request body over the handler's ``max_body``."""


class ThreadedServer(ThreadingHTTPServer):
    """One thread per connection, on IPv4 or IPv6 by the host's spelling; with ``ssl_context`` the TLS
    handshake runs on that thread (not in ``accept``), so one slow client cannot stall the others."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], owner: Any,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.owner = owner
        self.ssl_context = ssl_context
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def finish_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket):
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | ssl.SSLError | TimeoutError):
            return  # a client that hangs up mid-request is not the emulator's problem
        log.error("emulator: error serving %s", client_address, exc_info=True)


class HttpEmulator:
    """An emulator served on ``http(s)://<host>:<port>`` (port 0: an ephemeral one)."""

    #: the server thread's name (``<thread_name>:<port>``)
    thread_name = "emulator"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._requested_port = port
        self._server: ThreadedServer | None = None

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def ssl_context(self) -> ssl.SSLContext | None:
        """The serving TLS context, or None for plain HTTP (called once per ``start``)."""
        return None

    def start(self) -> Self:
        """Listen and serve on a daemon thread; returns the emulator."""
        server = ThreadedServer((self.host, self._requested_port), self.handler_class(), self, self.ssl_context())
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                         name=f"{self.thread_name}:{server.server_address[1]}", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start() if self._server is None else self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the emulator first"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the emulator first"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self._server.ssl_context is not None else 'http'}://{host}:{self.port}"


class Handler(BaseHTTPRequestHandler):
    """The request side every emulator shares; subclasses route and render."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    #: refuse larger bodies (:class:`BodyTooLarge`); None: no limit
    max_body: int | None = None

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.client_address[0], *args)

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if self.max_body is not None and length > self.max_body:
            raise BodyTooLarge(f"request body of {length} bytes (at most {self.max_body})")
        return self.rfile.read(length) if length > 0 else b""

    def respond(self, status: int, headers: Iterable[tuple[str, str]], payload: bytes = b"") -> None:
        """Status line, ``headers`` and ``payload`` in one write."""
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:  # a status Python has no name for: an empty reason phrase, as HTTP allows
            reason = ""
        head = "\r\n".join([f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers)])
        self.wfile.write((head + "\r\n\r\n").encode("latin-1") + payload)
        self.wfile.flush()


def json_or_none(raw: bytes) -> Any:
    """A request body as JSON, None when blank; ValueError when it is not JSON."""
    return json.loads(raw) if raw.strip() else None


def serve_until_signalled(emulator: HttpEmulator, announce: Callable[[], None]) -> None:
    """``ccm emulator``: start, ``announce`` (print the endpoint...), serve until SIGTERM or Ctrl-C, stop.

    The SIGTERM handler is in place before the first line is printed: a caller that reads it may
    stop the emulator at once.
    """
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    emulator.start()
    try:
        announce()
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
