"""How cheap is the informer path at scale? (10,000 Services + 1,000 Nodes cached)

Runs the embedded API server in a child process (so this process's RSS is the client's
alone), fills it over HTTP, then measures, each against a baseline from the same run:

* list + sync of both informers vs. a bare paginated list of the same objects;
* watch events/s through an informer (replaying the creation history) vs. a bare
  ``RawClient.watch`` loop over the same events;
* µs per event of the informer's own work (cache + index + handler dispatch) on parsed
  events vs. a plain ``dict`` assignment, and vs. ``json.loads`` of the same event;
* RSS growth for the cached objects;
* ``gc.freeze()`` after the initial sync (``--gc-only`` runs just this): in two fresh child
  processes, one freezing and one not, the cache is filled and then 20,000 update events are
  parsed and applied; time, cyclic-GC pause time and RSS are compared.

Usage: ``.venv/bin/python bench/informer.py [--services 10000] [--nodes 1000] [--gc-only]``
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gc
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import psutil

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ccm.kube.client import RawClient, load_api_client
from ccm.kube.informer import Informer
from ccm.kube.resources import NODES, SERVICES, Resource, object_key
from ccm.kube.store import namespace_index

NAMESPACES = [f"team-{i}" for i in range(10)]


def start_apiserver(history: int) -> tuple[subprocess.Popen[str], str]:
    kubeconfig = os.path.join(tempfile.mkdtemp(prefix="ccm-bench-"), "kubeconfig")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccm", "apiserver", "--port", "0", "--kubeconfig", kubeconfig,
         "--watch-history", str(history)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    for line in proc.stdout:
        if line.startswith("kubeconfig:"):
            return proc, kubeconfig
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise RuntimeError("API server did not start")


def service(i: int) -> dict[str, Any]:
    ns = NAMESPACES[i % len(NAMESPACES)]
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": f"svc-{i}", "namespace": ns,
                         "labels": {"app": f"app-{i % 100}", "tier": "web"},
                         "annotations": {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}},
            "spec": {"selector": {"app": f"app-{i % 100}"},
                     "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                               {"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"}]}}


def node(i: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": f"node-{i}", "labels": {"kubernetes.io/hostname": f"node-{i}",
                                                          "topology.kubernetes.io/zone": f"zone-{i % 3}"}},
            "spec": {"providerID": f"aws:///zone-{i % 3}/i-{i:017x}"}}


def populate(client: RawClient, services: int, nodes: int) -> float:
    for ns in NAMESPACES:
        client.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    jobs: list[tuple[str, dict[str, Any]]] = [(NODES.collection_path(), node(i)) for i in range(nodes)]
    jobs += [(SERVICES.collection_path(service(i)["metadata"]["namespace"]), service(i)) for i in range(services)]
    began = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for _ in pool.map(lambda job: client.create(*job), jobs, chunksize=64):
            pass
    return len(jobs) / (time.perf_counter() - began)


def rss_mb() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


def bare_list(client: RawClient, resource: Resource) -> int:
    count, params = 0, {"limit": 500}
    while True:
        page = client.list(resource.collection_path(), params)
        count += len(page["items"])
        token = page["metadata"].get("continue")
        if not token:
            return count
        params["continue"] = token


def bare_watch(client: RawClient, resource_version: str, count: int, keep: bool) -> tuple[float, float]:
    """(wall seconds, client CPU seconds) to read ``count`` ADDED events with a bare loop.

    ``keep`` retains every object, as any cache must: that alone costs allocation and cyclic-GC
    time, so it is the fair baseline for the informer's own work.
    """
    kept: list[dict[str, Any]] = []
    began, cpu = time.perf_counter(), time.thread_time()
    seen = 0
    stream = client.watch(SERVICES.collection_path(), {"resourceVersion": resource_version}, 300)
    for event in stream:
        if event["type"] == "ADDED":
            if keep:
                kept.append(event["object"])
            seen += 1
            if seen == count:
                break
    stream.close()
    return time.perf_counter() - began, time.thread_time() - cpu


def informer_watch(client: RawClient, resource_version: str, count: int) -> tuple[float, float]:
    """The same through an informer's watch path (parse, cache, index, handler dispatch)."""
    inf = Informer(client, SERVICES, indexers={"namespace": namespace_index})
    done = threading.Event()
    seen = [0]
    cpu = [0.0]

    def on_add(obj: dict[str, Any]) -> None:
        seen[0] += 1
        if seen[0] == count:
            cpu[0] = time.thread_time() - cpu[0]
            done.set()

    def run() -> None:
        cpu[0] = time.thread_time()
        inf._watch()

    inf.add_handler(on_add=on_add)
    inf._resource_version = resource_version  # bench only: resume from before the creates, skip the list
    began = time.perf_counter()
    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    done.wait(300)
    elapsed = time.perf_counter() - began
    inf.stop()
    runner.join(5)
    return elapsed, cpu[0]


def per_event_cost(events: list[dict[str, Any]]) -> tuple[float, float, float]:
    """(informer µs, dict µs, json.loads µs) per event, best of 3, no network."""
    lines = [json.dumps(e).encode() for e in events]

    def best(fn: Callable[[], None]) -> float:
        times = []
        for _ in range(3):
            began = time.perf_counter()
            fn()
            times.append(time.perf_counter() - began)
        return min(times) / len(events) * 1e6

    def through_informer() -> None:
        inf = Informer(None, SERVICES, indexers={"namespace": namespace_index})  # type: ignore[arg-type]
        inf.add_handler(on_add=lambda o: None, on_update=lambda a, b: None, on_delete=lambda o: None)
        for e in events:
            inf._handle(e)

    def plain_dict() -> None:
        store: dict[str, Any] = {}
        for e in events:
            store[object_key(e["object"])] = e["object"]

    def parse() -> None:
        for line in lines:
            json.loads(line)

    return best(through_informer), best(plain_dict), best(parse)


def gc_probe(services: int, nodes: int, freeze: bool, updates: int = 20_000) -> dict[str, float]:
    """One child's run: fill an informer cache from JSON lines, optionally freeze, apply updates."""
    pauses: list[float] = []
    began_at = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if info["generation"] == 2:
            if phase == "start":
                began_at[0] = time.perf_counter()
            else:
                pauses.append(time.perf_counter() - began_at[0])

    inf = Informer(None, SERVICES, indexers={"namespace": namespace_index})  # type: ignore[arg-type]
    inf.add_handler(on_add=lambda o: None, on_update=lambda a, b: None)
    nodes_inf = Informer(None, NODES)  # type: ignore[arg-type]
    for i in range(nodes):
        nodes_inf._handle(json.loads(json.dumps({"type": "ADDED", "object": node(i)})))
    for i in range(services):
        obj = service(i)
        obj["metadata"]["resourceVersion"] = str(i)
        inf._handle(json.loads(json.dumps({"type": "ADDED", "object": obj})))
    if freeze:
        gc.freeze()
    lines = []
    for j in range(updates):
        obj = service(j % services)
        obj["metadata"]["resourceVersion"] = str(services + j)
        lines.append(json.dumps({"type": "MODIFIED", "object": obj}).encode())
    gc.callbacks.append(on_gc)
    began, cpu = time.perf_counter(), time.process_time()
    for line in lines:
        inf._handle(json.loads(line))
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    gc.callbacks.remove(on_gc)
    return {"seconds": elapsed, "cpu": cpu, "gc_full": len(pauses), "gc_seconds": sum(pauses),
            "rss_mib": psutil.Process().memory_info().rss / 2**20}


def gc_freeze_effect(services: int, nodes: int) -> None:
    runs: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    for _ in range(3):  # alternate, best of 3
        for freeze in (False, True):
            out = subprocess.run([sys.executable, __file__, "--gc-probe", "freeze" if freeze else "plain",
                                  "--services", str(services), "--nodes", str(nodes)],
                                 check=True, capture_output=True, text=True).stdout
            runs[freeze].append(json.loads(out))
    best = {f: min(r, key=lambda x: x["seconds"]) for f, r in runs.items()}
    plain, frozen = best[False], best[True]
    print(f"gc.freeze() after the initial sync ({services} Services + {nodes} Nodes cached, "
          f"20,000 update events, best of 3):")
    for label, r in (("no freeze", plain), ("gc.freeze()", frozen)):
        print(f"  {label:<12} {r['seconds']:.3f} s ({r['cpu']:.3f} s CPU), {r['gc_full']:.0f} full collections "
              f"taking {r['gc_seconds'] * 1e3:.1f} ms, RSS {r['rss_mib']:.0f} MiB")
    print(f"  ratio freeze / no freeze: time {frozen['seconds'] / plain['seconds']:.2f}x, "
          f"RSS {frozen['rss_mib'] / plain['rss_mib']:.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--nodes", type=int, default=1_000)
    parser.add_argument("--gc-only", action="store_true", help="only the gc.freeze() comparison")
    parser.add_argument("--gc-probe", choices=("plain", "freeze"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.gc_probe:
        print(json.dumps(gc_probe(args.services, args.nodes, args.gc_probe == "freeze")))
        return 0
    if args.gc_only:
        gc_freeze_effect(args.services, args.nodes)
        return 0

    proc, kubeconfig = start_apiserver(history=args.services + args.nodes + 1000)
    try:
        api = load_api_client(kubeconfig)
        client = RawClient(api, timeout=60)
        start_rv = client.list(SERVICES.collection_path(), {"limit": 1})["metadata"]["resourceVersion"]
        writes = populate(client, args.services, args.nodes)
        total = args.services + args.nodes
        print(f"populated {args.services} Services + {args.nodes} Nodes over HTTP: {writes:,.0f} creates/s")

        base_list = float("inf")
        for _ in range(2):  # the first pass warms the server up; keep the better
            began = time.perf_counter()
            listed = bare_list(client, SERVICES) + bare_list(client, NODES)
            base_list = min(base_list, time.perf_counter() - began)
            assert listed == total, listed

        rss_before = rss_mb()
        began = time.perf_counter()
        services = Informer(client, SERVICES, indexers={"namespace": namespace_index})
        nodes = Informer(client, NODES)
        for inf in (services, nodes):
            inf.add_handler(on_add=lambda o: None)
            inf.start()
        assert services.wait_for_sync(300) and nodes.wait_for_sync(300)
        sync = time.perf_counter() - began
        rss_after = rss_mb()
        assert len(services.store) == args.services and len(nodes.store) == args.nodes
        print(f"list+sync {total} objects: {sync:.2f} s ({total / sync:,.0f} objects/s); "
              f"bare paginated list {base_list:.2f} s; ratio {sync / base_list:.2f}x")
        print(f"RSS with both caches: {rss_after:.0f} MiB, +{rss_after - rss_before:.1f} MiB for the caches "
              f"({(rss_after - rss_before) * 1024 / total:.2f} KiB/object)")
        events = [{"type": "ADDED", "object": o} for o in services.store.list()]
        services.stop()
        nodes.stop()

        # Alternate the two, best of 3: the server's own pace varies from run to run.
        runs = [(bare_watch(client, start_rv, args.services, keep=False),
                 bare_watch(client, start_rv, args.services, keep=True),
                 informer_watch(client, start_rv, args.services)) for _ in range(3)]
        n = args.services
        (bare_wall, bare_cpu), (keep_wall, keep_cpu), (inf_wall, inf_cpu) = (
            (min(r[k][0] for r in runs), min(r[k][1] for r in runs)) for k in range(3))
        print(f"watch replay of {n} events (best of 3):")
        for label, wall, cpu in (("informer", inf_wall, inf_cpu), ("bare loop, keeps objects", keep_wall, keep_cpu),
                                 ("bare loop, drops objects", bare_wall, bare_cpu)):
            print(f"  {label:<26} {n / wall:>8,.0f} events/s  {wall / n * 1e6:6.1f} µs wall/event  "
                  f"{cpu / n * 1e6:6.1f} µs client CPU/event")
        print(f"  ratio informer / keeping loop: wall {inf_wall / keep_wall:.2f}x, CPU {inf_cpu / keep_cpu:.2f}x; "
              f"informer / dropping loop: CPU {inf_cpu / bare_cpu:.2f}x")

        informer_us, dict_us, parse_us = per_event_cost(events)
        print(f"informer work per event (cache+index+handlers, parsed): {informer_us:.2f} µs; "
              f"plain dict store {dict_us:.2f} µs ({informer_us / dict_us:.1f}x); "
              f"json.loads of the event {parse_us:.2f} µs ({informer_us / parse_us:.2f}x)")
        api.close()
    finally:
        proc.terminate()
        proc.wait(10)
    gc_freeze_effect(args.services, args.nodes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
