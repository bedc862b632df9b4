"""Benchmark the embedded API server with the official client: 4 threads, 1,000 Services.

Prints create and patch writes per second, watch events per second (live fan-out to one
watcher during the writes, and a replay of the history), each with its ratio to a baseline
measured in the same run: GET /healthz with the same clients (the HTTP + client floor).

By default the server runs in a child process (``ccm apiserver``), so the clients' Python
work does not share its GIL; ``--in-process`` uses ``embedded_apiserver`` in this process.

    .venv/bin/python bench/apiserver.py [--services 1000] [--clients 4] [--in-process]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import kubernetes.client as k8s
import kubernetes.config

from ccm.apiserver.testing import embedded_apiserver


def drain(resp: Any) -> bytes:
    """Read a raw response and hand its connection back to the pool (keep-alive)."""
    data = resp.read()
    resp.release_conn()
    return bytes(data)


def api(client: k8s.ApiClient) -> Any:
    """CoreV1Api, loosely typed: the benchmark sends plain dicts, as the wire carries them."""
    return k8s.CoreV1Api(client)


def run_parallel(clients: list[k8s.ApiClient], total: int, op: Callable[[k8s.ApiClient, int], None]) -> float:
    """Run ``op(client, i)`` for i in range(total) spread over the clients; return seconds."""
    def worker(w: int) -> None:
        client = clients[w]
        for i in range(w, total, len(clients)):
            op(client, i)

    start = time.perf_counter()
    with ThreadPoolExecutor(len(clients)) as pool:
        for f in [pool.submit(worker, w) for w in range(len(clients))]:
            f.result()
    return time.perf_counter() - start


class WatchCounter:
    """Counts events on one raw watch stream (official client REST layer, no model mapping)."""

    def __init__(self, new_client: Callable[[], k8s.ApiClient], resource_version: str) -> None:
        self.client = new_client()
        self.count = 0
        self.last = 0.0
        self.ready = threading.Event()
        self._rv = resource_version
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        m, url, headers, _, _ = self.client.param_serialize(
            "GET", "/api/v1/namespaces/default/services",
            query_params=[("watch", "true"), ("resourceVersion", self._rv), ("timeoutSeconds", "120")],
            auth_settings=["BearerToken"])
        resp = self.client.rest_client.pool_manager.request(m, url, headers=headers, preload_content=False)
        self.ready.set()
        buf = b""
        for chunk in resp.stream(65536):
            buf += chunk
            lines = buf.split(b"\n")
            buf = lines.pop()
            self.count += len(lines)
            self.last = time.perf_counter()
        resp.release_conn()

    def wait_for(self, n: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.count < n and time.monotonic() < deadline:
            time.sleep(0.005)
        if self.count < n:
            raise RuntimeError(f"watch saw {self.count} of {n} events")


@contextlib.contextmanager
def serve(in_process: bool, watch_history: int) -> Iterator[Callable[[], k8s.ApiClient]]:
    """Start a server; yield a factory of official-client ApiClients for it."""
    if in_process:
        with embedded_apiserver(watch_history=watch_history) as server:
            yield server.api_client
        return
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = os.path.join(tmp, "kubeconfig")
        proc = subprocess.Popen([sys.executable, "-m", "ccm", "apiserver", "--port", "0", "--kubeconfig", kubeconfig,
                                 "--watch-history", str(watch_history)], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("export KUBECONFIG="):
                    break
            yield lambda: kubernetes.config.new_client_from_config(kubeconfig)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--in-process", action="store_true", help="run the server in this process")
    args = parser.parse_args()
    n = args.services
    with serve(args.in_process, watch_history=4 * n) as new_client:
        clients = [new_client() for _ in range(args.clients)]
        try:
            def health(c: k8s.ApiClient, i: int) -> None:
                drain(c.call_api(*c.param_serialize("GET", "/healthz")[:4]).response)

            run_parallel(clients, 200, health)  # warm connections and imports
            # best of three: the box is shared, and a baseline dip would flatter every ratio
            baseline = max(n / run_parallel(clients, n, health) for _ in range(3))

            core: Any = k8s.CoreV1Api(clients[0])
            start_rv = json.loads(drain(core.list_namespaced_service("default", _preload_content=False)))[
                "metadata"]["resourceVersion"]
            live = WatchCounter(new_client, start_rv)
            live.ready.wait(10)

            def create(c: k8s.ApiClient, i: int) -> None:
                drain(api(c).create_namespaced_service("default", {
                    "metadata": {"name": f"svc-{i}", "labels": {"app": f"a{i % 10}"}},
                    "spec": {"type": "LoadBalancer", "selector": {"app": f"a{i % 10}"},
                             "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}]}},
                    _preload_content=False))

            def patch(c: k8s.ApiClient, i: int) -> None:
                drain(api(c).patch_namespaced_service_status(f"svc-{i}", "default", {
                    "metadata": {"$setElementOrder/finalizers": ["service.kubernetes.io/load-balancer-cleanup"],
                                 "finalizers": ["service.kubernetes.io/load-balancer-cleanup"]},
                    "status": {"loadBalancer": {"ingress": [{"ip": f"192.0.2.{i % 250 + 1}"}]}}},
                    _preload_content=False))

            t0 = time.perf_counter()
            create_s = run_parallel(clients, n, create)
            patch_s = run_parallel(clients, n, patch)
            live.wait_for(2 * n)
            live_rate = 2 * n / (live.last - t0)

            replay = WatchCounter(new_client, start_rv)
            r0 = time.perf_counter()
            replay.wait_for(2 * n)
            replay_rate = 2 * n / (replay.last - r0)

            def get_list(c: k8s.ApiClient, i: int) -> None:
                drain(api(c).list_namespaced_service("default", limit=500, _preload_content=False))

            list_s = run_parallel(clients, 20, get_list)
        finally:
            for c in clients:
                c.close()

    rows = [
        ("baseline GET /healthz", baseline, "req/s"),
        ("create Service", n / create_s, "writes/s"),
        ("strategic-merge patch /status", n / patch_s, "writes/s"),
        ("watch events, live during writes", live_rate, "events/s"),
        ("watch events, replay from history", replay_rate, "events/s"),
        ("list 500 Services (limit=500)", 20 / list_s, "lists/s"),
    ]
    where = "in this process" if args.in_process else "in a child process"
    print(f"{n} Services, {args.clients} client threads (official kubernetes client), server {where}")
    for name, rate, unit in rows:
        print(f"  {name:36s} {rate:10.0f} {unit:9s} ratio to baseline {rate / baseline:6.2f}")


if __name__ == "__main__":
    main()
