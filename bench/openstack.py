"""OpenStack API calls per load-balancer operation, for N Services against ccm's OpenStack emulator,
beside the AWS figures (bench/aws.py's NLB and Classic ELB runs against moto) in the same run.

    .venv/bin/python bench/openstack.py [--services 100] [--nodes 3] [--settle-reads 1] [--no-aws]

Create N public Services (2 TCP ports each, health monitors on), resync them all (steady: the goal
is 0 mutating calls), add one node and sync it to all (the batch member update: one call per
pool), delete all. Mutating and read calls per Service come from the provider's own counter
(every HTTP request, Keystone included); wall time per Service is a ratio to one read round trip
(``GET /load-balancer/v2/lbaas/loadbalancers``) to the same emulator. ``--settle-reads`` makes
each Octavia job stay pending for that many reads (the waits then show as reads).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

# this file is named like the openstack package: the repository root replaces the script's directory
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.aws import Row, measure  # noqa: E402
from ccm.annotations import openstack as ann  # noqa: E402
from emulators.openstack.emulator import OpenStackEmulator  # noqa: E402
from providers.port import LoadBalancerRequest, Node, NodeAddress, ProviderContext, ServicePort  # noqa: E402


def baseline_rtt(conn: Any, samples: int = 30) -> float:
    list(conn.load_balancer.load_balancers())
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        list(conn.load_balancer.load_balancers())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def node(server: dict[str, Any]) -> Node:
    address = next(iter(server["addresses"].values()))[0]["addr"]
    return Node(server["name"], f"openstack:///{server['id']}", (NodeAddress("InternalIP", address),))


def run(services: int, nodes: int, settle_reads: int) -> tuple[float, list[Row]]:
    import openstack

    from providers.openstack import create, parse_cloud_config

    emu = OpenStackEmulator().start()
    emu.octavia_settings.settle_reads = settle_reads
    members = [node(emu.add_server(f"node-{i}")) for i in range(nodes)]
    options = parse_cloud_config(emu.cloud_conf(create_monitor="true"), "cloud.conf")
    cloud = create(ProviderContext("bench", {**options, "openstack-lb-wait-initial": "0.001",
                                             "openstack-lb-wait-max-interval": "0.01"}))
    conn = openstack.connection.Connection(auth_url=emu.auth_url, **emu.credentials())
    try:
        rtt = baseline_rtt(conn)
        lb = cloud.load_balancer()
        reqs = [LoadBalancerRequest("bench", "default", f"svc-{i}", f"uid-{i}", nodes=tuple(members),
                                    ports=(ServicePort("http", "TCP", 80, 30000 + 2 * i),
                                           ServicePort("https", "TCP", 443, 30001 + 2 * i)),
                                    annotations={ann.CONNECTION_LIMIT.key: 1000})
                for i in range(services)]
        lb.get(reqs[0])  # authenticate once, outside the figures
        rows = [measure(cloud, "create", services, lambda i: lb.ensure(reqs[i]))]
        rows.append(measure(cloud, "steady resync", services, lambda i: lb.ensure(reqs[i])))
        added = node(emu.add_server(f"node-{nodes}"))
        grown = [r.with_nodes((*r.nodes, added)) for r in reqs]
        rows.append(measure(cloud, "node added", services, lambda i: lb.update(grown[i])))
        rows.append(measure(cloud, "delete", services, lambda i: lb.delete(grown[i])))
        emu.settle()
        left = [r for r in emu.resources() if r["kind"] in ("loadbalancers", "floatingips")]
        if left:
            raise SystemExit(f"bench: {len(left)} load balancers or floating IPs left after deleting everything")
    finally:
        conn.close()
        cloud.close()
        emu.stop()
    return rtt, rows


def table(title: str, rtt: float, rows: list[Row]) -> None:
    print(f"\n{title}; baseline read round trip {rtt * 1000:.1f} ms")
    print(f"{'phase':<15}{'mutating/svc':>14}{'read/svc':>10}{'ms/svc':>10}{'x baseline':>12}")
    for r in rows:
        print(f"{r.phase:<15}{r.mutating:>14.2f}{r.read:>10.2f}{r.seconds * 1000:>10.1f}{r.seconds / rtt:>12.1f}")


def aws_rows(services: int, nodes: int) -> dict[str, list[Row]]:
    """bench/aws.py's runs, when moto is installed (the test extra)."""
    try:
        from bench.aws import run as run_aws
        from tests.providers.aws import moto_patches
        from tests.providers.aws.harness import MotoServer
    except ImportError as exc:
        print(f"\n(AWS figures skipped: {exc})")
        return {}
    moto_patches.raise_rule_limit()
    server = MotoServer()
    server.client("ec2").describe_vpcs()
    try:
        return {kind: run_aws(server, kind, services, nodes)[1] for kind in ("nlb", "clb")}
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--settle-reads", type=int, default=1)
    parser.add_argument("--no-aws", action="store_true", help="skip the AWS comparison")
    args = parser.parse_args()
    rtt, rows = run(args.services, args.nodes, args.settle_reads)
    table(f"OpenStack (Octavia + Neutron): {args.services} Services, {args.nodes} nodes, 2 TCP ports with monitors "
          "each", rtt, rows)
    others = {} if args.no_aws else aws_rows(args.services, args.nodes)
    if others:
        print(f"\nAPI calls per Service, mutating / read ({args.services} Services, {args.nodes} nodes, 2 ports)")
        print(f"{'phase':<15}{'OpenStack':>14}{'AWS NLB':>14}{'AWS CLB':>14}")
        for i, r in enumerate(rows):
            cells = [f"{x.mutating:.2f} / {x.read:.2f}" for x in (r, others["nlb"][i], others["clb"][i])]
            print(f"{r.phase:<15}" + "".join(f"{c:>14}" for c in cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
