"""Loopback peers for proxy tests: named echo backends (TCP and UDP) on their own loop thread."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import socket
import sys
import threading
from collections.abc import Iterator


def free_port(ip: str = "127.0.0.1", kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((ip, 0))
        return int(s.getsockname()[1])


def with_open_files_limit(argv: list[str], soft: int, hard: int) -> list[str]:
    """``argv`` run under RLIMIT_NOFILE (soft, hard): a Python shim sets it and execs ``argv[0]``
    (an absolute path). Not ``preexec_fn``: it is unsafe in a process with threads (the tests'
    API servers and engines run in threads)."""
    shim = ("import os, resource, sys; "
            "resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[1]), int(sys.argv[2]))); "
            "os.execv(sys.argv[3], sys.argv[3:])")
    return [sys.executable, "-c", shim, str(soft), str(hard), *argv]


def raise_nofile(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


class Peers:
    """An asyncio loop thread hosting backends.

    A TCP backend writes ``name\\n`` when a connection opens, then echoes bytes until EOF and
    closes. A UDP backend answers each datagram with ``name:`` + the datagram.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._servers: dict[tuple[str, int], asyncio.AbstractServer] = {}
        self._udp: dict[tuple[str, int], asyncio.DatagramTransport] = {}
        self.writers: dict[tuple[str, int], set[asyncio.StreamWriter]] = {}
        self.accepted: dict[tuple[str, int], int] = {}

    def _run(self, coro):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def tcp(self, name: str, ip: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        async def start() -> tuple[str, int]:
            key: list[tuple[str, int]] = []

            async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                self.accepted[key[0]] = self.accepted.get(key[0], 0) + 1
                self.writers.setdefault(key[0], set()).add(writer)
                try:
                    writer.write(name.encode() + b"\n")
                    while data := await reader.read(1 << 16):
                        writer.write(data)
                        await writer.drain()
                except (ConnectionError, OSError):
                    pass
                finally:
                    self.writers[key[0]].discard(writer)
                    writer.close()

            server = await asyncio.start_server(handle, ip, port, backlog=2048)
            addr = server.sockets[0].getsockname()[:2]
            key.append(addr)
            self._servers[addr] = server
            return addr

        return self._run(start())  # type: ignore[no-any-return]

    def udp(self, name: str, ip: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        prefix = name.encode() + b":"

        class Echo(asyncio.DatagramProtocol):
            def connection_made(self, transport):  # type: ignore[no-untyped-def]
                self.transport = transport

            def datagram_received(self, data, addr):  # type: ignore[no-untyped-def]
                self.transport.sendto(prefix + data, addr)

        async def start() -> tuple[str, int]:
            transport, _ = await self.loop.create_datagram_endpoint(Echo, local_addr=(ip, port))
            addr = transport.get_extra_info("sockname")[:2]
            self._udp[addr] = transport
            return addr

        return self._run(start())  # type: ignore[no-any-return]

    def stop(self, addr: tuple[str, int]) -> None:
        """Stop a backend: no new connections, existing ones closed."""
        async def stop() -> None:
            if addr in self._servers:
                server = self._servers.pop(addr)
                server.close()
                for w in list(self.writers.get(addr, ())):
                    w.close()
            if addr in self._udp:
                self._udp.pop(addr).close()

        self._run(stop())

    def close(self) -> None:
        for addr in list(self._servers) + list(self._udp):
            self.stop(addr)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


@contextlib.contextmanager
def peers() -> Iterator[Peers]:
    p = Peers()
    try:
        yield p
    finally:
        p.close()


def connect(addr: tuple[str, int], source: str | None = None, timeout: float = 5.0) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect(addr)
    return s


def read_line(s: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(1)  # one byte at a time: what follows the line is the caller's
        if not chunk:
            break
        data += chunk
    return data


def who(addr: tuple[str, int], source: str | None = None, preamble: bytes = b"") -> str:
    """Open a connection through the proxy and return the name of the backend that answered."""
    with connect(addr, source) as s:
        if preamble:
            s.sendall(preamble)
        return read_line(s).decode().strip()


def echo(s: socket.socket, payload: bytes) -> bytes:
    s.sendall(payload)
    got = b""
    while len(got) < len(payload):
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        got += chunk
    return got


def udp_ask(addr: tuple[str, int], payload: bytes = b"hi", sock: socket.socket | None = None,
            timeout: float = 2.0) -> str:
    own = sock is None
    s = sock or socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(payload, addr)
        data, _ = s.recvfrom(65536)
        return data.decode().split(":", 1)[0]
    finally:
        if own:
            s.close()


def refused(addr: tuple[str, int], source: str | None = None, payload: bytes = b"") -> bool:
    """Connect (and send ``payload``): True when the proxy closes or resets it without a byte.

    A proxy closing at accept may reset the connection before ``connect()`` returns, or while
    the payload is sent: both count as refused.
    """
    try:
        with connect(addr, source) as s:
            if payload:
                s.sendall(payload)
            return closed_by_peer(s)
    except (ConnectionResetError, BrokenPipeError):
        return True


def closed_by_peer(s: socket.socket) -> bool:
    """True when the proxy closed this connection (EOF or reset) without sending anything."""
    try:
        return s.recv(10) == b""
    except ConnectionResetError:
        return True
