"""Service controller benchmark against the embedded API server and the fake cloud.

    .venv/bin/python bench/controller.py [--services 1000] [--rss-services 10000] [--rss-nodes 1000]

Prints, each next to a baseline measured in the same run:
* the embedded API's write ceiling (creates/s with 4 client threads);
* seconds for N LoadBalancer Services to converge (status written) at 1 and 4 workers, and the
  ratio of the controller's API write rate to that ceiling: once with the controller in this
  process (sharing the GIL with the API server) and once as a ``ccm controller`` subprocess;
* API writes per converged Service;
* API writes and cloud calls (mutating) during a steady resync of all N;
* cloud calls for one Node added with N Services;
* the controller's RSS (a separate process) with 10,000 Services and 1,000 Nodes cached,
  against its RSS with an empty cluster;
* in-process, no API: the service and node-sync paths with 1,000 Nodes across N Services (ensure
  per Service, a steady node-sync pass, a pass after one Node is added), against the fake cloud's
  own cost for the same calls; and one workqueue add/get/done with its metrics against an
  unnamed queue (no metrics). ``--only inprocess`` runs just these parts.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil

from ccm.apiserver.testing import embedded_apiserver
from ccm.controllers.manager import ControllerManager, ControllerOptions
from ccm.controllers.service.nodesync import NodeSyncer
from ccm.controllers.service.patching import ServicePatcher
from ccm.controllers.service.predicates import ClassFilter
from ccm.controllers.service.state import LastSyncedNodes, ServiceCache
from ccm.controllers.service.sync import ServiceSyncer
from ccm.kube.client import RawClient
from ccm.kube.events import FakeRecorder
from ccm.kube.resources import NODES, SERVICES
from ccm.kube.workqueue import RateLimitingQueue
from providers.fake import FakeCloud


def wait(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def service_body(name: str, lb: bool = True) -> dict:
    return {"metadata": {"name": name},
            "spec": {"type": "LoadBalancer" if lb else "ClusterIP", "selector": {"app": name},
                     "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]}}


def parallel_create(server: Any, path_bodies: list[tuple[str, dict]], threads: int = 4) -> float:
    """Create objects with ``threads`` official-client threads; returns the elapsed seconds."""
    clients = [server.api_client() for _ in range(threads)]
    raws = [RawClient(c) for c in clients]
    chunks = [path_bodies[i::threads] for i in range(threads)]

    def run(i: int) -> None:
        for path, body in chunks[i]:
            raws[i].create(path, body)

    start = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(run, range(threads)))
    elapsed = time.monotonic() - start
    for c in clients:
        c.close()
    return elapsed


def nodes(n: int, prefix: str = "node") -> list[tuple[str, dict]]:
    return [(NODES.collection_path(), {"metadata": {"name": f"{prefix}-{i}"}, "spec": {},
                                       "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}})
            for i in range(n)]


def converged(raw: RawClient, n: int) -> Callable[[], bool]:
    def check() -> bool:
        items = raw.list(SERVICES.collection_path("default"))["items"]
        done = sum(1 for s in items if ((s.get("status") or {}).get("loadBalancer") or {}).get("ingress"))
        return done >= n
    return check


def write_ceiling(n: int) -> float:
    with embedded_apiserver() as server:
        bodies = [(SERVICES.collection_path("default"), service_body(f"c{i}", lb=False)) for i in range(n)]
        return n / parallel_create(server, bodies)


def run_workers(workers: int, n: int, extra: bool) -> dict[str, float]:
    out: dict[str, float] = {}
    with embedded_apiserver() as server:
        parallel_create(server, nodes(10))
        parallel_create(server, [(SERVICES.collection_path("default"), service_body(f"s{i}")) for i in range(n)])
        cloud = FakeCloud()
        client = server.api_client()
        raw = RawClient(client)
        mgr = ControllerManager(client, cloud, ControllerOptions(concurrent_service_syncs=workers))
        writes0 = server.write_count()
        start = time.monotonic()
        mgr.start()
        wait(converged(raw, n), 600, f"{n} services to converge")
        out["converge_s"] = time.monotonic() - start
        ctrl = mgr.controller
        assert ctrl is not None
        wait(lambda: len(ctrl.queue) == 0, 60, "queue to drain")
        mgr.recorder.flush(30)
        out["writes_per_service"] = (server.write_count() - writes0) / n
        if extra:
            # steady resync of everything
            writes1, (mut1, _), calls1 = server.write_count(), cloud.lb.counter.totals(), len(cloud.lb.calls)
            ctrl.resync_now()
            wait(lambda: len(cloud.lb.calls) - calls1 >= n and len(ctrl.queue) == 0, 300, "resync")
            time.sleep(0.5)  # let any straggling write land before counting (measurement, not sync)
            mgr.recorder.flush(30)
            out["resync_api_writes"] = server.write_count() - writes1
            out["resync_cloud_calls"] = len(cloud.lb.calls) - calls1
            out["resync_mutating"] = cloud.lb.counter.totals()[0] - mut1
            # one node added
            calls2, (mut2, _) = len(cloud.lb.calls), cloud.lb.counter.totals()
            raw.create(NODES.collection_path(), nodes(1, "extra")[0][1])
            wait(lambda: len(cloud.lb.calls_of("update")) >= n, 300, "node sync")
            time.sleep(0.5)
            out["node_add_cloud_calls"] = len(cloud.lb.calls) - calls2
            out["node_add_mutating"] = cloud.lb.counter.totals()[0] - mut2
        mgr.stop()
        client.close()
    return out


class ControllerProcess:
    """``ccm controller --cloud-provider fake`` in its own process (its own GIL, like a real deployment)."""

    def __init__(self, server: Any, tmp: str, workers: int = 1) -> None:
        kubeconfig = server.write_kubeconfig(os.path.join(tmp, "kubeconfig"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        # the client-side limit is lifted: upstream's 20 qps would measure the limiter, not the controller
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ccm", "controller", "--kubeconfig", kubeconfig, "--cloud-provider", "fake",
             "--concurrent-service-syncs", str(workers), "--bind-address", "127.0.0.1", "--secure-port",
             str(self.port), "--leader-elect=false", "--kube-api-qps", "100000", "--kube-api-burst", "100000",
             "-v", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"https://127.0.0.1:{self.port}/readyz", timeout=2,
                                        context=ssl._create_unverified_context()) as r:
                return r.status == 200
        except Exception:
            return False

    def rss_mib(self) -> float:
        return psutil.Process(self.proc.pid).memory_info().rss / 2**20

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def converge_out_of_process(workers: int, n: int) -> tuple[float, float]:
    """(seconds from readiness to all converged, API writes per Service) with the controller in a subprocess."""
    with embedded_apiserver() as server, tempfile.TemporaryDirectory() as tmp:
        parallel_create(server, nodes(10))
        parallel_create(server, [(SERVICES.collection_path("default"), service_body(f"s{i}")) for i in range(n)])
        client = server.api_client()
        raw = RawClient(client)
        writes0 = server.write_count()
        ctrl = ControllerProcess(server, tmp, workers)
        try:
            wait(ctrl.ready, 120, "controller readiness")
            start = time.monotonic()
            check = converged(raw, n)
            wait(check, 600, f"{n} services to converge")
            elapsed = time.monotonic() - start
            time.sleep(1.0)  # trailing event writes land (measurement, not synchronisation)
            per_service = (server.write_count() - writes0) / n
        finally:
            ctrl.stop()
            client.close()
    return elapsed, per_service


def controller_rss(services: int, node_count: int) -> tuple[float, float]:
    """RSS (MiB) of a ``ccm controller`` process: empty cluster, then with the objects cached."""
    results = []
    for populated in (False, True):
        with embedded_apiserver() as server, tempfile.TemporaryDirectory() as tmp:
            if populated:
                parallel_create(server, nodes(node_count))
                parallel_create(server, [(SERVICES.collection_path("default"), service_body(f"r{i}", lb=False))
                                         for i in range(services)])
            ctrl = ControllerProcess(server, tmp)
            try:
                wait(ctrl.ready, 300, "controller readiness")
                time.sleep(1.0)  # let the allocator settle before sampling (measurement)
                results.append(ctrl.rss_mib())
            finally:
                ctrl.stop()
    return results[0], results[1]


class _NullPatcher(ServicePatcher):
    """Accepts every patch without a server: this part measures the controller's own work."""

    def __init__(self) -> None:
        pass

    def _patch(self, svc: Any, body: dict[str, Any]) -> dict[str, Any]:
        return {}


def api_node(i: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": f"node-{i}", "labels": {"kubernetes.io/hostname": f"node-{i}",
                                                          "topology.kubernetes.io/zone": f"zone-{i % 3}"}},
            "spec": {"providerID": f"aws:///zone-{i % 3}/i-{i:017x}"},
            "status": {"addresses": [{"type": "InternalIP", "address": f"10.0.{i // 250}.{i % 250}"},
                                     {"type": "Hostname", "address": f"node-{i}"}]}}


def api_service(i: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": f"s{i}", "namespace": "default", "uid": f"uid-{i}", "finalizers": [],
                         "annotations": {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}},
            "spec": {"type": "LoadBalancer", "ports": [{"name": "http", "port": 80, "protocol": "TCP",
                                                        "nodePort": 30080, "targetPort": 8080}]},
            "status": {}}


def node_sync_cost(services: int, node_count: int) -> dict[str, float]:
    """Seconds for the controller paths (fake cloud included) and for the fake cloud's calls alone."""
    node_list = [api_node(i) for i in range(node_count)]
    cloud = FakeCloud(annotation_provider="aws")
    cache, last_synced = ServiceCache(), LastSyncedNodes()
    syncer = ServiceSyncer(lb=cloud.lb, patcher=_NullPatcher(), recorder=FakeRecorder(),
                           list_nodes=lambda: list(node_list), cache=cache, last_synced=last_synced,
                           cluster_name="kubernetes", annotation_provider="aws", classes=ClassFilter())
    node_syncer = NodeSyncer(syncer, workers=1)
    svcs = [api_service(i) for i in range(services)]
    out: dict[str, float] = {}
    start = time.perf_counter()
    for s in svcs:
        syncer.process_service_create_or_update(s, f"default/{s['metadata']['name']}")
    out["ensure"] = time.perf_counter() - start
    requests = [c.request for c in cloud.lb.calls_of("ensure")]
    start = time.perf_counter()
    for r in requests:
        cloud.lb.ensure(r)
    out["ensure_cloud"] = time.perf_counter() - start
    start = time.perf_counter()
    node_syncer.sync_nodes()
    out["steady_pass"] = time.perf_counter() - start
    # Status churn: one Node object replaced (same content) before every Service's listing.
    listings = [0]

    def churning() -> list[dict[str, Any]]:
        listings[0] += 1
        i = listings[0] % node_count
        node_list[i] = {**node_list[i]}
        return list(node_list)

    syncer.node_sets.list_nodes = churning
    start = time.perf_counter()
    node_syncer.sync_nodes()
    out["churn_pass"] = time.perf_counter() - start
    syncer.node_sets.list_nodes = lambda: list(node_list)
    node_list.append(api_node(node_count))
    cloud.lb.reset_calls()
    start = time.perf_counter()
    node_syncer.sync_nodes()
    out["changed_pass"] = time.perf_counter() - start
    updates = [c.request for c in cloud.lb.calls_of("update")]
    assert len(updates) == services, len(updates)
    start = time.perf_counter()
    for r in updates:
        cloud.lb.update(r)
    out["update_cloud"] = time.perf_counter() - start
    node_syncer.close()
    return out


def queue_cycle_us(name: str, n: int = 20_000, rounds: int = 5) -> float:
    """µs for one add + get + done on a queue (named queues export the workqueue metrics), best round."""
    q: RateLimitingQueue[str] = RateLimitingQueue(name)
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            q.add("k")
            q.get()
            q.done("k")
        best = min(best, time.perf_counter() - start)
    return best / n * 1e6


def print_in_process(services: int, node_count: int) -> None:
    named, bare = queue_cycle_us("bench"), queue_cycle_us("")
    print(f"workqueue add+get+done: {named:.2f} µs with metrics, {bare:.2f} µs without ({named / bare:.2f}x)")
    r = node_sync_cost(services, node_count)
    per = 1e3 / services
    print(f"{node_count:,} Nodes, {services:,} Services, in-process (fake cloud, no API):")
    print(f"  ensure: {r['ensure'] * per:.2f} ms/Service; the fake cloud's ensure alone "
          f"{r['ensure_cloud'] * per:.2f} ms ({r['ensure'] / r['ensure_cloud']:.2f}x)")
    print(f"  node sync, steady pass: {r['steady_pass'] * per:.3f} ms/Service "
          f"({r['steady_pass'] / r['update_cloud']:.2f}x one cloud update per Service)")
    print(f"  node sync, steady pass, one Node object replaced before each Service: "
          f"{r['churn_pass'] * per:.3f} ms/Service ({r['churn_pass'] / r['update_cloud']:.2f}x)")
    print(f"  node sync, one Node added: {r['changed_pass'] * per:.2f} ms/Service; the fake cloud's update "
          f"alone {r['update_cloud'] * per:.2f} ms ({r['changed_pass'] / r['update_cloud']:.2f}x)")


def main() -> None:
    # the event recorder drops (and logs) events when its bounded queue is full: counted, not printed
    logging.basicConfig(level=logging.ERROR)
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--rss-services", type=int, default=10000)
    ap.add_argument("--rss-nodes", type=int, default=1000)
    ap.add_argument("--only", choices=("inprocess",), default=None, help="run only this part")
    args = ap.parse_args()
    if args.only == "inprocess":
        print_in_process(args.services, args.rss_nodes)
        return
    n = args.services
    ceiling = write_ceiling(n)
    print(f"embedded API write ceiling (4 threads, creates): {ceiling:,.0f} writes/s")
    for workers in (1, 4):
        r = run_workers(workers, n, extra=(workers == 4))
        rate = r["writes_per_service"] * n / r["converge_s"]
        print(f"{workers} worker(s): {n} Services converged in {r['converge_s']:.2f} s "
              f"({n / r['converge_s']:,.0f} Services/s; controller API writes {rate:,.0f}/s = "
              f"{rate / ceiling:.2f}x the ceiling); API writes per converged Service: {r['writes_per_service']:.2f}")
        if workers == 4:
            print(f"steady resync of {n}: API writes {r['resync_api_writes']:.0f}, cloud calls "
                  f"{r['resync_cloud_calls']:.0f} (mutating {r['resync_mutating']:.0f})")
            print(f"one Node added with {n} Services: cloud calls {r['node_add_cloud_calls']:.0f} "
                  f"(mutating {r['node_add_mutating']:.0f})")
    for workers in (1, 4):
        elapsed, per_service = converge_out_of_process(workers, n)
        rate = per_service * n / elapsed
        print(f"{workers} worker(s), controller in its own process: {n} Services converged in {elapsed:.2f} s "
              f"after readiness ({n / elapsed:,.0f} Services/s; API writes {rate:,.0f}/s = {rate / ceiling:.2f}x "
              f"the ceiling); API writes per converged Service: {per_service:.2f}")
    print_in_process(n, args.rss_nodes)
    empty, full = controller_rss(args.rss_services, args.rss_nodes)
    print(f"controller RSS: {full:.0f} MiB with {args.rss_services:,} Services + {args.rss_nodes:,} Nodes cached "
          f"(empty cluster: {empty:.0f} MiB; {full / empty:.2f}x)")


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
