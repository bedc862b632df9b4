"""What one Service/EndpointSlice event costs a node proxy holding N Services.

In-process: N NodePort Services (each one TCP listener on 127.0.9.1, one endpoint) are put
straight into the NodeProxy's informer caches (no API server: the informers' cost is
bench/informer.py's subject), the first sync binds every listener, then EndpointSlice updates
are fed through the real informer handler and applied by a sync on the engine loop, one sync
per event (the worst case: no coalescing). The baseline, in the same run, is the same event
applied by a full resync (what every event cost before syncs became per Service).

Usage: ``.venv/bin/python bench/nodeproxy.py [--services 10000] [--events 2000]``
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ccm.kube.client import RawClient
from ccm.proxy.engine import ThreadedEngine
from ccm.proxy.nodeproxy import NodeProxy
from tests.proxy import objects

NODE_IP = "127.0.9.1"
FIRST_PORT = 30000


class NullRecorder:
    def event(self, obj: Mapping[str, Any], type: str, reason: str, message: str) -> None:
        pass


def slice_for(i: int, backend_port: int) -> dict[str, Any]:
    return objects.endpoint_slice(f"s{i}", [objects.endpoint("127.0.0.1", "n1")],
                                  [("", backend_port, "TCP")])


def fill(proxy: NodeProxy, n: int) -> None:
    proxy.nodes.store.add(objects.node("n1", [NODE_IP]))
    for i in range(n):
        proxy.services.store.add(objects.service(f"s{i}", [objects.port(FIRST_PORT + i)]))
        proxy.slices.store.add(slice_for(i, 8080))
    for informer in (proxy.services, proxy.slices, proxy.nodes):
        informer._synced.set()  # filled by hand: the bench measures the proxy, not the watch


def run_events(proxy: NodeProxy, n: int, count: int, *, full: bool, start: int) -> float:
    """Events/s: each event is one slice update, handled and then synced on the loop."""
    began = time.perf_counter()
    for k in range(count):
        i = (start + k * 7919) % n
        old = proxy.slices.store.get(f"default/s{i}-abc")
        new = slice_for(i, 9000 + (start + k) % 1000)
        proxy.slices.store.add(new)
        if full:
            proxy._changed(full=True)
        else:
            proxy._on_slice_update(old, new)
        proxy.engine.call(proxy._sync)
    return count / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=10000)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--full-events", type=int, default=5, help="events applied by full resync (slow)")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.services + 1000)), hard))

    with ThreadedEngine() as engine:
        proxy = NodeProxy(RawClient(None), "n1", healthz_bind=None,  # type: ignore[arg-type]
                          engine=engine, recorder=NullRecorder(), sync_period=3600)
        proxy._loop = engine.loop
        fill(proxy, args.services)
        began = time.perf_counter()
        engine.call(proxy._sync)
        first = time.perf_counter() - began
        listeners = len(engine.listeners())
        assert listeners == args.services, f"{listeners} listeners bound of {args.services}"
        incremental, full = [], []
        for rep in range(args.reps):  # interleaved, so drift hits both alike
            incremental.append(run_events(proxy, args.services, args.events, full=False, start=rep * args.events))
            full.append(run_events(proxy, args.services, args.full_events, full=True, start=rep))
        planned = proxy.services_planned
        proxy.stop()
    inc, base = statistics.median(incremental), statistics.median(full)
    print(f"services: {args.services}  listeners bound: {listeners}  first sync: {first:.2f} s")
    print(f"per-Service sync:   {inc:10.0f} events/s  ({1e6 / inc:8.1f} µs/event)  reps {incremental}")
    print(f"full resync (base): {base:10.1f} events/s  ({1e6 / base:8.1f} µs/event)")
    print(f"ratio: {inc / base:.0f}x   services planned in total: {planned}")


if __name__ == "__main__":
    main()
