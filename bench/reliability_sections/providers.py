"""Every provider with something to talk to: crash points, throttling and 5xx, bad input, orphans.

Runs the harness of tests/reliability/ (crashpoints, throttling, badinput, orphans; the clouds in
tests/reliability/clouds/) at full size and prints Markdown tables for docs/reliability.md:

* crash points: K/K per cloud and load-balancer type, every mutating call of create, update,
  node added, node removed and delete; duplicates and leftovers over all runs;
* throttling and 5xx: 20% of the controller's cloud requests failing, N Services: time to
  converge and to delete, leaks, and what the metrics saw;
* bad input: every declared annotation x generated invalid values: N/N refused with a Warning
  naming key and value, mutating calls counted at the server;
* orphans: Services deleted while ccm was down: found in dry run, deleted with --gc-delete.

Usage: ``.venv/bin/python bench/reliability.py providers [--clouds aws,gcp] [--quick]``
"""

from __future__ import annotations

import argparse
import logging
import time

from tests.reliability import badinput, crashpoints, orphans, throttling
from tests.reliability.clouds import CLOUDS
from tests.reliability.providerenv import env_for, started


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clouds", default=",".join(CLOUDS), help="comma list (default: every cloud)")
    parser.add_argument("--services", type=int, default=10, help="Services in the throttling run")
    parser.add_argument("--values", type=int, default=5, help="invalid values per annotation")
    parser.add_argument("--fraction", type=float, default=0.2, help="cloud requests failing in the throttling run")
    parser.add_argument("--quick", action="store_true", help="sampled crash points, 3 Services, 2 values")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.CRITICAL)
    logging.getLogger().setLevel(logging.CRITICAL)
    names = [n for n in args.clouds.split(",") if n]
    services = 3 if args.quick else args.services
    values = 2 if args.quick else args.values
    points = crashpoints.sample if args.quick else None
    sweeps, throttled, corpora, collected = [], [], [], []
    started_at = time.monotonic()
    for name in names:
        with started(name) as cloud:
            for variant, annotations in cloud.variants.items():
                with env_for(cloud) as env:
                    sweeps.append((name, crashpoints.sweep(env, variant, annotations, points)))
                with env_for(cloud) as env:
                    throttled.append(throttling.run(env, variant, annotations, services, fraction=args.fraction))
            with env_for(cloud) as env:
                corpora.append(badinput.run(env, values))
            with env_for(cloud) as env:
                collected.append(orphans.run(env, services=4))
    print("## providers: crash points, throttling, bad input, orphans\n")
    print("### Crash points\n")
    print("| cloud | K (create / update / node added / node removed / delete) | crash points passed | duplicates | "
          "leftovers | seconds per point |\n|---|---|---|---|---|---|")
    for name, sw in sweeps:
        phases = " / ".join(str(n) for n in sw.per_phase().values())
        per_point = sum(r.seconds for r in sw.runs) / max(1, len(sw.runs))
        label = f"{name} {sw.variant}".strip()
        print(f"| {label} | {sw.total} ({phases}) | {sw.passed}/{len(sw.runs)} | {sw.duplicates} | {sw.leftovers} | "
              f"{per_point:.1f} |")
    failed = [r.describe() for _, sw in sweeps for r in sw.runs if not r.ok]
    for line in failed:
        print(f"\n    {line}")
    print(f"\n### Throttling and 5xx ({args.fraction:.0%} of the controller's cloud requests)\n")
    print(throttling.HEADER)
    for out in throttled:
        print(out.row())
    print("\n### Bad input\n")
    print(badinput.HEADER)
    for c in corpora:
        print(c.row())
    for c in corpora:
        if c.missing:
            print(f"\n    {c.provider} missing: {c.missing}")
        if c.accepting:
            print(f"\n    {c.provider}: every value is valid for {', '.join(c.accepting)}")
    print("\n### Orphans (--gc-period)\n")
    print(orphans.HEADER)
    for o in collected:
        print(o.row())
    bad = (bool(failed) or any(sw.passed != len(sw.runs) for _, sw in sweeps) or not all(o.ok for o in throttled)
           or not all(c.ok for c in corpora) or not all(o.ok for o in collected))
    print(f"\n{time.monotonic() - started_at:.0f} s in all; {'FAILED' if bad else 'every property held'}")
    return 1 if bad else 0
