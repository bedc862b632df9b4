"""One direction of a proxied TCP connection: adaptive copy/splice, or a buffered copy only.

Driven by the loop's ``add_reader``/``add_writer`` on non-blocking sockets (no streams, no
Protocols: they cost 2-3x the CPU and 3.5x the memory per connection, proxy-perf.md). The
direction reads only while it owns no data; when the destination is full it swaps reading the
source for waiting on the destination, so backpressure reaches the sender through TCP.
Half-close: after EOF and once everything is written, ``shutdown(SHUT_WR)`` the destination
(unless the other direction is done too: then both sockets are simply closed).
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

from ccm.proxy.engine.context import BUFFER_SIZE

if TYPE_CHECKING:
    from ccm.proxy.engine.context import Context

_splice = getattr(os, "splice", None)
_FLAGS = getattr(os, "SPLICE_F_MOVE", 1) | getattr(os, "SPLICE_F_NONBLOCK", 2)
_CHUNK = 1 << 20
#: a read that fills the shared copy buffer starts a bulk transfer (splice); a splice read
#: shorter than that ends it
_SMALL = BUFFER_SIZE
_BULK = -1
_SHUT_WR = socket.SHUT_WR


class Owner:
    """What a pump reports to (the connection)."""

    __slots__ = ()

    def abort(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def pump_finished(self) -> bool:  # pragma: no cover - interface
        """One direction is done; True when that closed the connection (both are done)."""
        raise NotImplementedError


class Pump:
    __slots__ = ("ctx", "dst", "dst_sock", "finished", "held", "owner", "pending", "pipe", "reading",
                 "src", "src_sock", "writing")

    def __init__(self, ctx: Context, owner: Owner, src: socket.socket, dst: socket.socket) -> None:
        self.ctx = ctx
        self.owner = owner
        self.src_sock = src
        self.dst_sock = dst
        self.src = src.fileno()
        self.dst = dst.fileno()
        self.pipe: tuple[int, int] | None = None
        self.pending = 0
        self.held: bytes = b""
        self.finished = False
        self.reading = False
        self.writing = False

    def start(self, take_over_writer: bool = False) -> None:
        """``take_over_writer``: the source has a writer (its dial) to swap in one system call."""
        self.reading = True
        if take_over_writer:
            self.ctx.poller.writer_to_reader(self.src, self.on_readable)
        else:
            self.ctx.add_reader(self.src, self.on_readable)

    def on_readable(self) -> None:
        raise NotImplementedError

    def on_writable(self) -> None:
        raise NotImplementedError

    def _block(self) -> None:
        """Destination full: stop reading the source until it drains."""
        ctx = self.ctx
        ctx.remove_reader(self.src)
        self.reading = False
        ctx.add_writer(self.dst, self.on_writable)
        self.writing = True

    def _unblock(self) -> None:
        ctx = self.ctx
        ctx.remove_writer(self.dst)
        self.writing = False
        if self.finished:
            self._shutdown()
        else:
            ctx.add_reader(self.src, self.on_readable)
            self.reading = True

    def _copy(self) -> int:
        """One ``recv_into`` the engine's shared buffer, one ``send``; returns the bytes read.

        0 when nothing was read (would block, EOF handled, or the connection aborted). A partial
        send keeps only the unsent remainder and waits for the destination to drain.
        """
        buf = self.ctx.buf
        try:
            n = self.src_sock.recv_into(buf)
        except BlockingIOError:
            return 0
        except OSError:
            self.owner.abort()
            return 0
        if n == 0:
            self._eof()
            return 0
        try:
            sent = self.dst_sock.send(buf[:n])
        except BlockingIOError:
            sent = 0
        except OSError:
            self.owner.abort()
            return 0
        if sent < n:
            self.held = bytes(buf[sent:n])
            self._block()
        return n

    def _send_held(self) -> None:
        """Destination writable again: send what a partial ``send`` left over."""
        held = self.held
        try:
            sent = self.dst_sock.send(held)
        except BlockingIOError:
            return
        except OSError:
            self.owner.abort()
            return
        if sent < len(held):
            self.held = held[sent:]
            return
        self.held = b""
        self._unblock()

    def _eof(self) -> None:
        self.finished = True
        if self.owner.pump_finished():  # both directions done: the connection is closed
            return
        self.ctx.remove_reader(self.src)
        self.reading = False
        self._half_close()

    def _shutdown(self) -> None:
        # when the other direction is done too the owner closes both sockets, and close()
        # sends the FIN: the shutdown would be a wasted system call
        if not self.owner.pump_finished():
            self._half_close()

    def _half_close(self) -> None:
        try:
            self.dst_sock.shutdown(_SHUT_WR)
        except OSError:
            pass

    def release(self) -> None:
        """Drop any data in flight: the connection closes both sockets right after.

        Closing them takes them out of the engine's epoll, so they are only forgotten here.
        """
        forget = self.ctx.poller.forget
        if self.reading:
            forget(self.src)
            self.reading = False
        if self.writing:
            forget(self.dst)
            self.writing = False
        if self.pipe is not None:
            self.ctx.pool.discard(self.pipe)
            self.pipe = None
        self.held = b""


class SplicePump(Pump):
    """Adaptive, like HAProxy's ``splice-auto``: a small payload takes one ``recv_into`` the
    engine's shared buffer and one ``send`` (two system calls, no pipe, no pool work); a read
    that fills the buffer marks a bulk transfer, and reads then splice through a pooled pipe
    until one returns less than the buffer holds. A partial send keeps only the unsent
    remainder (``held``), so nothing but that is ever per connection.

    ``pending`` doubles as the mode, keeping the object at its size: bytes left in the held
    pipe while one is held, else ``_BULK`` (reads splice) or 0 (reads copy).
    """

    __slots__ = ()

    def on_readable(self) -> None:
        if self.pending:
            self._splice_read()
        elif self._copy() == _SMALL:  # the read filled the buffer: a bulk transfer
            self.pending = _BULK

    def _splice_read(self) -> None:
        pool = self.ctx.pool
        try:
            pipe = pool.acquire()
        except OSError:  # out of file descriptors: drop this connection, not the loop
            self.owner.abort()
            return
        try:
            n = _splice(self.src, pipe[1], _CHUNK, None, None, _FLAGS)  # type: ignore[misc]
        except BlockingIOError:
            pool.release(pipe)
            return
        except OSError:
            pool.release(pipe)
            self.owner.abort()
            return
        if n == 0:
            pool.release(pipe)
            self._eof()
            return
        if n < _SMALL:  # would have fitted the buffer: back to copying
            self.pending = 0
        dst = self.dst
        try:
            while n:
                n -= _splice(pipe[0], dst, n, None, None, _FLAGS)  # type: ignore[misc]
        except BlockingIOError:
            self.pipe = pipe
            self.pending = n
            self._block()
            return
        except OSError:
            pool.discard(pipe)
            self.owner.abort()
            return
        pool.release(pipe)

    def on_writable(self) -> None:
        pipe = self.pipe
        if pipe is None:
            self._send_held()
            return
        n = self.pending
        dst = self.dst
        try:
            while n:
                n -= _splice(pipe[0], dst, n, None, None, _FLAGS)  # type: ignore[misc]
        except BlockingIOError:
            self.pending = n
            return
        except OSError:
            self.owner.abort()
            return
        self.pipe = None
        self.pending = _BULK  # the destination pushed back: still a bulk transfer
        self.ctx.pool.release(pipe)
        self._unblock()


class CopyPump(Pump):
    """The fallback where splice is unavailable: ``recv_into`` the engine's one buffer, send."""

    __slots__ = ()

    def on_readable(self) -> None:
        self._copy()

    def on_writable(self) -> None:
        self._send_held()
