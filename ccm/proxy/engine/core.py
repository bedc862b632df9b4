"""``ForwardingEngine``: the listeners of one asyncio loop, their shared pool and counters."""

from __future__ import annotations

import asyncio
import logging

from ccm.proxy.engine.config import ListenerConfig
from ccm.proxy.engine.context import Context
from ccm.proxy.engine.pipes import splice_available
from ccm.proxy.engine.tcp import TcpListener
from ccm.proxy.engine.udp import UdpListener

log = logging.getLogger(__name__)

#: how often expired affinity entries and idle UDP flows are swept, at most
HOUSEKEEPING_INTERVAL = 1.0

ListenerKey = tuple[str, int, str]


class ForwardingEngine:
    """Forwards TCP and UDP listeners to backends; every method must run on the engine's loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None, *, splice: bool | None = None) -> None:
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = asyncio.get_event_loop_policy().get_event_loop()
        if splice is None:
            splice = splice_available()
        elif splice and not splice_available():
            raise OSError("os.splice is not available on this system")
        self.loop = loop
        self.splice = splice
        self._ctx = Context(loop, splice)
        self._listeners: dict[ListenerKey, TcpListener | UdpListener] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False

    def listen(self, ip: str, port: int, config: ListenerConfig) -> None:
        """Bind now (``OSError`` when the address is taken) and start forwarding."""
        if self._closed:
            raise RuntimeError("engine is closed")
        key = (ip, port, config.protocol)
        if key in self._listeners:
            raise OSError(98, f"{ip}:{port}/{config.protocol} is already a listener of this engine")
        cls = TcpListener if config.protocol == "TCP" else UdpListener
        self._listeners[key] = cls(self._ctx, ip, port, config)
        log.info("%s:%d/%s: listening, %d backends", ip, port, config.protocol, len(config.backends))
        self._schedule()

    def update(self, ip: str, port: int, protocol: str, config: ListenerConfig) -> None:
        """Swap the config in place, keeping connections whose backend is still a candidate."""
        if config.protocol != protocol:
            raise ValueError(f"config protocol {config.protocol} does not match listener {protocol}")
        listener = self._listeners.get((ip, port, protocol))
        if listener is None:
            raise KeyError(f"no listener {ip}:{port}/{protocol}")
        listener.update(config)
        self._schedule()

    def close_listener(self, ip: str, port: int, protocol: str) -> None:
        listener = self._listeners.pop((ip, port, protocol), None)
        if listener is not None:
            listener.close()
            log.info("%s:%d/%s: stopped listening", ip, port, protocol)

    def listeners(self) -> list[ListenerKey]:
        return sorted(self._listeners)

    def config_of(self, ip: str, port: int, protocol: str) -> ListenerConfig | None:
        listener = self._listeners.get((ip, port, protocol))
        return None if listener is None else listener.config

    def stats(self) -> dict[str, int]:
        out = self._ctx.stats.as_dict()
        out["listeners"] = len(self._listeners)
        out["pipes_in_pool"] = len(self._ctx.pool)
        out["pipes_in_use"] = self._ctx.pool.in_use
        out["splice"] = int(self.splice)
        return out

    def _schedule(self) -> None:
        if self._timer is not None or self._closed:
            return
        interval = HOUSEKEEPING_INTERVAL
        for listener in self._listeners.values():
            if isinstance(listener, UdpListener):
                interval = min(interval, max(0.05, listener.config.udp_idle_timeout / 2))
        self._timer = self.loop.call_later(interval, self._housekeeping)

    def _housekeeping(self) -> None:
        self._timer = None
        for listener in list(self._listeners.values()):
            listener.sweep()
        if self._listeners:
            self._schedule()

    def close(self) -> None:
        """Close every listener and connection (synchronous; on the loop thread)."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for key in list(self._listeners):
            self.close_listener(*key)
        self._ctx.close()

    async def aclose(self) -> None:
        self.close()
