"""The forwarding engine: the node proxy's data plane, also used by the local provider.

Public API (stable; ``providers.local`` depends on these names)::

    Backend(ip: str, port: int)                         # frozen, slots
    ListenerConfig(protocol: "TCP" | "UDP",
                   backends: tuple[Backend, ...],       # shuffled once per change, then round robin
                   affinity_timeout: int | None = None, # ClientIP affinity, sliding seconds; None = off
                   source_ranges: tuple[str, ...] = (), # allowed CIDRs; empty = all; refused TCP is
                                                        # closed at once, refused UDP dropped
                   accept_proxy_protocol: bool = False, # PROXY v1/v2 from the client (TCP): its source
                                                        # is the client for affinity and ranges, when
                                                        # the peer sending it is trusted:
                   proxy_protocol_trusted: tuple[str, ...] = (),  # CIDRs of the load balancers
                                                        # whose headers are believed; empty = nobody
                   untrusted_proxy_protocol: "refuse" | "use-peer" = "refuse",  # other peers: closed
                                                        # at accept, or the header is read and
                                                        # dropped and the peer is the client
                   max_connections: int = 0,            # TCP, per listener, 0 = no limit; beyond it
                                                        # a new connection is reset at once
                   send_proxy_protocol: int | None = None,  # 1 or 2: header to the backend (TCP)
                   connect_attempts: int = 4,           # dial timeouts 250 ms, 500 ms, 1 s, 2 s, ...
                   udp_idle_timeout: float = 30.0,
                   max_udp_flows: int = 10000)          # oldest flow evicted beyond this
    ForwardingEngine(loop=None, *, splice: bool | None = None)   # None = splice when available
        .listen(ip, port, config)          # binds now or raises OSError
        .update(ip, port, protocol, config)  # in place; connections to kept backends survive,
                                             # those to removed backends are closed, their
                                             # affinity entries dropped
        .close_listener(ip, port, protocol)
        .listeners() -> [(ip, port, protocol)]
        .config_of(ip, port, protocol) -> ListenerConfig | None
        .stats() -> {connections, active, refused, connect_failures, no_backend,
                     proxy_protocol_errors, untrusted_proxy, over_limit, fd_exhausted,
                     accept_pauses, udp_flows, udp_datagrams, udp_dropped, udp_evicted,
                     listeners, pipes_in_pool, pipes_in_use, splice}
        await .aclose()   (or .close() on the loop thread)
    ThreadedEngine(*, splice=None, use_uvloop=False)   # same API, synchronous and thread-safe,
        .start() / .stop()                              # running on its own loop thread

Running out of file descriptors or kernel memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) on an
accept or a backend dial closes what that connection had opened and pauses the listener's
accepting, 5 ms doubling to 1 s while it lasts (Go's net/http, HAProxy), so the engine
recovers by itself once descriptors free up; UDP drops the datagram that needed a new flow.

Connections to backends leave from the listener's address (unless it is a wildcard), so a
backend sees the VIP or node IP it was reached through. A ForwardingEngine's methods must
be called on its loop's thread. TCP is adaptive, like
HAProxy's splice-auto: small payloads are copied through one shared 64 KiB buffer
(``recv_into`` + ``send``), and a read that fills it switches that direction to ``os.splice``
through pooled 1 MiB pipes until a read would have fitted the buffer again (``splice=False``
copies only); per-connection state is two ``__slots__`` objects and no pipe or buffer while idle.
"""

from ccm.proxy.engine.config import Backend, ListenerConfig
from ccm.proxy.engine.core import ForwardingEngine
from ccm.proxy.engine.threaded import ThreadedEngine

__all__ = ["Backend", "ForwardingEngine", "ListenerConfig", "ThreadedEngine"]
