"""Azure (ARM) API calls per load-balancer operation, for N Services on the shared load balancer, against
ccm's ARM emulator over HTTPS.

    .venv/bin/python bench/azure.py [--services 100] [--nodes 3] [--pool nodeIPConfiguration|nodeIP]

Create N Services one after another, resync them all (steady: the goal is 0 mutating calls), add one
node and sync it to all (NIC-based pools: one NIC update in all; IP-based: one pool update), delete
all. Then the same N created and deleted by 8 threads at once (batched writes of the shared load
balancer). Prints mutating and read calls per Service (LRO polls counted as reads: every HTTP request
is) and wall time per Service as a ratio to a baseline measured in the same run: one read round trip
(``load_balancers.list`` on an empty resource group) to the same emulator. Compare with
``bench/aws.py`` (one ELB/NLB per Service there; one shared load balancer here).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# this file is named like the SDK's top-level package: keep its directory off the path, the repo on it
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emulators.azure import AzureEmulator  # noqa: E402 - after the path fix above
from providers.port import ServicePort  # noqa: E402
from tests.providers.azure.harness import RG, build_world, make_cloud, request  # noqa: E402


@dataclasses.dataclass
class Row:
    phase: str
    mutating: float
    read: float
    seconds: float
    puts: str = ""


def measure(cloud: Any, phase: str, n: int, fn: Callable[[int], Any], threads: int = 1) -> Row:
    m0, r0 = cloud.counter.totals()
    commits0, edits0 = cloud.load_balancer().writer.commits, cloud.load_balancer().writer.edits
    t0 = time.perf_counter()
    if threads == 1:
        for i in range(n):
            fn(i)
    else:
        todo = list(range(n))
        lock = threading.Lock()

        def worker() -> None:
            while True:
                with lock:
                    if not todo:
                        return
                    i = todo.pop()
                fn(i)

        pool = [threading.Thread(target=worker) for _ in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    elapsed = time.perf_counter() - t0
    m1, r1 = cloud.counter.totals()
    writer = cloud.load_balancer().writer
    puts = f"{writer.commits - commits0} PUTs for {writer.edits - edits0} edits"
    return Row(phase, (m1 - m0) / n, (r1 - r0) / n, elapsed / n, puts)


def baseline_rtt(cloud: Any, samples: int = 30) -> float:
    net = cloud.clients.network
    list(net.load_balancers.list(RG))
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        list(net.load_balancers.list(RG))
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(arm: AzureEmulator, services: int, nodes: int, pool: str) -> tuple[float, list[Row]]:
    arm.reset()
    world = build_world(arm, nodes=nodes)
    cloud = make_cloud(arm, loadBalancerBackendPoolConfigurationType=pool)
    rtt = baseline_rtt(cloud)
    lb = cloud.load_balancer()
    reqs = [request(world, uid=f"{i:08d}-0000-4000-8000-000000000000", name=f"svc-{i}",
                    ports=(ServicePort("http", "TCP", 80, 30000 + 2 * i), ServicePort("https", "TCP", 443, 30001 + 2 * i)))
            for i in range(services)]
    rows = [measure(cloud, "create", services, lambda i: lb.ensure(reqs[i]))]
    rows.append(measure(cloud, "steady resync", services, lambda i: lb.ensure(reqs[i])))
    world.add_vm(f"node-{nodes}")
    grown = [r.with_nodes(world.nodes()) for r in reqs]
    rows.append(measure(cloud, "node added", services, lambda i: lb.update(grown[i])))
    rows.append(measure(cloud, "delete", services, lambda i: lb.delete(grown[i])))
    rows.append(measure(cloud, "create x8", services, lambda i: lb.ensure(grown[i]), threads=8))
    rows.append(measure(cloud, "delete x8", services, lambda i: lb.delete(grown[i]), threads=8))
    leftovers = world.ours()
    if leftovers:
        print(f"LEAK: {leftovers}", file=sys.stderr)
    cloud.close()
    return rtt, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--pool", default="nodeIPConfiguration", choices=("nodeIPConfiguration", "nodeIP"))
    args = parser.parse_args()
    with AzureEmulator(retry_after=0) as arm:
        rtt, rows = run(arm, args.services, args.nodes, args.pool)
    print(f"\nAzure ({args.pool} pool): {args.services} Services on one shared load balancer, {args.nodes} nodes, "
          f"2 ports each; baseline read round trip {rtt * 1000:.1f} ms")
    print(f"{'phase':<15}{'mutating/svc':>14}{'read/svc':>10}{'ms/svc':>10}{'x baseline':>12}  load-balancer writes")
    for r in rows:
        print(f"{r.phase:<15}{r.mutating:>14.2f}{r.read:>10.2f}{r.seconds * 1000:>10.1f}"
              f"{r.seconds / rtt:>12.1f}  {r.puts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
