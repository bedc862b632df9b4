"""TCP listeners and connections: accept, PROXY header, source-range check, dial with retry, pump.

Per-connection Python work is kept to a few dict/bisect operations (the churn benchmark is
bounded by it). Dialling follows kube-proxy's userspace ``TryConnectEndpoints``: attempt *i*
has a 250 ms * 2**i timeout and takes the next endpoint; after the first failure the client's
affinity entry is bypassed and overwritten.

Descriptors run out under a connection burst (EMFILE at the process's limit, ENFILE at the
system's): an accept or a dial that fails so closes what that connection had opened and
pauses the listener (``out_of_resources``), 5 ms doubling to 1 s while it lasts, reset by
the next dial that gets its socket. Accepting is what is paused because it is the only thing
that makes new demands; connections already established keep flowing and free descriptors
as they close, which is how the listener recovers without help.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import struct

from ccm.proxy.engine import proxyproto
from ccm.proxy.engine.config import Backend, ListenerConfig
from ccm.proxy.engine.context import RESOURCE_ERRNOS, Context, RateLimitedLog
from ccm.proxy.engine.poller import FAILED
from ccm.proxy.engine.pump import CopyPump, Owner, Pump, SplicePump
from ccm.proxy.engine.ranges import SourceRanges
from ccm.proxy.engine.selection import Selector

log = logging.getLogger(__name__)

ACCEPT_BATCH = 64
BACKLOG = 4096
FIRST_DIAL_TIMEOUT = 0.25
HEADER_TIMEOUT = 5.0
_NODELAY = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
_IN_PROGRESS = (errno.EINPROGRESS, errno.EAGAIN)
_NONBLOCK = getattr(socket, "SOCK_NONBLOCK", 0)
_STREAM = int(socket.SOCK_STREAM)
#: Linux: pick the source port at connect(), so many dials from one source IP share ports
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
WILDCARDS = ("0.0.0.0", "::", "")
#: accept back-off after a resource error: doubles per error while they last (Go's net/http)
BACKOFF_MIN = 0.005
BACKOFF_MAX = 1.0
#: SO_LINGER on, 0 s: close() sends a reset (no FIN handshake, no TIME_WAIT on our side)
_LINGER_RESET = struct.pack("ii", 1, 0)


def family_of(ip: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


def upstream_socket(source_ip: str | None, backend_ip: str, kind: socket.SocketKind) -> socket.socket:
    """A non-blocking socket towards a backend, bound to ``source_ip`` when one is given.

    Binding leaves the backend's source choice to the connect (``IP_BIND_ADDRESS_NO_PORT``), so
    many dials from one address share ports. A failed bind falls back to the routed source.
    """
    sock = socket.socket(family_of(backend_ip), kind | _NONBLOCK)
    if source_ip is not None:
        try:
            if kind == socket.SOCK_STREAM and ":" not in source_ip:
                sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
            sock.bind((source_ip, 0))
        except OSError:
            sock.close()
            sock = socket.socket(family_of(backend_ip), kind | _NONBLOCK)
    return sock


def _is_loopback(ip: str) -> bool:
    return ip.startswith("127.") or ip == "::1"


def routed_source(backend_ip: str) -> str | None:
    """The source address the kernel picks towards ``backend_ip`` (a connected UDP probe, no packet).

    None when there is no route; ``OSError`` when the probe socket itself cannot be had (EMFILE).
    """
    with socket.socket(family_of(backend_ip), socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((backend_ip, 9))
        except OSError:
            return None
        return str(probe.getsockname()[0])


def _trust_nobody(ip: str) -> bool:
    return False


class SourceBinding:
    """Which dials must bind to the listener's address so the backend sees it as the source.

    A load balancer's VIP or a node's IP is then the source the backend sees (what lets a
    node proxy recognise its Service's load balancer), instead of whatever the routing table
    picks (127.0.0.1 for every loopback address). Where the route already picks the
    listener's address, the bind (two system calls per dial) is skipped; the answer is cached
    per backend address until the next ``forget()`` (housekeeping, about once a second), so a
    route change is followed within a second.
    """

    __slots__ = ("_cache", "source_ip")

    def __init__(self, listen_ip: str) -> None:
        self.source_ip = None if listen_ip in WILDCARDS else listen_ip
        self._cache: dict[str, str | None] = {}

    def source_for(self, backend_ip: str) -> str | None:
        """The address to bind to before dialling ``backend_ip``, or None to let the route decide."""
        try:
            return self._cache[backend_ip]
        except KeyError:
            pass
        source = self.source_ip
        # a loopback source cannot reach a non-loopback destination (the kernel drops martians)
        if source is not None and ((":" in source) != (":" in backend_ip)
                                   or (_is_loopback(source) and not _is_loopback(backend_ip))):
            source = None
        if source is not None:
            try:
                if routed_source(backend_ip) == source:
                    source = None
            except OSError:  # no descriptor for the probe: bind (costs a call), ask again next time
                return source
        self._cache[backend_ip] = source
        return source

    def forget(self) -> None:
        self._cache.clear()


def bind_socket(ip: str, port: int, kind: socket.SocketKind) -> socket.socket:
    sock = socket.socket(family_of(ip), kind)
    try:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(*_NODELAY)  # Linux: accepted sockets inherit it, one call saved per accept
        if ":" in ip:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((ip, port))
        if kind == socket.SOCK_STREAM:
            sock.listen(BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class TcpListener:
    def __init__(self, ctx: Context, ip: str, port: int, config: ListenerConfig) -> None:
        self.ctx = ctx
        self.name = f"{ip}:{port}/TCP"
        self.binding = SourceBinding(ip)
        self.sock = bind_socket(ip, port, socket.SOCK_STREAM)
        self.fd = self.sock.fileno()
        self.conns: set[TcpConnection] = set()
        self.selector = Selector(config.backends, config.affinity_timeout)
        self.config = config
        self.ranges = SourceRanges(config.source_ranges)
        self.trusted = SourceRanges(config.proxy_protocol_trusted)
        self.backend_set = frozenset(config.backends)
        self.bad_input = RateLimitedLog(log)
        self.resource_log = RateLimitedLog(log)  # its own: client noise must not hide it
        self._pump_class: type[Pump] = SplicePump if ctx.splice else CopyPump
        self._paused: asyncio.TimerHandle | None = None
        self.backoff = 0.0  # the last accept pause; 0 once a dial got its socket again
        ctx.loop.add_reader(self.fd, self.on_accept)

    def update(self, config: ListenerConfig) -> None:
        self.ranges = SourceRanges(config.source_ranges)
        self.trusted = SourceRanges(config.proxy_protocol_trusted)
        removed = self.selector.update(config.backends, config.affinity_timeout)
        self.config = config
        self.backend_set = frozenset(config.backends)
        self.binding.forget()
        if removed:
            for conn in [c for c in self.conns if c.backend in removed]:
                conn.close()

    def sweep(self) -> None:
        self.selector.sweep()
        self.binding.forget()

    def on_accept(self) -> None:
        ctx = self.ctx
        stats = ctx.stats
        # the raw accept: ``socket.accept`` converts family and type to enums on every call
        # (about 4 µs of a churned connection's Python time)
        accept = self.sock._accept  # type: ignore[attr-defined]
        family = int(self.sock.family)
        new_socket = socket.socket
        conns = self.conns
        config = self.config
        proxy_protocol = config.accept_proxy_protocol
        limit = config.max_connections
        ranges = self.ranges
        check = ranges.allows if ranges.cidrs and not proxy_protocol else None
        trusted = None
        if proxy_protocol:  # an empty trusted set trusts nobody (an empty range list allows all)
            trusted = self.trusted.allows if self.trusted.cidrs else _trust_nobody
        for _ in range(ACCEPT_BATCH):
            try:
                fd, addr = accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if e.errno in RESOURCE_ERRNOS:  # the level-triggered reader would spin: back off
                    self.out_of_resources("accept", e)
                    return
                # ECONNABORTED and the like: that one connection is gone, the next may be fine
                self.bad_input.warning("%s: accept failed: %s", self.name, e)
                continue
            stats.connections += 1
            client = new_socket(family, _STREAM, 0, fd)
            if limit and len(conns) >= limit:
                # Reset at once rather than left in the backlog: the client learns now (and can
                # try another node) instead of waiting out SYN retries behind connections that
                # may be held on purpose, and the accept queue keeps draining.
                stats.over_limit += 1
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
                client.close()
                continue
            if check is not None and not check(addr[0]):
                stats.refused += 1
                client.close()
                continue
            peer_trusted = trusted is None or trusted(addr[0])
            if not peer_trusted:
                # a PROXY header from here would name any client it likes (loadBalancerSourceRanges)
                stats.untrusted_proxy += 1
                if config.untrusted_proxy_protocol == "refuse":
                    self.bad_input.warning("%s: closing connection from %s: PROXY protocol is accepted "
                                           "only from the trusted load balancers (%s)", self.name, addr[0],
                                           ", ".join(self.trusted.cidrs) or "none configured")
                    client.close()
                    continue
                if ranges.cidrs and not ranges.allows(addr[0]):
                    stats.refused += 1
                    client.close()
                    continue
            # non-blocking by hand (accept4 gets no SOCK_NONBLOCK); TCP_NODELAY is inherited
            client.setblocking(False)
            stats.active += 1
            conn = TcpConnection(self, client, addr)
            conns.add(conn)
            if proxy_protocol:
                conn.trusted = peer_trusted
                conn.await_header()
            else:
                conn.dial(False)
            if self._paused is not None:  # that dial ran out of descriptors
                return

    def out_of_resources(self, what: str, e: OSError) -> None:
        """An accept or dial failed for lack of descriptors or memory: pause accepting a while."""
        ctx = self.ctx
        ctx.stats.fd_exhausted += 1
        if self._paused is not None or self.sock.fileno() < 0:
            return
        self.backoff = delay = min(BACKOFF_MAX, self.backoff * 2) if self.backoff else BACKOFF_MIN
        ctx.stats.accept_pauses += 1
        self.resource_log.warning("%s: %s failed (%s): not accepting for %.0f ms, doubling while it lasts",
                                  self.name, what, e.strerror or e, delay * 1000)
        ctx.loop.remove_reader(self.fd)
        self._paused = ctx.loop.call_later(delay, self._resume)

    def _resume(self) -> None:
        self._paused = None
        self.ctx.loop.add_reader(self.fd, self.on_accept)

    def close(self) -> None:
        if self._paused is not None:
            self._paused.cancel()
        else:
            self.ctx.loop.remove_reader(self.fd)
        self.sock.close()
        for conn in list(self.conns):
            conn.close()


class TcpConnection(Owner):
    """A client connection, from accept through dialling to two pumps."""

    __slots__ = ("attempts", "backend", "bsock", "client", "client_addr", "closed", "dials", "down",
                 "hbuf", "listener", "peer", "state", "timer", "trusted", "up")

    def __init__(self, listener: TcpListener, client: socket.socket, peer: tuple) -> None:
        self.listener = listener
        self.client = client
        self.peer = peer
        self.client_addr: tuple = peer
        self.backend: Backend | None = None
        self.bsock: socket.socket | None = None
        self.up: Pump | None = None
        self.down: Pump | None = None
        self.timer: asyncio.TimerHandle | None = None  # the PROXY header's only
        self.attempts = 0
        self.dials = 0  # identifies the dial a deadline belongs to
        self.state = 1  # 0 reading the PROXY header, 1 dialling, 2 established
        self.closed = False
        self.hbuf = b""
        self.trusted = True  # False: the peer's PROXY header is read but not believed

    # -- PROXY protocol header --------------------------------------------------------------
    def await_header(self) -> None:
        self.state = 0
        ctx = self.listener.ctx
        ctx.add_reader(self.client.fileno(), self._on_header)
        self.timer = ctx.loop.call_later(HEADER_TIMEOUT, self._header_timeout)

    def _header_timeout(self) -> None:
        self.timer = None
        self._bad_header(f"no complete PROXY protocol header within {HEADER_TIMEOUT:.0f} s")

    def _bad_header(self, why: str) -> None:
        listener = self.listener
        listener.ctx.stats.proxy_protocol_errors += 1
        listener.bad_input.warning("%s: closing connection from %s: %s", listener.name,
                                   self.peer[0], why)
        self.close()

    def _on_header(self) -> None:
        client = self.client
        try:
            data = client.recv(proxyproto.PEEK_MAX, socket.MSG_PEEK)
        except BlockingIOError:
            return
        except OSError:
            self.close()
            return
        if not data:
            self.close()
            return
        whole = self.hbuf + data
        try:
            header = proxyproto.parse(whole)
        except proxyproto.ProxyProtocolError as e:
            self._bad_header(str(e))
            return
        try:
            if header is None:
                # consume what we peeked (it is all header) so the fd stops being readable
                if len(whole) >= proxyproto.PEEK_MAX:
                    self._bad_header("PROXY protocol header too long")
                    return
                self.hbuf = whole
                client.recv(len(data))
                return
            client.recv(header.length - len(self.hbuf))
        except OSError:
            self.close()
            return
        self.hbuf = b""
        listener = self.listener
        ctx = listener.ctx
        ctx.remove_reader(client.fileno())
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if header.source is not None and self.trusted:
            self.client_addr = header.source
        self.state = 1
        ranges = listener.ranges
        if ranges.cidrs and not ranges.allows(self.client_addr[0]):
            ctx.stats.refused += 1
            self.close()
            return
        self.dial(False)

    # -- dialling ---------------------------------------------------------------------------
    def dial(self, reset_affinity: bool) -> None:
        listener = self.listener
        backend = listener.selector.pick(self.client_addr[0], reset_affinity)
        if backend is None:
            listener.ctx.stats.no_backend += 1
            self.close()
            return
        self.backend = backend
        try:
            bsock = upstream_socket(listener.binding.source_for(backend.ip), backend.ip, socket.SOCK_STREAM)
        except OSError as e:
            # EMFILE/ENFILE: close the client now (left open, it would sit in CLOSE-WAIT once
            # its peer gives up) and stop accepting more until descriptors come back
            if e.errno in RESOURCE_ERRNOS:
                listener.out_of_resources("backend dial", e)
            else:
                listener.ctx.stats.connect_failures += 1
                listener.bad_input.warning("%s: cannot open a socket to %s: %s", listener.name, backend.ip, e)
            self.close()
            return
        if listener.backoff:
            listener.backoff = 0.0
        self.bsock = bsock
        bsock.setsockopt(*_NODELAY)
        err = bsock.connect_ex((backend.ip, backend.port))
        if err == 0:
            self._connected()
        elif err in _IN_PROGRESS:
            ctx = listener.ctx
            ctx.add_writer(bsock.fileno(), self._on_dialled)
            self.dials += 1
            ctx.deadlines.add(FIRST_DIAL_TIMEOUT * (1 << self.attempts), self, self.dials)
        else:
            self._dial_failed()

    def _on_dialled(self) -> None:
        bsock = self.bsock
        assert bsock is not None
        self.dials += 1  # its deadline no longer applies
        ctx = self.listener.ctx
        # writable without error or hang-up is a completed connect: no getsockopt(SO_ERROR)
        if ctx.poller.events & FAILED:
            ctx.remove_writer(bsock.fileno())
            self._dial_failed()
        else:
            self._connected(True)

    def expired(self, token: int) -> None:
        """A dial deadline came due: time out if that dial is still waiting."""
        if token != self.dials or self.closed:
            return
        self.dials += 1
        bsock = self.bsock
        assert bsock is not None
        self.listener.ctx.remove_writer(bsock.fileno())
        self._dial_failed()

    def _dial_failed(self) -> None:
        listener = self.listener
        listener.ctx.stats.connect_failures += 1
        if self.bsock is not None:
            self.bsock.close()
            self.bsock = None
        self.attempts += 1
        if self.attempts >= listener.config.connect_attempts:
            listener.bad_input.warning("%s: closing connection from %s: %d backend dial attempts failed",
                                       listener.name, self.client_addr[0], self.attempts)
            self.close()
        else:
            self.dial(True)

    def _connected(self, watched: bool = False) -> None:
        """``watched``: the backend socket still has its dial writer (the down pump takes it over)."""
        listener = self.listener
        ctx = listener.ctx
        bsock = self.bsock
        assert bsock is not None
        if self.backend not in listener.backend_set:  # removed while we were dialling
            if watched:
                ctx.remove_writer(bsock.fileno())
            bsock.close()
            self.bsock = None
            self.dial(True)
            return
        version = listener.config.send_proxy_protocol
        if version:
            try:
                header = proxyproto.build(version, self.client_addr[:2], self.client.getsockname()[:2])
                if bsock.send(header) != len(header):
                    raise BlockingIOError
            except OSError:
                if watched:
                    ctx.remove_writer(bsock.fileno())
                self._dial_failed()
                return
        self.state = 2
        cls = listener._pump_class
        self.up = up = cls(ctx, self, self.client, bsock)
        self.down = down = cls(ctx, self, bsock, self.client)
        up.start()
        down.start(watched)

    # -- Owner ------------------------------------------------------------------------------
    def pump_finished(self) -> bool:
        up, down = self.up, self.down
        if up is not None and down is not None and up.finished and down.finished:
            self.close()
            return True
        return False

    def abort(self) -> None:
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        listener = self.listener
        ctx = listener.ctx
        ctx.stats.active -= 1
        listener.conns.discard(self)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.state == 0:
            ctx.remove_reader(self.client.fileno())
        elif self.state == 1 and self.bsock is not None:
            ctx.remove_writer(self.bsock.fileno())
            self.dials += 1
        if self.up is not None:
            self.up.release()
        if self.down is not None:
            self.down.release()
        self.client.close()
        if self.bsock is not None:
            self.bsock.close()
