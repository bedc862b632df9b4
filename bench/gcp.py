"""Compute Engine API calls per load-balancer operation, for N Services against the GCE emulator,
beside the AWS figures (bench/aws.py, NLB against moto) measured in the same run.

    .venv/bin/python bench/gcp.py [--services 100] [--nodes 3] [--no-aws]

Create N external Services (TCP 80 and 443), resync them all (steady: the goal is 0 mutating
calls), add one node in a zone that has nodes and sync it to all (the shared per-zone instance
groups: one group call for all Services together), then one in a new zone (a group is made and
each backend service gains it), delete all. Prints mutating and read
calls per Service (operation waits count as reads) and the wall time per Service as a ratio to a
baseline measured in the same run: one read round trip (``regions.get``) to the same emulator.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emulators.gce import GceEmulator
from providers.port import Node
from tests.providers.gcp.conftest import NODE_TAG, PROJECT, REGION, ZONES, make_cloud, provider_id
from tests.providers.gcp.requests import request


def _aws_bench():
    spec = importlib.util.spec_from_file_location("bench_aws", Path(__file__).with_name("aws.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_aws"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


AWS = _aws_bench()


def baseline_rtt(cloud, samples: int = 30) -> float:
    regions = cloud.clients.regions
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        regions.get(project=PROJECT, region=REGION)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(services: int, nodes: int) -> tuple[float, list]:
    emu = GceEmulator()
    emu.add_project(PROJECT, REGION, ZONES)
    hosts = [(ZONES[i % 2], f"node-{i}") for i in range(nodes)]  # zones a and b; c gets the second new node
    extra = [(ZONES[0], "node-new-a"), (ZONES[2], "node-new-c")]
    for zone, name in hosts + extra:
        emu.add_instance(PROJECT, zone, name, tags=[NODE_TAG])
    emu.state.config.quotas.update({k: 10 * services + 100 for k in emu.state.config.quotas})
    with emu:
        cloud = make_cloud(emu)
        rtt = baseline_rtt(cloud)
        lb = cloud.load_balancer()
        node_set = tuple(Node(n, provider_id(z, n)) for z, n in hosts)
        reqs = [request(f"svc-{i}", uid=f"{i:08d}-bench-4000-8000-000000000000", nodes=node_set)
                for i in range(services)]
        rows = [AWS.measure(cloud, "create", services, lambda i: lb.ensure(reqs[i]))]
        rows.append(AWS.measure(cloud, "steady resync", services, lambda i: lb.ensure(reqs[i])))
        grown = list(reqs)
        for (zone, name), phase in zip(extra, ("node added", "node, new zone"), strict=True):
            grown = [r.with_nodes((*r.nodes, Node(name, provider_id(zone, name)))) for r in grown]
            rows.append(AWS.measure(cloud, phase, services, lambda i, g=grown: lb.update(g[i])))
        rows.append(AWS.measure(cloud, "delete", services, lambda i: lb.delete(grown[i])))
        cloud.close()
    return rtt, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--no-aws", action="store_true", help="skip the AWS NLB figures (moto)")
    args = parser.parse_args()
    results = [("GCP external", *run(args.services, args.nodes))]
    if not args.no_aws:
        AWS.moto_patches.raise_rule_limit()
        server = AWS.MotoServer()
        server.client("ec2").describe_vpcs()
        try:
            results.append(("AWS NLB", *AWS.run(server, "nlb", args.services, args.nodes)))
        finally:
            server.stop()
    print(f"\n{args.services} Services, {args.nodes} nodes, 2 TCP ports each; calls per Service")
    print(f"{'phase':<15}" + "".join(f"{name + ' mut/read':>24}{'x base':>8}" for name, _, _ in results))
    for phase in (r.phase for r in results[0][2]):
        line = f"{phase:<15}"
        for _, rtt, rows in results:
            r = next((r for r in rows if r.phase == phase), None)
            line += (f"{r.mutating:>15.2f} / {r.read:<6.2f}{r.seconds / rtt:>8.1f}" if r else f"{'-':>24}{'':>8}")
        print(line)
    for name, rtt, _ in results:
        print(f"  {name}: baseline read round trip {rtt * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
