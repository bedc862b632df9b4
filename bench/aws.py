"""AWS API calls per load-balancer operation, for N NLB and N Classic ELB Services against moto.

    .venv/bin/python bench/aws.py [--services 100] [--nodes 3]

For each type: create N Services, resync them all (steady: the goal is 0 mutating calls), add
one node and sync it to all, delete all. Prints mutating and read calls per Service and the
wall time per Service as a ratio to a baseline measured in the same run: one read round trip
(``elb.DescribeLoadBalancers`` on an empty region) to the same moto server. The node security
group's rule quota is raised to AWS's maximum (1000): 100 Services need 200+ rules there.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ccm.annotations import aws as ann
from providers.port import Node, ServicePort
from tests.providers.aws import moto_patches
from tests.providers.aws.conftest import make_cloud
from tests.providers.aws.harness import MotoServer, add_instance, build_world
from tests.providers.aws.requests import request


@dataclasses.dataclass
class Row:
    phase: str
    mutating: float
    read: float
    seconds: float


def measure(cloud: Any, phase: str, n: int, fn: Callable[[int], Any]) -> Row:
    m0, r0 = cloud.counter.totals()
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    elapsed = time.perf_counter() - t0
    m1, r1 = cloud.counter.totals()
    return Row(phase, (m1 - m0) / n, (r1 - r0) / n, elapsed / n)


def baseline_rtt(server: MotoServer, samples: int = 30) -> float:
    elb = server.client("elb")
    elb.describe_load_balancers()
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        elb.describe_load_balancers()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(server: MotoServer, kind: str, services: int, nodes: int) -> tuple[float, list[Row]]:
    server.reset()
    world = build_world(server, instances=nodes)
    rtt = baseline_rtt(server)
    cloud = make_cloud(server)
    lb = cloud.load_balancer()
    annotations = {ann.TYPE.key: "nlb"} if kind == "nlb" else {}
    reqs = [request(world, annotations, uid=f"{i:08d}-bench-4000-8000-000000000000", name=f"svc-{i}",
                    ports=(ServicePort("http", "TCP", 80, 30000 + 2 * i), ServicePort("https", "TCP", 443, 30001 + 2 * i)))
            for i in range(services)]
    rows = [measure(cloud, "create", services, lambda i: lb.ensure(reqs[i]))]
    rows.append(measure(cloud, "steady resync", services, lambda i: lb.ensure(reqs[i])))
    new = add_instance(server, world)
    grown = [r.with_nodes((*r.nodes, Node(f"node-{new}", world.provider_id(new)))) for r in reqs]
    rows.append(measure(cloud, "node added", services, lambda i: lb.update(grown[i])))
    rows.append(measure(cloud, "delete", services, lambda i: lb.delete(grown[i])))
    cloud.close()
    return rtt, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--types", default="nlb,clb", help="comma-separated: nlb, clb")
    args = parser.parse_args()
    moto_patches.raise_rule_limit()  # 100 Services need more than AWS's default 60 rules per node group
    server = MotoServer()
    server.client("ec2").describe_vpcs()  # warm moto's lazily loaded backends
    try:
        for kind in args.types.split(","):
            rtt, rows = run(server, kind, args.services, args.nodes)
            print(f"\n{kind.upper()}: {args.services} Services, {args.nodes} nodes, 2 ports each; "
                  f"baseline read round trip {rtt * 1000:.1f} ms")
            print(f"{'phase':<15}{'mutating/svc':>14}{'read/svc':>10}{'ms/svc':>10}{'x baseline':>12}")
            for r in rows:
                print(f"{r.phase:<15}{r.mutating:>14.2f}{r.read:>10.2f}{r.seconds * 1000:>10.1f}"
                      f"{r.seconds / rtt:>12.1f}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
