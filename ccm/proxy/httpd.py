"""A tiny HTTP/1.x responder that answers the way Go's net/http does, header order included.

kube-proxy's health endpoints are probed by load balancers that some users match
byte-for-byte, so the responses mirror Go's ``chunkWriter.writeHeader``: handler headers
sorted by name, then ``Date``, ``Content-Length`` and ``Connection`` (``close`` on HTTP/1.1
when asked, ``keep-alive`` on an HTTP/1.0 keep-alive); status lines with Go's reason
phrases; HEAD gets the headers without a body; a malformed request Go's bare 400.

Unlike kube-proxy's servers (a bare ``http.Server``, no timeouts), each request must arrive
whole, head and body, within ``header_timeout`` of the server starting to wait for it (after
accept, or after the previous answer on a kept-alive connection), so a slowloris trickling
headers is cut off. A server holds at most ``max_connections``; a new connection beyond that
evicts the one that has waited longest for its request (refusing the new one instead would let
an attacker holding the slots starve the real probes, which send their request at once and
are answered within a millisecond, long before they could be the oldest waiting).
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
MAX_BODY = 65536  # request bodies are read and dropped; a bigger one ends the connection
#: net/http's reply to a request it cannot parse (no Date, no Content-Length)
BAD_REQUEST = (b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
               b"Connection: close\r\n\r\n400 Bad Request")
#: seconds for a whole request to arrive (probes send it at once; load balancers time out in 2-10 s)
HEADER_TIMEOUT = 10.0
#: connections one server holds at once (a few per load balancer probing it are expected)
MAX_CONNECTIONS = 1024

#: (method, path) -> (status, headers, body)
Handler = Callable[[str, str], tuple[int, list[tuple[str, str]], bytes]]


def render(version: str, status: int, headers: list[tuple[str, str]], body: bytes, *,
           close: bool, head: bool, date: str | None = None) -> bytes:
    lines = [f"{version} {status} {REASONS.get(status, '')}"]
    lines += [f"{k}: {v}" for k, v in sorted(headers)]
    lines.append(f"Date: {date or email.utils.formatdate(usegmt=True)}")
    lines.append(f"Content-Length: {len(body)}")
    if version == "HTTP/1.1" and close:
        lines.append("Connection: close")
    elif version == "HTTP/1.0" and not close:
        lines.append("Connection: keep-alive")
    out = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return out if head else out + body


def not_found() -> tuple[int, list[tuple[str, str]], bytes]:
    """Go's ``http.NotFound``."""
    return 404, [("Content-Type", "text/plain; charset=utf-8"), ("X-Content-Type-Options", "nosniff")], \
        b"404 page not found\n"


class HttpServer:
    """Serves ``handler`` on an already-bound listening socket (bind errors surface to the caller)."""

    def __init__(self, sock: socket.socket, handler: Handler, name: str, *,
                 header_timeout: float = HEADER_TIMEOUT, max_connections: int = MAX_CONNECTIONS) -> None:
        self.sock = sock
        self.handler = handler
        self.name = name
        self.header_timeout = header_timeout
        self.max_connections = max_connections
        self.timed_out = 0  # connections closed with a request still incomplete
        self.evicted = 0  # closed waiting for a request, to make room for a new connection
        self.over_limit = 0  # closed at accept: max_connections were open and none was waiting
        self._server: asyncio.AbstractServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        #: handlers waiting for a request, longest-waiting first (the eviction order)
        self._waiting: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._evicting: set[asyncio.Task[None]] = set()  # aborted, their tasks still finishing
        self._closed = False

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._task = loop.create_task(self._serve())

    async def _serve(self) -> None:
        self._server = await asyncio.start_server(self._handle, sock=self.sock)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if self._closed:  # accepted in the same loop turn as close()
            writer.close()
            return
        if len(self._handlers) - len(self._evicting) >= self.max_connections and not self._make_room():
            writer.close()
            return
        self._handlers.add(task)
        try:
            while True:
                self._waiting[task] = writer
                try:
                    async with asyncio.timeout(self.header_timeout):
                        request = await self._read_request(reader, writer)
                except TimeoutError:
                    self.timed_out += 1
                    return
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                finally:
                    self._waiting.pop(task, None)
                if request is None:
                    return
                method, target, version, headers = request
                tokens = {t.strip() for t in headers.get("connection", "").lower().split(",")}
                close = "close" in tokens or (version == "HTTP/1.0" and "keep-alive" not in tokens)
                status, rheaders, body = self.handler(method, target.split("?", 1)[0])
                writer.write(render(version, status, rheaders, body, close=close, head=method == "HEAD"))
                async with asyncio.timeout(self.header_timeout):  # a client that never reads
                    await writer.drain()
                if close:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, TimeoutError):
            return
        finally:
            self._handlers.discard(task)
            self._evicting.discard(task)
            writer.close()

    def _make_room(self) -> bool:
        """Abort the connection waiting longest for its request; False when none is waiting."""
        if not self._waiting:
            self.over_limit += 1
            return False
        task, writer = next(iter(self._waiting.items()))
        del self._waiting[task]
        writer.transport.abort()  # its descriptor is freed now, not when the task next runs
        task.cancel()
        self._evicting.add(task)
        self.evicted += 1
        if self.evicted == 1 or self.evicted % 1000 == 0:
            log.warning("%s: %d connections open: closed the one waiting longest for a request "
                        "(%d so far)", self.name, self.max_connections, self.evicted)
        return True

    @staticmethod
    async def _read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                            ) -> tuple[str, str, str, dict[str, str]] | None:
        """One request's method, target, version and headers (its body read and dropped); None ends
        the connection (after Go's bare 400 when the request line is not HTTP/1.x)."""
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > MAX_HEAD:
            return None
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            writer.write(BAD_REQUEST)
            return None
        method, target, version = parts
        version = "HTTP/1.0" if version == "HTTP/1.0" else "HTTP/1.1"  # Go answers 1.x > 1 as 1.1
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        if length > MAX_BODY:
            return None
        if length:
            await reader.readexactly(length)
        return method, target, version, headers

    def close(self) -> None:
        """Stop accepting and cancel the connected probes; ``wait_closed`` awaits them.

        A handler left pending when its loop stops would later touch a closed loop
        ("Event loop is closed", "Task was destroyed but it is pending").
        """
        self._closed = True
        if self._server is not None:
            self._server.close()
        elif self._task is not None:
            self._task.cancel()
        self.sock.close()
        for task in self._handlers:
            task.cancel()

    async def wait_closed(self) -> None:
        tasks = [t for t in (self._task, *self._handlers) if t is not None]
        await asyncio.gather(*tasks, return_exceptions=True)

    async def aclose(self) -> None:
        self.close()
        await self.wait_closed()

    @property
    def done(self) -> bool:
        """Closed and every task finished."""
        return self._closed and all(t.done() for t in (self._task, *self._handlers) if t is not None)
