"""The node proxy's data plane in a process of its own, for the reliability harness.

Run as ``python -m tests.reliability.proxyserver '<json spec>'`` (``proxyharness.ProxyProcess``
does): the same parts ``ccm node-proxy`` runs (a ``ThreadedEngine`` with its listeners, an
``HttpServer`` answering as a healthCheckNodePort), without the API server, so a test can set
the process's descriptor limit, fill it, and watch it from outside. Spec::

    {"listeners": [{"ip", "port", "protocol", "backends": [[ip, port], ...], <ListenerConfig fields>}],
     "health": {"ip", "port", "header_timeout", "max_connections"} | null,
     "proxy_header_timeout": seconds | null}

Then one line per command on stdin, one JSON line back on stdout: ``stats`` (the engine's
counters plus the health server's), ``quit``. Pipes already open, so it answers even with
every descriptor in use.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from typing import Any

from ccm.proxy.engine import Backend, ListenerConfig, ThreadedEngine
from ccm.proxy.engine import tcp as engine_tcp
from ccm.proxy.engine.tcp import bind_socket
from ccm.proxy.health import ProxyHealth, ServiceHealth
from ccm.proxy.httpd import HttpServer


def listener_config(spec: dict[str, Any]) -> ListenerConfig:
    options = {k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()
               if k not in ("ip", "port", "protocol", "backends")}
    return ListenerConfig(spec["protocol"], tuple(Backend(ip, port) for ip, port in spec["backends"]), **options)


def main(raw: str) -> int:
    spec = json.loads(raw)
    if spec.get("proxy_header_timeout"):
        # the engine's constant (5 s): a harness run should not wait that long per stalled header
        engine_tcp.HEADER_TIMEOUT = float(spec["proxy_header_timeout"])
    engine = ThreadedEngine()
    engine.start()
    health: HttpServer | None = None
    for item in spec.get("listeners", ()):
        engine.listen(item["ip"], item["port"], listener_config(item))
    if spec.get("health"):
        h = spec["health"]
        handler = ServiceHealth(ProxyHealth(), "default", "harness", 1)
        health = HttpServer(bind_socket(h["ip"], h["port"], socket.SOCK_STREAM), handler.handle, "harness health",
                            header_timeout=h.get("header_timeout", 10.0),
                            max_connections=h.get("max_connections", 1024))
        engine.call(health.start, engine.loop)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "stats":
            stats: dict[str, Any] = dict(engine.stats())
            if health is not None:
                stats.update(health_timed_out=health.timed_out, health_evicted=health.evicted,
                             health_over_limit=health.over_limit)
            print(json.dumps(stats), flush=True)
        elif command == "quit":
            break
    if health is not None:
        asyncio.run_coroutine_threadsafe(health.aclose(), engine.loop).result(10)
    engine.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
