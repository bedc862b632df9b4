"""UDP listeners: one connected upstream socket per client address, idle timeout, bounded table.

``add_reader`` + ``recvfrom_into`` the engine's preallocated buffer, draining up to 64
datagrams per wake-up: stock asyncio's DatagramProtocol allocates a 256 KiB object per
datagram and reaches 0.16x nginx; this reaches about 1.0x (proxy-perf.md, finding 3).
The flow table is a dict in creation order, so the oldest flow is ``next(iter())``. A full
table evicts with a second chance (CLOCK): a flow that carried a datagram since it was created
or last spared goes to the back instead, so a flood of one-datagram sources churns among
itself while flows in use (a client datagram per table's worth of new flows) keep their
socket and their backend. A new flow that cannot get a
socket (EMFILE) drops its datagram; the next one tries again.
"""

from __future__ import annotations

import errno
import logging
import socket
import time

from ccm.proxy.engine.config import Backend, ListenerConfig
from ccm.proxy.engine.context import RESOURCE_ERRNOS, Context, RateLimitedLog
from ccm.proxy.engine.ranges import SourceRanges
from ccm.proxy.engine.selection import Selector
from ccm.proxy.engine.tcp import SourceBinding, bind_socket, upstream_socket

log = logging.getLogger(__name__)

DRAIN_BATCH = 64
#: flows spared per eviction at most (each one moved to the back), then the oldest goes anyway
SECOND_CHANCES = 8
_monotonic = time.monotonic


class UdpListener:
    def __init__(self, ctx: Context, ip: str, port: int, config: ListenerConfig) -> None:
        self.ctx = ctx
        self.name = f"{ip}:{port}/UDP"
        self.binding = SourceBinding(ip)
        self.sock = bind_socket(ip, port, socket.SOCK_DGRAM)
        self.fd = self.sock.fileno()
        self.flows: dict[tuple, UdpFlow] = {}
        self.selector = Selector(config.backends, config.affinity_timeout)
        self.config = config
        self.ranges = SourceRanges(config.source_ranges)
        self.bad_input = RateLimitedLog(log)
        ctx.loop.add_reader(self.fd, self.on_readable)

    def update(self, config: ListenerConfig) -> None:
        self.ranges = SourceRanges(config.source_ranges)
        removed = self.selector.update(config.backends, config.affinity_timeout)
        self.config = config
        self.binding.forget()
        if removed:
            for flow in [f for f in self.flows.values() if f.backend in removed]:
                flow.close()
        while len(self.flows) > config.max_udp_flows:
            self._evict_oldest(spare=False)

    def on_readable(self) -> None:
        ctx = self.ctx
        buf = ctx.buf
        recvfrom_into = self.sock.recvfrom_into
        flows = self.flows
        now = _monotonic()
        count = dropped = 0
        for _ in range(DRAIN_BATCH):
            try:
                n, addr = recvfrom_into(buf)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                continue
            count += 1
            flow = flows.get(addr)
            if flow is None:
                flow = self._new_flow(addr)
                if flow is None:
                    dropped += 1
                    continue
            flow.last = now
            try:
                flow.send(buf[:n])
            except OSError:
                dropped += 1
        stats = ctx.stats
        stats.udp_datagrams += count
        stats.udp_dropped += dropped

    def _new_flow(self, addr: tuple, reset_affinity: bool = False) -> UdpFlow | None:
        stats = self.ctx.stats
        ranges = self.ranges
        if ranges.cidrs and not ranges.allows(addr[0]):
            stats.refused += 1
            return None
        backend = self.selector.pick(addr[0], reset_affinity)
        if backend is None:
            stats.no_backend += 1
            return None
        if len(self.flows) >= self.config.max_udp_flows:
            self._evict_oldest()
        try:
            sock = upstream_socket(self.binding.source_for(backend.ip), backend.ip, socket.SOCK_DGRAM)
        except OSError as e:
            if e.errno in RESOURCE_ERRNOS:
                stats.fd_exhausted += 1
            self.bad_input.warning("%s: no socket for a new flow to %s:%d: %s", self.name, backend.ip,
                                   backend.port, e)
            return None
        try:
            sock.connect((backend.ip, backend.port))
        except OSError as e:
            sock.close()
            stats.connect_failures += 1
            self.bad_input.warning("%s: cannot reach backend %s:%d: %s", self.name, backend.ip, backend.port, e)
            return None
        flow = UdpFlow(self, addr, sock, backend)
        self.flows[addr] = flow
        stats.udp_flows += 1
        return flow

    def _evict_oldest(self, spare: bool = True) -> None:
        flows = self.flows
        if spare:
            for _ in range(SECOND_CHANCES):
                addr = next(iter(flows))
                flow = flows[addr]
                if flow.last <= flow.mark:  # nothing since it was created or last spared
                    break
                # its latest datagram is what earned this chance; one after it (even in this
                # drain batch, stamped with the batch's start) earns the next
                flow.mark = flow.last
                del flows[addr]
                flows[addr] = flow
        self.ctx.stats.udp_evicted += 1
        flows[next(iter(flows))].close()

    def sweep(self) -> None:
        """Close flows idle longer than the timeout and expired affinity entries."""
        self.selector.sweep()
        self.binding.forget()
        limit = _monotonic() - self.config.udp_idle_timeout
        for flow in [f for f in self.flows.values() if f.last < limit and f.replied < limit]:
            flow.close()

    def close(self) -> None:
        self.ctx.loop.remove_reader(self.fd)
        self.sock.close()
        for flow in list(self.flows.values()):
            flow.close()


class UdpFlow:
    __slots__ = ("addr", "backend", "fd", "last", "listener", "mark", "replied", "send", "sock")

    def __init__(self, listener: UdpListener, addr: tuple, sock: socket.socket, backend: Backend) -> None:
        self.listener = listener
        self.addr = addr
        self.sock = sock
        self.send = sock.send  # bound once: a method lookup per datagram allocates
        self.fd = sock.fileno()
        self.backend = backend
        # ``last``: the client's latest datagram, ``replied``: the backend's; ``mark``: when
        # created or by the datagram that last spared it (replies earn no second chance: a flood's do come)
        self.last = self.mark = self.replied = _monotonic()
        listener.ctx.loop.add_reader(self.fd, self.on_reply)

    def on_reply(self) -> None:
        listener = self.listener
        buf = listener.ctx.buf
        recv_into = self.sock.recv_into
        sendto = listener.sock.sendto
        addr = self.addr
        for _ in range(DRAIN_BATCH):
            try:
                n = recv_into(buf)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as e:
                if e.errno == errno.ECONNREFUSED:
                    # the backend's port is closed: forget the flow so the next datagram
                    # from this client dials another endpoint
                    listener.ctx.stats.connect_failures += 1
                    self.close()
                    if listener.selector.ttl is not None:
                        listener.selector.pick(addr[0], True)
                    return
                break
            try:
                sendto(buf[:n], addr)
            except OSError:
                listener.ctx.stats.udp_dropped += 1
        self.replied = _monotonic()

    def close(self) -> None:
        listener = self.listener
        if listener.flows.get(self.addr) is self:
            del listener.flows[self.addr]
            listener.ctx.stats.udp_flows -= 1
        listener.ctx.loop.remove_reader(self.fd)
        self.sock.close()
