"""A tiny HTTP/1.x responder that answers the way Go's net/http does, header order included.

kube-proxy's health endpoints are probed by load balancers that some users match
byte-for-byte, so the responses mirror Go: handler headers sorted by name, then
``Connection: close`` (when asked), ``Date`` and ``Content-Length``; status lines with Go's
reason phrases; HEAD gets the headers without a body.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import socket
from collections.abc import Callable

log = logging.getLogger(__name__)

REASONS = {200: "OK", 404: "Not Found", 400: "Bad Request", 503: "Service Unavailable"}
MAX_HEAD = 8192
IDLE_TIMEOUT = 60.0

#: (method, path) -> (status, headers, body)
Handler = Callable[[str, str], tuple[int, list[tuple[str, str]], bytes]]


def render(version: str, status: int, headers: list[tuple[str, str]], body: bytes, *,
           close: bool, head: bool, date: str | None = None) -> bytes:
    lines = [f"{version} {status} {REASONS.get(status, '')}"]
    lines += [f"{k}: {v}" for k, v in sorted(headers)]
    if close and version == "HTTP/1.1":
        lines.append("Connection: close")
    lines.append(f"Date: {date or email.utils.formatdate(usegmt=True)}")
    lines.append(f"Content-Length: {len(body)}")
    out = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return out if head else out + body


def not_found() -> tuple[int, list[tuple[str, str]], bytes]:
    """Go's ``http.NotFound``."""
    return 404, [("Content-Type", "text/plain; charset=utf-8"), ("X-Content-Type-Options", "nosniff")], \
        b"404 page not found\n"


class HttpServer:
    """Serves ``handler`` on an already-bound listening socket (bind errors surface to the caller)."""

    def __init__(self, sock: socket.socket, handler: Handler, name: str) -> None:
        self.sock = sock
        self.handler = handler
        self.name = name
        self._server: asyncio.AbstractServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._conns: set[asyncio.StreamWriter] = set()

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._task = loop.create_task(self._serve())

    async def _serve(self) -> None:
        self._server = await asyncio.start_server(self._handle, sock=self.sock)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.add(writer)
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT)
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                        ConnectionError):
                    return
                if len(head) > MAX_HEAD:
                    return
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                    writer.write(render("HTTP/1.1", 400, [("Content-Type", "text/plain; charset=utf-8")],
                                        b"400 Bad Request", close=True, head=False))
                    return
                method, target, version = parts
                headers = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0") or 0)
                if length:
                    await reader.readexactly(length)
                conn_hdr = headers.get("connection", "").lower()
                close = conn_hdr == "close" or (version == "HTTP/1.0" and conn_hdr != "keep-alive")
                status, rheaders, body = self.handler(method, target.split("?", 1)[0])
                writer.write(render(version, status, rheaders, body, close=close, head=method == "HEAD"))
                await writer.drain()
                if close:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            return
        finally:
            self._conns.discard(writer)
            writer.close()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        elif self._task is not None:
            self._task.cancel()
        self.sock.close()
        for writer in list(self._conns):
            writer.close()
