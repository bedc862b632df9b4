"""State shared by every listener of one engine: the loop, the pipe pool, one copy buffer, counters."""

from __future__ import annotations

import asyncio
import errno
import logging
import time

from ccm.proxy.engine.deadlines import Deadlines
from ccm.proxy.engine.pipes import PipePool
from ccm.proxy.engine.poller import Poller

#: the copy buffer of the non-splice paths (TCP fallback and UDP): one per engine, never per packet
BUFFER_SIZE = 1 << 16
#: out of descriptors or kernel memory: back off and retry, never spin or leave a socket behind
RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class Stats:
    """Plain integer counters; the loop thread is the only writer."""

    __slots__ = ("accept_pauses", "active", "connect_failures", "connections", "fd_exhausted", "no_backend",
                 "over_limit", "proxy_protocol_errors", "refused", "udp_datagrams", "udp_dropped",
                 "udp_evicted", "udp_flows", "untrusted_proxy")

    def __init__(self) -> None:
        self.connections = 0  # accepted TCP connections
        self.active = 0  # open TCP connections (any state)
        self.refused = 0  # closed/dropped by source ranges
        self.connect_failures = 0  # failed backend dials
        self.no_backend = 0  # nothing to forward to
        self.proxy_protocol_errors = 0
        self.untrusted_proxy = 0  # PROXY-protocol connections from a peer outside the trusted set
        self.over_limit = 0  # reset at once: the listener had max_connections open
        self.fd_exhausted = 0  # EMFILE/ENFILE/ENOBUFS/ENOMEM on accept, dial or a new UDP flow
        self.accept_pauses = 0  # times a listener stopped accepting to back off
        self.udp_flows = 0
        self.udp_datagrams = 0  # client -> backend
        self.udp_dropped = 0
        self.udp_evicted = 0

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


class Context:
    """``add_reader`` and friends watch per-connection fds (the engine's own epoll, see
    poller.py); long-lived fds (listeners, UDP flows) use the loop's directly."""

    __slots__ = ("add_reader", "add_writer", "buf", "deadlines", "loop", "poller", "pool", "remove_reader",
                 "remove_writer", "splice", "stats")

    def __init__(self, loop: asyncio.AbstractEventLoop, splice: bool) -> None:
        self.loop = loop
        self.poller = poller = Poller(loop)
        # bound once: these are called several times per connection
        self.add_reader = poller.add_reader
        self.add_writer = poller.add_writer
        self.remove_reader = poller.remove_reader
        self.remove_writer = poller.remove_writer
        self.deadlines = Deadlines(loop)
        self.splice = splice
        self.pool = PipePool()
        self.buf = memoryview(bytearray(BUFFER_SIZE))
        self.stats = Stats()

    def close(self) -> None:
        """After every listener closed: stop the poller and timers, close pooled pipes."""
        self.deadlines.close()
        self.poller.close()
        self.pool.close()


class RateLimitedLog:
    """One warning per interval per listener: bad input from clients must not flood the log."""

    __slots__ = ("_interval", "_last", "_log")

    def __init__(self, log: logging.Logger, interval: float = 10.0) -> None:
        self._log = log
        self._interval = interval
        self._last = -interval

    def warning(self, msg: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._log.warning(msg, *args)
