"""Level-triggered readiness for per-connection fds, on a private epoll nested in the loop.

Why: a churned TCP connection makes three registrations (the dial's writer, two readers);
through asyncio's ``add_reader``/``remove_reader`` each pair costs about 7.6 µs of Python
(selector keys, Handles, ``_ensure_fd_no_transport``), here about 2 µs (a dict store and one
``epoll_ctl``), and a socket about to be closed is only forgotten (``forget``). The private
epoll's own fd is a single reader of the loop, so this works on asyncio and uvloop alike.
Semantics match the loop's: one reader and one writer callback per fd, error and hang-up
wake both, removing what is not registered is a no-op.
"""

from __future__ import annotations

import asyncio
import logging
import select
from collections.abc import Callable

log = logging.getLogger(__name__)

_IN = select.EPOLLIN
_OUT = select.EPOLLOUT
#: any bit but EPOLLOUT wakes the reader, any bit but EPOLLIN the writer (as asyncio does)
_READ = ~_OUT
_WRITE = ~_IN
FAILED = select.EPOLLERR | select.EPOLLHUP
MAX_EVENTS = 256

Callback = Callable[[], None]


class Poller:
    __slots__ = ("_dispatching", "_ep", "_gone", "_loop", "_masks", "_poll", "_readers", "_writers",
                 "events")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._ep = select.epoll()
        self._poll = self._ep.poll
        self._loop = loop
        self._readers: dict[int, Callback] = {}
        self._writers: dict[int, Callback] = {}
        self._masks: dict[int, int] = {}
        # fds fully unregistered while a batch is dispatched: the batch's later events for
        # that number are stale (the number may already belong to a new socket)
        self._gone: set[int] = set()
        self._dispatching = False
        #: the epoll events of the fd whose callback is running (a dial's writer reads its
        #: outcome here instead of asking with ``getsockopt(SO_ERROR)``)
        self.events = 0
        loop.add_reader(self._ep.fileno(), self._dispatch)

    def _set(self, fd: int, mask: int, new: int) -> None:
        if mask:
            try:
                self._ep.modify(fd, new)
            except FileNotFoundError:  # closed while watched (the kernel dropped it), number reused
                self._ep.register(fd, new)
        else:
            self._ep.register(fd, new)
        self._masks[fd] = new

    def _clear(self, fd: int, left: int) -> None:
        if left:
            self._ep.modify(fd, left)
            self._masks[fd] = left
            return
        del self._masks[fd]
        if self._dispatching:
            self._gone.add(fd)
        try:
            self._ep.unregister(fd)
        except OSError:  # already closed: the kernel dropped it from the set
            pass

    def add_reader(self, fd: int, callback: Callback) -> None:
        mask = self._masks.get(fd, 0)
        if not mask & _IN:
            self._set(fd, mask, mask | _IN)
        self._readers[fd] = callback

    def add_writer(self, fd: int, callback: Callback) -> None:
        mask = self._masks.get(fd, 0)
        if not mask & _OUT:
            self._set(fd, mask, mask | _OUT)
        self._writers[fd] = callback

    def remove_reader(self, fd: int) -> bool:
        mask = self._masks.get(fd, 0)
        if not mask & _IN:
            return False
        del self._readers[fd]
        self._clear(fd, mask & ~_IN)
        return True

    def remove_writer(self, fd: int) -> bool:
        mask = self._masks.get(fd, 0)
        if not mask & _OUT:
            return False
        del self._writers[fd]
        self._clear(fd, mask & ~_OUT)
        return True

    def forget(self, fd: int) -> None:
        """Drop a watched fd that the caller closes right after, without an ``epoll_ctl``.

        Closing the last reference removes it from the epoll by itself; the engine's sockets
        are its own (not duplicated, close-on-exec), so their close is that last reference.
        """
        if self._masks.pop(fd, 0):
            self._readers.pop(fd, None)
            self._writers.pop(fd, None)
            if self._dispatching:
                self._gone.add(fd)

    def writer_to_reader(self, fd: int, callback: Callback) -> None:
        """Replace a writer-only fd's writer with a reader in one ``epoll_ctl`` (a dialled backend)."""
        if self._masks.get(fd) != _OUT:
            self.remove_writer(fd)
            self.add_reader(fd, callback)
            return
        self._ep.modify(fd, _IN)
        self._masks[fd] = _IN
        del self._writers[fd]
        self._readers[fd] = callback

    def __len__(self) -> int:
        return len(self._masks)

    def _dispatch(self) -> None:
        readers = self._readers
        writers = self._writers
        gone = self._gone
        self._dispatching = True
        try:
            for fd, ev in self._poll(0, MAX_EVENTS):
                if gone and fd in gone:
                    continue
                self.events = ev
                if ev & _READ:
                    cb = readers.get(fd)
                    if cb is not None:
                        try:
                            cb()
                        except Exception:
                            log.exception("fd %d: reader callback failed", fd)
                        if gone and fd in gone:
                            continue
                if ev & _WRITE:
                    cb = writers.get(fd)
                    if cb is not None:
                        try:
                            cb()
                        except Exception:
                            log.exception("fd %d: writer callback failed", fd)
        finally:
            self._dispatching = False
            gone.clear()

    def close(self) -> None:
        """Stop watching; the owner has already closed (or will close) the fds themselves."""
        if self._ep.closed:
            return
        self._loop.remove_reader(self._ep.fileno())
        self._ep.close()
        self._readers.clear()
        self._writers.clear()
        self._masks.clear()
